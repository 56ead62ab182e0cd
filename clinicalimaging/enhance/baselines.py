"""Established enhancement methods to compare the fractional enhancement against.

Each baseline is a function ``(image, spacing, *, region=None, progress=None)``:
``image`` is a KJI volume (a 2-D array is one slice), ``spacing`` is in mm in the
same order. The result is floating point (float32 for float32 and small integer
inputs, float64 for float64) in the input's units and, as for
:func:`~clinicalimaging.enhance.fractional_enhance`, is clipped to the input's
range ``[min, max]``. Like the default "2d" fractional mask, every baseline
works in-plane, slice by slice, because clinical slices are much thicker than
their pixels; the SimpleITK filters get each slice's in-plane spacing.

``region``, a box (one ``slice`` per axis of ``image``, step 1), asks for the
result inside that box only: the result then has the box's shape and equals the
whole image's result there, because each baseline filters the box's slices with
the neighbours (halo) its filter reads around the box. The cost then follows the
box, not the volume. ``progress(fraction, message)`` is reported once per slice
and may raise :class:`~clinicalimaging.Cancelled` between slices. A constant
slice comes back unchanged.
"""

import math

import numpy as np
import SimpleITK as sitk

from ..errors import InputError
from ..progress import report
from ..validation import as_scalar_volume, check_spacing
from .filter import filter_halo, variable_order_filter
from .grunwald_letnikov import sample_offsets

#: Halo of the recursive (IIR) Gaussian of the unsharp mask, in sigmas: its response reaches infinitely far,
#: but beyond this distance it changes a pixel by less than float32 resolution.
RECURSIVE_GAUSSIAN_HALO_SIGMAS = 10.0


def constant_order(image, spacing, *, order=0.5, number_of_terms=3, region=None, progress=None):
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
        docs/enhancement.md#tiansi-mask).
    region : tuple of slice, optional
        Box of ``image`` where the result is wanted (default: all of it).
    progress : callable, optional
        ``progress(fraction, message)``, once per slice.

    Returns
    -------
    ndarray of float
        Shape of ``image`` (of ``region`` when given), clipped to the image's range.
    """
    if not order < 1.0:
        raise InputError(f"The fractional order must be below 1 (the mask's sum vanishes at 1); got {order}.")
    halo = filter_halo(sample_offsets("2d", check_spacing(spacing)), number_of_terms)[1:]

    def fractional_mask(section, spacing):
        return variable_order_filter(section[np.newaxis], order, spacing, mask="2d",
                                     number_of_terms=number_of_terms)[0]

    return _filter_slices(image, spacing, fractional_mask, halo=halo, region=region, progress=progress,
                          name="Constant order")


def clahe(image, spacing, *, radius_px=8, alpha=0.3, beta=0.3, region=None, progress=None):
    """Contrast-limited adaptive histogram equalisation, slice by slice.

    SimpleITK's ``AdaptiveHistogramEqualization`` equalises the histogram of a
    ``(2 radius + 1)`` px square window around each pixel. ``alpha`` moves it
    from classic histogram equalisation (0) towards unsharp masking (1) and
    ``beta`` from that towards the identity (1); the defaults (SimpleITK's own,
    0.3 each) limit the contrast gain as CLAHE's clip limit does. The filter maps
    its result back onto the slice's grey-value range, so units stay
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
    region : tuple of slice, optional
        Box of ``image`` where the result is wanted (default: all of it).
    progress : callable, optional
        ``progress(fraction, message)``, once per slice.

    Returns
    -------
    ndarray of float
        Shape of ``image`` (of ``region`` when given), clipped to the image's range.

    Notes
    -----
    The equalisation depends on the slice's grey-value range as well as on the
    window. With ``region``, each slice is cut to the box plus the window radius,
    and one pixel farther out, beyond every box pixel's window, takes the
    slice's minimum and another its maximum, so the filter sees the slice's
    range. The result inside the box then equals the whole slice's up to the
    rounding of SimpleITK's sums (it adds the window's histogram bins in hash-map
    order, which depends on where the sweep over the image starts).
    """
    if radius_px < 1:
        raise InputError(f"The CLAHE window radius must be at least 1 px; got {radius_px}.")
    equalise = _on_sitk_slice(lambda slice_image: sitk.AdaptiveHistogramEqualization(
        slice_image, radius=(int(radius_px),) * 2, alpha=float(alpha), beta=float(beta)))
    return _filter_slices(image, spacing, equalise, halo=(int(radius_px),) * 2, region=region, progress=progress,
                          name="CLAHE", keep_slice_range=True)


def unsharp_mask(image, spacing, *, sigma_px=1.0, amount=0.5, region=None, progress=None):
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
    region : tuple of slice, optional
        Box of ``image`` where the result is wanted (default: all of it). The
        Gaussian is recursive (IIR), so the result inside the box equals the
        whole image's to float32 resolution rather than exactly.
    progress : callable, optional
        ``progress(fraction, message)``, once per slice.

    Returns
    -------
    ndarray of float
        Shape of ``image`` (of ``region`` when given), clipped to the image's range.
    """
    if sigma_px <= 0:
        raise InputError(f"The unsharp-mask sigma must be positive; got {sigma_px} px.")
    sharpen = _on_sitk_slice(lambda slice_image: sitk.UnsharpMask(
        slice_image, sigmas=[sigma_px * side for side in slice_image.GetSpacing()], amount=float(amount)))
    halo = (math.ceil(RECURSIVE_GAUSSIAN_HALO_SIGMAS * sigma_px),) * 2
    return _filter_slices(image, spacing, sharpen, halo=halo, region=region, progress=progress, name="Unsharp mask")


