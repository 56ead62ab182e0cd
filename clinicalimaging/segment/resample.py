"""Linear interpolation along the slice axis to near-isotropic voxels, and back.

Clinical volumes often have slices several times thicker than their pixels; the
level set and the 3-D features behave better on near-isotropic voxels
(docs/segmentation.md#z-interpolation; the paper interpolates linearly along z).

The grid. A volume of ``K`` slices ``s`` mm apart is refined by an integer
factor ``n``: the new slices lie at ``z_m = m * s / n`` mm from the first slice,
``m = 0 .. (K - 1) * n``. Slice ``m = k * n`` *is* original slice ``k``, the
first and last slices keep their positions (the origin, the direction and the
centre-to-centre extent of the volume do not change; only the spacing along K
does), and going back is sampling every ``n``-th slice, exact for images and
masks alike.

Intensities are interpolated linearly. Masks are interpolated by shape-based
interpolation (Raya & Udupa, IEEE TMI 9(1):32-42, 1990): the signed distance
map of the mask (mm, in 3-D with the voxel spacing) is interpolated linearly
and thresholded at zero, which moves the surface smoothly between slices
instead of in steps.

Arrays are in KJI order (``array[k, j, i]``, k = slice) and spacings are in mm
in the same order.
"""

import numpy as np

from ..errors import InputError
from ..validation import as_binary_mask, as_scalar_volume, check_spacing
from .levelset import signed_distance_to_surface

#: Default cap of the refinement factor: at most this many times more slices.
MAX_FACTOR = 4


#: Slices at least this many times the pixel size are thick: each holds structures near its faces only in part.
THICK_SLICE_RATIO = 4.0


def thick_slices(spacing):
    """Whether the slices are thick: slice spacing at least :data:`THICK_SLICE_RATIO` times the pixel size.

    Parameters
    ----------
    spacing : sequence of 3 float
        mm, KJI.
    """
    return spacing[0] >= THICK_SLICE_RATIO * min(spacing[1:])


def isotropic_spacing(spacing, *, max_factor=MAX_FACTOR):
    """Target slice spacing for near-isotropic voxels.

    The slice spacing is divided by the integer ``n`` that brings it closest to
    the finest in-plane spacing, with ``1 <= n <= max_factor``: the cap bounds
    the volume's growth (and the run time) for very thick slices. Slices already
    as thin as the pixels (``n = 1``) are left as they are.

    Parameters
    ----------
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    max_factor : int, optional
        Largest refinement factor (number of new slices per original slice gap).

    Returns
    -------
    float
        Target spacing along K in mm, ``spacing[0] / n``.

    Examples
    --------
    >>> isotropic_spacing((2.5, 0.8, 0.8))   # n = round(3.125) = 3
    0.8333333333333334
    >>> isotropic_spacing((8.0, 0.5, 0.5))   # n = 16, capped at 4
    2.0
    """
    spacing = check_spacing(spacing)
    if int(max_factor) != max_factor or max_factor < 1:
        raise InputError(f"max_factor must be a whole number of at least 1; got {max_factor}.")
    factor = int(np.clip(np.rint(spacing[0] / spacing[1:].min()), 1, max_factor))
    return float(spacing[0] / factor)


def resample_image_z(image, spacing, target_spacing_k):
    """Interpolate an image linearly along K onto slices ``target_spacing_k`` mm apart.

    Parameters
    ----------
    image : (K, J, I) array_like
        Scalar volume (a 2-D array is one slice).
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    target_spacing_k : float
        New slice spacing in mm; ``spacing[0]`` must be a whole multiple ``n`` of
        it (see :func:`isotropic_spacing`).

    Returns
    -------
    image : ((K - 1) * n + 1, J, I) ndarray of float32
        Slice ``k * n`` equals original slice ``k`` exactly.
    spacing : tuple of 3 float
        ``(target_spacing_k, spacing[1], spacing[2])``.
    """
    volume = as_scalar_volume(image, allow_constant=True)
    spacing = check_spacing(spacing)
    factor = _refinement_factor(spacing[0], target_spacing_k)
    return _interpolate_along_k(volume.astype(np.float32), factor), _new_spacing(spacing, factor)


