"""Established enhancement methods to compare the fractional enhancement against.

Each baseline is a function ``(image, spacing) -> ndarray``: ``image`` is a KJI
volume (a 2-D array is one slice), ``spacing`` is in mm in the same order. The
result has the input's shape, is floating point (float32 for float32 and small
integer inputs, float64 for float64) in the input's units and, as for
:func:`~clinicalimaging.enhance.fractional_enhance`, is clipped to the input's
range ``[min, max]``. Like the default "2d" fractional mask, every baseline
works in-plane, slice by slice, because clinical slices are much thicker than
their pixels; the SimpleITK filters get each slice's in-plane spacing.
"""

import numpy as np
import SimpleITK as sitk

from ..errors import InputError
from ..validation import as_scalar_volume, check_spacing
from .filter import variable_order_filter


def constant_order(image, spacing, *, order=0.5, number_of_terms=3):
    """Fractional mask of one order everywhere (the classic Tiansi mask for 3 terms).

    Parameters
    ----------
    image : (K, J, I) or (J, I) array
        Grey values.
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    order : float, optional
        Fractional order ``v`` of the Grünwald–Letnikov mask, below 1.
    number_of_terms : int, optional
        Grünwald–Letnikov terms per direction (3 gives the 5x5 Tiansi mask,
        ``ALGORITHMS.md`` A2).

    Returns
    -------
    ndarray of float
        Shape of ``image``, clipped to its range.
    """
    volume, spacing = _as_volume(image, spacing)
    if not order < 1.0:
        raise InputError(f"The fractional order must be below 1 (the mask's sum vanishes at 1); got {order}.")
    response = variable_order_filter(volume, order, spacing, mask="2d", number_of_terms=number_of_terms)
    return _clip_like(response, image)


def clahe(image, spacing, *, radius_px=8, alpha=0.3, beta=0.3):
    """Contrast-limited adaptive histogram equalisation, slice by slice.

    SimpleITK's ``AdaptiveHistogramEqualization`` equalises the histogram of a
    ``(2 radius + 1)`` px square window around each pixel. ``alpha`` moves it
    from classic histogram equalisation (0) towards unsharp masking (1) and
    ``beta`` from that towards the identity (1); the defaults (SimpleITK's own,
    0.3 each) limit the contrast gain as CLAHE's clip limit does. The filter maps
    its result back onto the input's grey-value range, so units stay
    comparable.

    Parameters
    ----------
    image : (K, J, I) or (J, I) array
        Grey values.
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    radius_px : int, optional
        Window radius in pixels (in-plane).
    alpha, beta : float, optional
        Shape of the equalisation, each in [0, 1].

    Returns
    -------
    ndarray of float
        Shape of ``image``, clipped to its range.
    """
    if radius_px < 1:
        raise InputError(f"The CLAHE window radius must be at least 1 px; got {radius_px}.")
    return _filter_slices(image, spacing, lambda slice_image: sitk.AdaptiveHistogramEqualization(
        slice_image, radius=(int(radius_px),) * 2, alpha=float(alpha), beta=float(beta)))


def unsharp_mask(image, spacing, *, sigma_px=1.0, amount=0.5):
    """Unsharp masking, slice by slice: ``I + amount (I - G_sigma * I)``.

    Parameters
    ----------
    image : (K, J, I) or (J, I) array
        Grey values.
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    sigma_px : float, optional
        Gaussian sigma in pixels; turned into mm per in-plane axis, so the
        blur is one pixel wide on any grid.
    amount : float, optional
        Weight of the added detail (0.5 adds half of it).

    Returns
    -------
    ndarray of float
        Shape of ``image``, clipped to its range.
    """
    if sigma_px <= 0:
        raise InputError(f"The unsharp-mask sigma must be positive; got {sigma_px} px.")
    return _filter_slices(image, spacing, lambda slice_image: sitk.UnsharpMask(
        slice_image, sigmas=[sigma_px * side for side in slice_image.GetSpacing()], amount=float(amount)))


def laplacian_sharpening(image, spacing):
    """Laplacian sharpening, slice by slice: ``I - ∇²I`` with the Laplacian in grey value per mm².

    SimpleITK's ``LaplacianSharpening`` with ``UseImageSpacing`` on; it rescales
    its result to the input's range itself.

    Parameters
    ----------
    image : (K, J, I) or (J, I) array
        Grey values.
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.

    Returns
    -------
    ndarray of float
        Shape of ``image``, clipped to its range.
    """
    return _filter_slices(image, spacing, lambda slice_image: sitk.LaplacianSharpening(
        slice_image, useImageSpacing=True))


#: The baselines by display name, in the order of the comparison table.
BASELINES = {
    "constant order 0.5": constant_order,
    "CLAHE": clahe,
    "unsharp mask": unsharp_mask,
    "Laplacian sharpening": laplacian_sharpening,
}


def _filter_slices(image, spacing, slice_filter):
    volume, spacing = _as_volume(image, spacing)
    output = np.empty_like(volume)
    for k, section in enumerate(volume):
        slice_image = sitk.GetImageFromArray(section)
        slice_image.SetSpacing((spacing[2], spacing[1]))  # SimpleITK's order is x, y = I, J
        output[k] = sitk.GetArrayViewFromImage(slice_filter(slice_image))
    return _clip_like(output, image)


def _as_volume(image, spacing):
    """``image`` as a float32 (K, J, I) volume and ``spacing`` as 3 floats in mm."""
    volume = as_scalar_volume(image, allow_constant=True).astype(np.float32)
    return volume, tuple(check_spacing(spacing))


def _clip_like(output, image):
    """``output`` in the input's shape and range; float64 for a float64 input, float32 otherwise."""
    output = np.asarray(output, dtype=np.result_type(np.asarray(image).dtype, np.float32))
    return np.clip(output, np.min(image), np.max(image)).reshape(np.shape(image))
