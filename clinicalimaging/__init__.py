"""ClinicalImageAnalysis: enhancement, segmentation and organ detection for 3D Slicer.

The package is the shared logic of the extension's three modules. It imports no
Qt and no TensorFlow at import time; MRML access goes through :mod:`.mrml`.
"""

from .errors import Cancelled, InputError

__version__ = "0.1.0"

__all__ = ["Cancelled", "InputError", "__version__"]
