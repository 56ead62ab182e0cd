"""Morphological clean-up of a lesion mask: opening, closing, one object, no holes.

Arrays are in KJI order (``array[k, j, i]``, k = slice), spacing in mm in the
same order.
"""

import numpy as np
import scipy.ndimage
import SimpleITK as sitk

from ..errors import InputError
from ..validation import as_binary_mask, check_spacing

KEEP = ("largest", "touching_seed")


def clean_mask(mask, spacing, *, radius_mm=1.0, keep="largest", seed_mask=None):
    """Open, close, keep one connected object and fill its holes slice by slice.

    1. Opening then closing with a ball of ``radius_mm`` (an ellipsoid in
       voxels: ``round(radius_mm / spacing)`` per axis, so an axis whose
       spacing exceeds twice the radius is left alone). Opening removes specks
       and spurs thinner than the ball, closing bridges gaps narrower than it.
       An opening that would remove everything (an object thinner than the
       ball) is skipped.
    2. Connected components (face connectivity): the largest, or every
       component that overlaps ``seed_mask``.
    3. Holes (background regions enclosed within a slice) are filled on each
       slice.

    Parameters
    ----------
    mask : (K, J, I) array_like
        Non-zero inside.
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    radius_mm : float, optional
        Radius of the ball in mm; 0 skips opening and closing.
    keep : {"largest", "touching_seed"}
        Which connected components to keep.
    seed_mask : (K, J, I) array_like, optional
        Required for ``keep="touching_seed"``: non-zero on voxels known to be
        lesion (e.g. the user's scribbles or the rough segmentation's core).

    Returns
    -------
    (K, J, I) ndarray of uint8
        0/1; all zero when ``mask`` is.

    Raises
    ------
    InputError
        Bad ``keep``, missing or mismatched ``seed_mask``, negative radius, or
        no component touching the seed.
    """
    inside = as_binary_mask(mask)
    spacing = check_spacing(spacing)
    if keep not in KEEP:
        raise InputError(f"keep must be one of {', '.join(KEEP)}; got '{keep}'.")
    if radius_mm < 0:
        raise InputError(f"The clean-up radius must be zero or positive; got {radius_mm} mm.")
    if keep == "touching_seed":
        if seed_mask is None:
            raise InputError("keep='touching_seed' needs a seed mask (voxels known to be lesion).")
        seed = np.not_equal(seed_mask, 0)
        if seed.shape != np.shape(mask):
            raise InputError(f"The seed mask (shape {seed.shape}) does not match the mask (shape {np.shape(mask)}).")
        seed = seed.reshape(inside.shape)
    if not inside.any():
        return inside.view(np.uint8).reshape(np.shape(mask))
    inside = open_and_close(inside, spacing, radius_mm=radius_mm)
    if keep == "largest":
        return fill_holes_per_slice(largest_component(inside)).reshape(np.shape(mask))
    components, _ = scipy.ndimage.label(inside)
    kept = np.unique(components[seed & inside])
    if kept.size == 0:
        raise InputError("No part of the segmented lesion touches the seed: the segmentation missed the "
                         "lesion. Check the outline or the seeds.")
    return fill_holes_per_slice(np.isin(components, kept)).reshape(np.shape(mask))


def largest_component(mask, rank=1):
    """The largest (``rank`` 1), second largest (2), ... face-connected component of a boolean mask.

    Returns a bool array of the mask's shape.

    Raises
    ------
    InputError
        The mask has fewer than ``rank`` components.
    """
    components, count = scipy.ndimage.label(mask)
    if not 1 <= rank <= count:
        raise InputError(f"The mask has {count} connected component(s); component {rank} (by size) does not "
                         "exist.")
    by_size = np.argsort(np.bincount(components.ravel())[1:], kind="stable")[::-1]
    return components == by_size[rank - 1] + 1


def open_and_close(mask, spacing, *, radius_mm):
    """Binary opening then closing with a ball of ``radius_mm`` mm (see :func:`clean_mask`).

    Returns
    -------
    (K, J, I) ndarray of bool
    """
    radius = np.rint(radius_mm / np.asarray(spacing, dtype=float)).astype(int)
    mask = np.asarray(mask, dtype=bool)
    if not radius.any():
        return mask
    kernel_radius = [int(value) for value in radius[::-1]]  # SimpleITK's x, y, z = I, J, K
    image = sitk.GetImageFromArray(mask.view(np.uint8))
    opened = sitk.BinaryMorphologicalOpening(image, kernel_radius, sitk.sitkBall)
    if not sitk.GetArrayViewFromImage(opened).any():
        opened = image
    closed = sitk.BinaryMorphologicalClosing(opened, kernel_radius, sitk.sitkBall)
    return sitk.GetArrayFromImage(closed).astype(bool)


def fill_holes_per_slice(mask):
    """Fill the background regions enclosed within each slice (in-plane, 4-connected background).

    Returns
    -------
    (K, J, I) ndarray of uint8
    """
    mask = np.asarray(mask, dtype=bool)
    filled = mask.copy()
    for k in np.flatnonzero(mask.any(axis=(1, 2))):
        filled[k] = scipy.ndimage.binary_fill_holes(mask[k])
    return filled.view(np.uint8)
