"""ClinicalImageAnalysis: enhancement, segmentation and organ detection for 3D Slicer.

The package is the shared logic of the extension's three modules. It imports no
Qt and no TensorFlow at import time; MRML access goes through :mod:`.mrml`.

The public API, importable from here (README, "Python API"). Node-level functions
take MRML nodes and work in Slicer and standalone on ``slicer-core``; array-level
functions take numpy arrays in KJI order (``array[k, j, i]``) with spacings in mm in
the same order, and geometry as a 4x4 IJK-to-RAS matrix in mm.

- files and nodes: :func:`read_volume`, :func:`write_volume`, :func:`read_outline`
  (outline points as continuous (k, j, i) voxel coordinates of a volume);
- a node's array and geometry: :func:`array_from_volume`, :func:`spacing_kji`,
  :func:`ijk_to_ras`; a SimpleITK image's geometry in RAS: :func:`ijk_to_ras_from_sitk`;
- FractionalEnhance: :func:`enhance_volume` (nodes), :func:`fractional_enhance`
  (arrays), :class:`EnhanceParameters`;
- SelfPacedSegment: :func:`segment_volume` and :func:`refine_volume` (nodes),
  :func:`segment_lesion` and :func:`refine_lesion` (arrays), :class:`SegmentParameters`;
- OrganDetect: :func:`detect_organs` (nodes), :func:`detect_organs_in_array`
  (arrays), :func:`load_detector`, :class:`DetectParameters`;
- errors and warnings: :class:`InputError`, :class:`Cancelled`, :class:`InputWarning`.

Each name is imported from its submodule on first use, so ``import clinicalimaging``
loads neither MRML, scikit-learn nor Keras.
"""

import importlib

from .errors import Cancelled, InputError, InputWarning

__version__ = "0.1.0"

#: Public name -> the submodule that defines it, imported on first access (PEP 562).
_LAZY = {
    "read_volume": ".mrml", "write_volume": ".mrml", "array_from_volume": ".mrml", "spacing_kji": ".mrml",
    "ijk_to_ras": ".mrml",
    "read_outline": ".api", "ijk_to_ras_from_sitk": ".mrml",
    "enhance_volume": ".enhance.nodes", "fractional_enhance": ".enhance.core",
    "EnhanceParameters": ".enhance.parameters",
    "segment_volume": ".segment.nodes", "refine_volume": ".segment.nodes", "segment_lesion": ".segment.core",
    "refine_lesion": ".segment.refine", "SegmentParameters": ".segment.parameters",
    "detect_organs": ".detect.nodes", "detect_organs_in_array": ".detect.inference",
    "load_detector": ".detect.model_files", "DetectParameters": ".detect.parameters",
}

__all__ = ["Cancelled", "InputError", "InputWarning", "__version__", *_LAZY]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted({*globals(), *_LAZY})