def resample_mask_z(mask, spacing, target_spacing_k):
    """Interpolate a binary mask along K by shape-based interpolation.

    The signed distance to the mask's surface (:func:`signed_distance_to_surface`,
    mm, positive inside) is interpolated linearly between slices and
    thresholded at zero.

    Parameters
    ----------
    mask : (K, J, I) array_like
        Non-zero inside.
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    target_spacing_k : float
        New slice spacing in mm, ``spacing[0] / n`` for a whole ``n``.

    Returns
    -------
    mask : ((K - 1) * n + 1, J, I) ndarray of uint8
        0/1; slice ``k * n`` equals original slice ``k``.
    spacing : tuple of 3 float
        ``(target_spacing_k, spacing[1], spacing[2])``.
    """
    inside = as_binary_mask(mask).view(np.uint8)
    spacing = check_spacing(spacing)
    factor = _refinement_factor(spacing[0], target_spacing_k)
    if inside.min() == inside.max():  # empty or full: no surface to move
        return _interpolate_along_k(inside, factor), _new_spacing(spacing, factor)
    distance = _interpolate_along_k(signed_distance_to_surface(inside, spacing), factor)
    return (distance > 0).view(np.uint8), _new_spacing(spacing, factor)


def image_back_to_grid(image_iso, iso_spacing, original_shape, original_spacing):
    """Bring a volume on the refined grid back to the original slices.

    Every ``n``-th slice lies exactly on an original slice (see the module
    notes), so this is sampling, without interpolation.

    Parameters
    ----------
    image_iso : ((K - 1) * n + 1, J, I) array_like
        A volume on the grid made by :func:`resample_image_z` or
        :func:`resample_mask_z` (an image, a probability map, a mask).
    iso_spacing : sequence of 3 float
        Its spacing in mm, KJI order.
    original_shape : tuple of 3 int
        ``(K, J, I)`` of the original volume.
    original_spacing : sequence of 3 float
        Original spacing in mm, KJI order.

    Returns
    -------
    (K, J, I) ndarray
        The original slices, the dtype of ``image_iso``.
    """
    volume = np.asarray(image_iso)
    iso_spacing = check_spacing(iso_spacing)
    original_spacing = check_spacing(original_spacing)
    original_shape = tuple(int(size) for size in original_shape)
    factor = _refinement_factor(original_spacing[0], iso_spacing[0])
    expected = ((original_shape[0] - 1) * factor + 1,) + original_shape[1:]
    if volume.shape != expected or not np.allclose(iso_spacing[1:], original_spacing[1:]):
        raise InputError(f"The refined volume (shape {volume.shape}, spacing {iso_spacing.tolist()} mm) was not "
                         f"made from a volume of shape {original_shape} and spacing {original_spacing.tolist()} "
                         f"mm: expected shape {expected}.")
    return volume[::factor].copy()


def mask_back_to_grid(mask_iso, iso_spacing, original_shape, original_spacing):
    """Bring a mask on the refined grid back to the original slices.

    Equivalent to sampling its signed distance map at the original slice
    positions, which are slices of the refined grid. Parameters as for
    :func:`image_back_to_grid`.

    Returns
    -------
    (K, J, I) ndarray of uint8
        0/1.
    """
    return np.not_equal(image_back_to_grid(mask_iso, iso_spacing, original_shape, original_spacing), 0).view(np.uint8)


def _refinement_factor(spacing_k, target_spacing_k):
    ratio = spacing_k / float(target_spacing_k) if target_spacing_k > 0 else 0.0
    factor = int(np.rint(ratio))
    if factor < 1 or not np.isclose(ratio, factor, rtol=1e-6, atol=0.0):
        raise InputError(f"The target slice spacing {target_spacing_k} mm must divide the slice spacing "
                         f"{spacing_k} mm a whole number of times; use isotropic_spacing() to choose it.")
    return factor


def _new_spacing(spacing, factor):
    return (float(spacing[0] / factor), float(spacing[1]), float(spacing[2]))


def _interpolate_along_k(volume, factor):
    """Linear interpolation between consecutive slices at ``m / factor``, m = 0 .. (K - 1) * factor."""
    if factor == 1 or volume.shape[0] == 1:
        return volume.copy()
    position = np.arange((volume.shape[0] - 1) * factor + 1) / factor
    below = np.minimum(position.astype(np.intp), volume.shape[0] - 2)
    weight = (position - below).astype(np.float32)[:, np.newaxis, np.newaxis]
    # (1 - w) a + w b is exactly a at w = 0 and exactly b at w = 1: the original slices are kept bit for bit.
    return ((1 - weight) * volume[below] + weight * volume[below + 1]).astype(volume.dtype, copy=False)