def laplacian_sharpening(image, spacing, *, region=None, progress=None):
    """Laplacian sharpening, slice by slice: ``I - ∇²I`` with the Laplacian in grey value per mm².

    SimpleITK's ``LaplacianSharpening`` with ``UseImageSpacing`` on. It scales
    the Laplacian by the ratio of the slice's grey-value range to the
    Laplacian's range and clips to the slice's range, so the result depends on
    the whole slice: with ``region`` it filters whole slices (only those of the
    box; the filter is cheap).

    Parameters
    ----------
    image : (K, J, I) or (J, I) array
        Grey values.
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    region : tuple of slice, optional
        Box of ``image`` where the result is wanted (default: all of it).
    progress : callable, optional
        ``progress(fraction, message)``, once per slice.

    Returns
    -------
    ndarray of float
        Shape of ``image`` (of ``region`` when given), clipped to the image's range.
    """
    sharpen = _on_sitk_slice(lambda slice_image: sitk.LaplacianSharpening(slice_image, useImageSpacing=True))
    return _filter_slices(image, spacing, sharpen, halo=None, region=region, progress=progress,
                          name="Laplacian sharpening")


def curvature_anisotropic_diffusion(image, spacing, *, iterations=5, conductance=1.0, region=None, progress=None):
    """Edge-preserving smoothing, slice by slice: curvature anisotropic diffusion (Whitaker & Xue 2001).

    SimpleITK's ``CurvatureAnisotropicDiffusion`` with a time step of 0.0625, half
    the largest stable one for 2-D images (the filter works in pixel units). It raises the CNR by smoothing flat tissue
    while keeping strong edges: the reference for "CNR bought by smoothing" in the
    strength sweep (:mod:`.sweep`). The filter scales its conductance by the slice's
    mean gradient, so the result depends on the whole slice: with ``region`` it
    filters whole slices (only those of the box).

    Parameters
    ----------
    image : (K, J, I) or (J, I) array
        Grey values.
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    iterations : int, optional
        Diffusion steps (more: smoother).
    conductance : float, optional
        The filter's conductance parameter (lower: edges stop the diffusion sooner).
    region : tuple of slice, optional
        Box of ``image`` where the result is wanted (default: all of it).
    progress : callable, optional
        ``progress(fraction, message)``, once per slice.

    Returns
    -------
    ndarray of float
        Shape of ``image`` (of ``region`` when given), clipped to the image's range.
    """
    if not (isinstance(iterations, (int, np.integer)) and iterations >= 1):
        raise InputError(f"The diffusion needs a whole number of iterations >= 1; got {iterations!r}.")

    def diffuse(slice_image):
        return sitk.CurvatureAnisotropicDiffusion(slice_image, timeStep=0.0625,
                                                  conductanceParameter=float(conductance),
                                                  numberOfIterations=int(iterations))

    return _filter_slices(image, spacing, _on_sitk_slice(diffuse), halo=None, region=region, progress=progress,
                          name="Curvature anisotropic diffusion")


#: The baselines by display name, in the order of the comparison table.
BASELINES = {
    "constant order 0.5": constant_order,
    "CLAHE": clahe,
    "unsharp mask": unsharp_mask,
    "Laplacian sharpening": laplacian_sharpening,
}


