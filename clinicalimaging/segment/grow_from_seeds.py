"""Slicer's own "Grow from seeds" as the peer of the self-paced segmentation.

The Segment Editor's "Grow from seeds" effect runs ``vtkImageGrowCutSegment``
(an improved GrowCut: Zhu, Kolesov, Gao, Kikinis, Tannenbaum, "An effective
interactive medical image segmentation method using fast GrowCut", MICCAI
Interactive Medical Image Computing workshop, 2014). To compare it fairly with
:func:`clinicalimaging.segment.core.segment_lesion` it gets the same outline points:
lesion seeds inside the outline, background seeds in a shell just outside it and on
the faces of the outline's region of interest (:func:`outline_seeds`).

Arrays are in KJI order (``array[k, j, i]``), spacing in mm in the same order,
outline points in continuous voxel coordinates ``(k, j, i)``. Only
:func:`grow_from_seeds` needs slicer-core; it imports it when called.
"""

import numpy as np
import scipy.ndimage

from ..errors import InputError
from ..preprocess import RoiBox, outline_mask, outline_roi
from ..validation import as_scalar_volume, check_spacing, on_image_grid
from .result import BACKGROUND_SEED, LESION_SEED


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
    import vtk
    from vtk.util import numpy_support

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
        data = vtk.vtkImageData()
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


def outline_seeds(points_kji, shape, *, box=None, erode_px=2, shell_px=(2, 4)):
    """Lesion and background seeds from an outline, as a user of "Grow from seeds" would paint them.

    On every slice holding an outline (the polygon of
    :func:`clinicalimaging.preprocess.outline_mask`), distances in pixels within the
    slice:

    - lesion seed (:data:`~.result.LESION_SEED`, 1): the polygon eroded by
      ``erode_px`` (pixels more than ``erode_px`` from the nearest pixel outside it).
      A polygon too thin to survive the erosion is used whole;
    - background seed (:data:`~.result.BACKGROUND_SEED`, 2): the pixels outside the
      polygon at a distance in ``(shell_px[0], shell_px[1]]`` from it;

    and the faces of ``box`` (its outer layer of 1 voxel on all 6 sides) are
    background seeds too, except where a lesion seed lies.

    Parameters
    ----------
    points_kji : (N, 3) array_like of float
        Outline points in continuous voxel coordinates (k, j, i), in drawing order, at
        least 3 on each slice that holds any.
    shape : tuple of 3 int
        Image shape (K, J, I).
    box : RoiBox, optional
        The box whose faces are background; default the whole array.
    erode_px : int
        Erosion of the outline polygon for the lesion seeds, in pixels.
    shell_px : (float, float)
        Inner and outer distance in pixels of the background shell around the outline.

    Returns
    -------
    seeds : ndarray of uint8, shape ``shape``
        0 unlabelled, 1 lesion, 2 background.

    Raises
    ------
    InputError
        Bad points (see :func:`~clinicalimaging.preprocess.outline_mask`), a negative
        erosion, a shell with ``not 0 <= shell_px[0] < shell_px[1]``, or a box outside
        the image.
    """
    if not (isinstance(erode_px, (int, np.integer)) and erode_px >= 0):
        raise InputError(f"erode_px must be a whole number of pixels >= 0; got {erode_px!r}.")
    inner, outer = shell_px
    if not 0 <= inner < outer:
        raise InputError(f"The background shell needs 0 <= shell_px[0] < shell_px[1]; got {tuple(shell_px)}.")
    outline = outline_mask(points_kji, shape).astype(bool)
    box = box or RoiBox(start=(0, 0, 0), stop=tuple(outline.shape), touches_border=True)
    if any(begin < 0 or end > size or begin >= end for begin, end, size in zip(box.start, box.stop, outline.shape)):
        raise InputError(f"The seed box {box.start}..{box.stop} does not lie inside the image {outline.shape}.")

    seeds = np.zeros(outline.shape, np.uint8)
    faces = np.ones(box.shape, bool)
    faces[1:-1, 1:-1, 1:-1] = False
    seeds[box.slices][faces] = BACKGROUND_SEED
    for k in np.flatnonzero(outline.any(axis=(1, 2))):
        inside = scipy.ndimage.distance_transform_edt(outline[k])
        outside = scipy.ndimage.distance_transform_edt(~outline[k])
        seeds[k][(outside > inner) & (outside <= outer)] = BACKGROUND_SEED
        core = inside > erode_px
        seeds[k][core if core.any() else outline[k]] = LESION_SEED
    return seeds


def growcut_segment(image, points_kji, spacing, *, margin_px=20, margin_z_mm=5.0):
    """The lesion by "Grow from seeds" from outline points (:func:`outline_seeds`).

    The region of interest is the one of the self-paced segmentation
    (:func:`clinicalimaging.preprocess.outline_roi` with the same margins). Grow
    from seeds runs in that box grown by one voxel on every side (within the image),
    whose outer layer holds the background face seeds: so it may label every voxel
    of the box, as the self-paced segmentation may. Otherwise, with a thin box along
    the slice axis (e.g. 3 slices), the end faces would be background seeds on the
    very slices next to the outline.

    Parameters
    ----------
    image : (K, J, I) array_like
        Scalar image, KJI order.
    points_kji : (N, 3) array_like of float
        Outline points in continuous voxel coordinates (k, j, i).
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    margin_px, margin_z_mm
        ROI margins, as in :class:`~.parameters.SegmentParameters`.

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
    roi = outline_roi(points_kji, volume.shape, spacing, margin_px=margin_px, margin_z_mm=margin_z_mm)
    start = np.maximum(np.array(roi.start) - 1, 0)
    stop = np.minimum(np.array(roi.stop) + 1, volume.shape)
    box = RoiBox(start=tuple(int(v) for v in start), stop=tuple(int(v) for v in stop),
                 touches_border=roi.touches_border)
    points = np.asarray(points_kji, dtype=np.float64) - start
    seeds = outline_seeds(points, box.shape)
    labels = grow_from_seeds(volume[box.slices], seeds, spacing)
    mask = np.zeros(volume.shape, np.uint8)
    mask[box.slices] = labels == LESION_SEED
    return mask

