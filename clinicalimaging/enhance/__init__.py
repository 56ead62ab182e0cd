"""FractionalEnhance's logic: variable-order fractional differential enhancement.

Array level (numpy in, numpy out, spacing in the array's KJI order):
:func:`fractional_enhance`, built from :mod:`.grunwald_letnikov`, :mod:`.fractal`,
:mod:`.order_map` and :mod:`.filter`; the comparison with classic filters, :mod:`.compare`.
Node level (:mod:`.nodes`): :func:`~.nodes.enhance_volume`, :func:`~.nodes.comparison_table`,
:func:`~.nodes.comparison_chart`.
"""

from .core import EnhanceResult, fractional_enhance
from .parameters import EnhanceParameters

__all__ = ["EnhanceParameters", "EnhanceResult", "fractional_enhance"]