def _on_sitk_slice(sitk_filter):
    """A ``(section, spacing)`` slice filter from a filter of 2-D SimpleITK images.

    A constant section is returned as it is, without calling the filter: every baseline maps a constant image
    to itself, but SimpleITK's ``AdaptiveHistogramEqualization`` divides by the section's grey-value range and
    ``LaplacianSharpening`` by the range of its Laplacian, so both return NaN everywhere for a constant one (a
    blank or zero-filled slice among the lesion's slices).
    """
    def slice_filter(section, spacing):
        if section.min() == section.max():
            return section.copy()
        slice_image = sitk.GetImageFromArray(section)
        slice_image.SetSpacing((spacing[2], spacing[1]))  # SimpleITK's order is x, y = I, J
        return sitk.GetArrayFromImage(sitk_filter(slice_image))

    return slice_filter


def _filter_slices(image, spacing, slice_filter, *, halo, region, progress, name, keep_slice_range=False):
    """Apply ``slice_filter(section, spacing)`` to each slice of the region with the ``halo`` (J, I) px around it.

    ``halo=None`` filters whole slices; ``keep_slice_range`` keeps the slice's minimum and maximum in each cut
    (see :func:`_cut`).
    """
    volume, spacing = _as_volume(image, spacing)
    box = _box(region, np.ndim(image), volume.shape)
    slices = range(*box[0])
    output = np.empty([stop - start for start, stop in box], dtype=np.float32)
    for number, k in enumerate(slices):
        report(progress, number / len(slices), f"{name}: slice {number + 1} of {len(slices)}")
        section, inside = _cut(volume[k], box[1:], halo, keep_slice_range)
        output[number] = slice_filter(section, spacing)[inside]
    report(progress, 1.0, f"{name}: done")
    return _clip_like(output.reshape(output.shape[3 - np.ndim(image):]), image)


def _box(region, ndim, shape):
    """``region`` (slices over the image's ``ndim`` axes) as (start, stop) per axis of the (K, J, I) ``shape``."""
    if region is None:
        return [(0, size) for size in shape]
    region = tuple(region)
    if len(region) != ndim or not all(isinstance(item, slice) for item in region):
        raise InputError(f"The region must be {ndim} slices, one per image axis; got {region!r}.")
    box = [] if ndim == 3 else [(0, 1)]
    for item, size in zip(region, shape[3 - ndim:]):
        start, stop, step = item.indices(size)
        if step != 1 or stop <= start:
            raise InputError(f"The region must be a non-empty box with step 1 inside the image; got {region!r}.")
        box.append((start, stop))
    return box


def _cut(section, box, halo, keep_slice_range):
    """The part of a (J, I) slice a filter needs for the ``box`` ((start, stop) per axis), and the box in it.

    With ``keep_slice_range`` the cut reaches one pixel beyond the halo; a pixel of such an outer line takes
    the slice's minimum and another its maximum, so a filter that scales by its input's range sees the
    slice's. Outside every box pixel's halo, they change nothing inside the box.
    """
    whole = (section, tuple(slice(*pair) for pair in box))
    if halo is None:
        return whole
    reach = [extra + int(keep_slice_range) for extra in halo]
    window = [(max(0, start - extra), min(size, stop + extra)) for (start, stop), extra, size
              in zip(box, reach, section.shape)]
    cut = section[tuple(slice(*pair) for pair in window)]
    inside = tuple(slice(start - low, stop - low) for (start, stop), (low, _) in zip(box, window))
    low, high = section.min(), section.max()
    if not keep_slice_range or (cut.min() == low and cut.max() == high):
        return cut, inside
    for axis, ((start, stop), (first, last), extra) in enumerate(zip(box, window, halo)):
        for edge, distance in ((0, start - first), (-1, last - stop)):
            if distance > extra and cut.shape[1 - axis] > 1:
                cut = cut.copy()
                line = cut[edge] if axis == 0 else cut[:, edge]
                line[0], line[-1] = low, high
                return cut, inside
    return whole


def _as_volume(image, spacing):
    """``image`` as a float32 (K, J, I) volume and ``spacing`` as 3 floats in mm."""
    volume = as_scalar_volume(image, allow_constant=True).astype(np.float32)
    return volume, tuple(check_spacing(spacing))


def _clip_like(output, image):
    """``output`` in the input's range; float64 for a float64 input, float32 otherwise."""
    output = np.asarray(output, dtype=np.result_type(np.asarray(image).dtype, np.float32))
    return np.clip(output, np.min(image), np.max(image))
