"""FractionalEnhance's logic: variable-order fractional differential enhancement.

Array level (numpy in, numpy out, spacing in the array's KJI order):
:func:`fractional_enhance`, built from :mod:`.grunwald_letnikov`, :mod:`.fractal`,
:mod:`.order_map` and :mod:`.filter`. Node level: :func:`enhance_volume`.
"""

from .core import EnhanceResult, fractional_enhance
from .parameters import EnhanceParameters

__all__ = ["EnhanceParameters", "EnhanceResult", "fractional_enhance"]
