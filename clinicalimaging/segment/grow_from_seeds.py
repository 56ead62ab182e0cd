"""Slicer's own "Grow from seeds" as the peer of the self-paced segmentation.

The Segment Editor's "Grow from seeds" effect runs ``vtkImageGrowCutSegment``
(an improved GrowCut: Zhu, Kolesov, Gao, Kikinis, Tannenbaum, "An effective
interactive medical image segmentation method using fast GrowCut", MICCAI
Interactive Medical Image Computing workshop, 2014). To compare it fairly with
:func:`clinicalimaging.segment.core.segment_lesion` it gets the same outline points:
lesion seeds inside the outline, background seeds in a shell just outside it and on
the faces of a box around it (:func:`.competition.outline_seeds`, :func:`growcut_segment`).

Arrays are in KJI order (``array[k, j, i]``), spacing in mm in the same order,
outline points in continuous voxel coordinates ``(k, j, i)``. Only
:func:`grow_from_seeds` needs slicer-core; it imports it when called.
"""

import math

import numpy as np

from ..errors import InputError
from ..preprocess import outline_roi
from ..validation import as_scalar_volume, check_spacing, on_image_grid
from .competition import outline_seeds
from .result import LESION_SEED


def grow_from_seeds(image, seeds, spacing, *, mask=None):
    """Grow seed labels over an image with ``vtkImageGrowCutSegment`` ("Grow from seeds").

    Parameters
    ----------
    image : (K, J, I) or (J, I) array_like
        Scalar image, KJI order.
    seeds : array_like of int, the shape of ``image``
        0 = unlabelled, 1..255 = a label; at least two different labels.
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order (the filter measures neighbour distances with it).
    mask : array_like, the shape of ``image``, optional
        Non-zero marks voxels excluded from growing; they stay 0 in the output.

    Returns
    -------
    labels : ndarray of uint8, shape (K, J, I)
        Every voxel reached gets the label of the seed that won it.

    Raises
    ------
    InputError
        Bad image or spacing; seeds or mask of another shape; seed values outside
        0..255; fewer than two seed labels (the filter would label everything alike).
    """
    from vtkmodules.util import numpy_support
    from vtkmodules.vtkCommonDataModel import vtkImageData

    import slicer

    volume = as_scalar_volume(image)
    spacing = check_spacing(spacing)
    seeds = on_image_grid(seeds, volume.shape, name="seed label map")
    labels = set(np.unique(seeds).tolist()) - {0}
    if not labels <= set(range(1, 256)):
        raise InputError(f"Seed labels must be whole numbers 1..255 (0 = unlabelled); got {sorted(labels)}.")
    if len(labels) < 2:
        raise InputError(f"Grow from seeds needs seeds of at least two labels (e.g. lesion and background); got "
                         f"{sorted(labels) or 'none'}. Add background seeds.")

    def vtk_image(array):
        array = np.ascontiguousarray(array)
        data = vtkImageData()
        data.SetDimensions(array.shape[2], array.shape[1], array.shape[0])  # numpy (k, j, i) -> VTK (i, j, k)
        data.SetSpacing(*spacing[::-1])
        data.GetPointData().SetScalars(numpy_support.numpy_to_vtk(array.ravel(), deep=True))
        return data

    growcut = slicer.vtkImageGrowCutSegment()
    growcut.SetIntensityVolume(vtk_image(volume.astype(np.float32)))
    growcut.SetSeedLabelVolume(vtk_image(seeds.astype(np.uint8)))
    if mask is not None:
        growcut.SetMaskVolume(vtk_image(on_image_grid(mask, volume.shape, name="mask").astype(np.uint8)))
    growcut.Update()
    grown = numpy_support.vtk_to_numpy(growcut.GetOutput().GetPointData().GetScalars())
    return grown.reshape(volume.shape).astype(np.uint8)


def growcut_segment(image, points_kji, spacing, *, box_margin_mm=30.0, shell_px=(4, 7)):
    """The lesion by "Grow from seeds" from outline points (:func:`.competition.outline_seeds`).

    The seeds follow a user's habit with the Segment Editor: the outline eroded by
    2 px as lesion, a shell ``shell_px`` outside it as background, and the faces of a
    box ``box_margin_mm`` beyond the outline's bounding box on every axis (within the
    image) as background too.

    Parameters
    ----------
    image : (K, J, I) array_like
        Scalar image, KJI order.
    points_kji : (N, 3) array_like of float
        Outline points in continuous voxel coordinates (k, j, i).
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    box_margin_mm : float
        Margin of the seed box around the outline's bounding box, mm, on each axis.
    shell_px : (float, float)
        The background shell's inner and outer distance from the outline, pixels.

    Returns
    -------
    mask : ndarray of uint8, shape (K, J, I)
        1 where the lesion seed grew, 0 elsewhere (always 0 outside the box).

    Raises
    ------
    InputError
        Bad image, spacing or points.
    """
    volume = as_scalar_volume(image)
    spacing = check_spacing(spacing)
    in_plane_px = math.ceil(box_margin_mm / min(spacing[1:]) - 1e-9)
    box = outline_roi(points_kji, volume.shape, spacing, margin_px=in_plane_px, margin_z_mm=box_margin_mm)
    points = np.asarray(points_kji, dtype=np.float64) - box.start
    seeds = outline_seeds(points, box.shape, shell_px=shell_px)
    labels = grow_from_seeds(volume[box.slices], seeds, spacing)
    mask = np.zeros(volume.shape, np.uint8)
    mask[box.slices] = labels == LESION_SEED
    return mask

