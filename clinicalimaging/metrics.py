"""Image-quality metrics of an enhancement, measured on a lesion and its surroundings.

Arrays are in MRML's KJI order (``array[k, j, i]``: slice, row, column) and
``spacing`` is in mm in the same order; a 2-D array is one slice. The regions
(lesion core, background ring, boundary band) always come from the lesion mask,
never from the processed image, so the same voxels are measured before and after
an enhancement.

The primary metric is the contrast-to-noise ratio of the paper, eq. (5), with
the noise taken from the background ring. CNR can be raised by blurring, which
removes noise and detail alike, so edge sharpness and the noise level are
reported beside it (docs/enhancement.md#image-quality-metrics).

Segmentation and detection metrics (Dice, HD95; 3-D box IoU, wall and centroid distance) belong here as well.
"""

import dataclasses
import math

import numpy as np
import scipy.ndimage

from .errors import InputError
from .validation import as_binary_mask, as_scalar_volume, check_spacing

# 4-connected in-plane neighbourhood, applied to every slice at once.
_IN_PLANE_CROSS = scipy.ndimage.generate_binary_structure(2, 1)[np.newaxis]


@dataclasses.dataclass(frozen=True)
class LesionRegions:
    """Boolean masks (KJI, the shape of the lesion mask) of the measured regions.

    Attributes
    ----------
    lesion : ndarray of bool
        Lesion core: the lesion mask eroded in-plane.
    background : ndarray of bool
        Ring around the lesion, in-plane, on the slices that contain lesion.
    boundary : ndarray of bool
        In-plane band of 1 px on either side of the lesion edge (2 px wide).
    """

    lesion: np.ndarray
    background: np.ndarray
    boundary: np.ndarray


def lesion_regions(lesion_mask, spacing, *, erosion_px=1, ring_inner_px=3, ring_outer_px=10):
    """Lesion core, background ring and boundary band of a lesion mask.

    Distances are measured within each slice (slices are usually much thicker
    than pixels, so a 3-D ring would reach into neighbouring anatomy), in pixels
    of the finest in-plane axis: with square pixels that is plain pixels, with
    non-square pixels the ring is still round in mm. The defaults follow common
    practice (docs/enhancement.md#image-quality-metrics): core eroded by 1 px, ring 3-10 px outside.
    The ring is not limited to one tissue; for a lesion at an organ's edge it
    also samples the neighbouring tissue, which raises the measured noise.

    Parameters
    ----------
    lesion_mask : (K, J, I) or (J, I) array
        Non-zero inside the lesion.
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    erosion_px : int, optional
        The core keeps lesion pixels more than this distance (px) inside the
        edge. When erosion removes the whole lesion (a very small lesion), the
        uneroded mask is used as the core.
    ring_inner_px, ring_outer_px : float, optional
        The background ring holds the non-lesion pixels at an in-plane distance
        from the lesion in ``[ring_inner_px, ring_outer_px]`` (px), on slices
        that contain lesion.

    Returns
    -------
    LesionRegions
        Boolean masks of the lesion's shape.

    Raises
    ------
    InputError
        Empty mask, not 2-D/3-D, wrong spacing, bad ring widths, or a lesion
        that leaves no room for a background ring.
    """
    shape = np.shape(lesion_mask)
    volume = as_binary_mask(lesion_mask, name="lesion mask")
    spacing = tuple(check_spacing(spacing))
    if erosion_px < 0:
        raise InputError(f"erosion_px must be zero or positive; got {erosion_px}.")
    if not 0 < ring_inner_px <= ring_outer_px:
        raise InputError(f"The background ring needs 0 < ring_inner_px <= ring_outer_px; "
                         f"got {ring_inner_px} and {ring_outer_px} px.")
    _check_lesion(volume)
    in_plane = np.asarray(spacing[-2:])
    sampling = in_plane / in_plane.min()

    core = np.zeros_like(volume)
    background = np.zeros_like(volume)
    for k in np.flatnonzero(volume.any(axis=(1, 2))):
        inside_distance = scipy.ndimage.distance_transform_edt(volume[k], sampling=sampling)
        outside_distance = scipy.ndimage.distance_transform_edt(~volume[k], sampling=sampling)
        core[k] = inside_distance > erosion_px
        background[k] = (outside_distance >= ring_inner_px) & (outside_distance <= ring_outer_px)
    if not core.any():
        core = volume
    if not background.any():
        raise InputError(f"The lesion mask leaves no background ring {ring_inner_px}-{ring_outer_px} px around "
                         f"the lesion: it fills (nearly) the whole image. Check that the right label was chosen.")
    boundary = (scipy.ndimage.binary_dilation(volume, _IN_PLANE_CROSS)
                & ~scipy.ndimage.binary_erosion(volume, _IN_PLANE_CROSS, border_value=1))
    return LesionRegions(lesion=core.reshape(shape), background=background.reshape(shape),
                         boundary=boundary.reshape(shape))


def limit_background(regions, image, value_range):
    """The regions with the background ring limited to voxels of ``image`` within ``value_range``.

    On CT the ring around an organ also holds air, fat and bone, whose spread says
    nothing about noise; limiting it to a soft-tissue window (e.g. -150 to 250 HU)
    measures the noise where a reader looks. Pass the *original* image, so that
    every enhanced version is measured on the same voxels.

    Parameters
    ----------
    regions : LesionRegions
    image : ndarray
        The original image, of the regions' shape.
    value_range : (float, float)
        Lowest and highest grey value kept, inclusive.

    Returns
    -------
    LesionRegions

    Raises
    ------
    InputError
        An empty or reversed range, or one that leaves no ring voxel.
    """
    low, high = (float(value) for value in value_range)
    if not low < high:
        raise InputError(f"The ring's grey-value range must be LOW < HIGH; got {low:g} and {high:g}.")
    image = np.asarray(image)
    background = regions.background & (image >= low) & (image <= high)
    if not background.any():
        raise InputError(f"No voxel of the background ring lies within {low:g}..{high:g}: widen the range (for CT "
                         "in HU, e.g. -150 250), or leave it out.")
    return dataclasses.replace(regions, background=background)


def measured_box(lesion_mask, *, ring_outer_px=10):
    """The box of the voxels that :func:`lesion_regions` and :func:`enhancement_metrics` read for a lesion.

    The slices that contain lesion and, in-plane, the lesion's bounding box grown
    by ``ceil(ring_outer_px) + 1`` px (the background ring, and one pixel more for
    the central differences of the edge gradient), clipped to the image. Regions
    and metrics computed on ``image[box]`` and ``lesion_mask[box]`` equal those of
    the whole image, so a comparison of enhancements can filter only the box (plus
    each filter's halo).

    Parameters
    ----------
    lesion_mask : (K, J, I) or (J, I) array
        Non-zero inside the lesion.
    ring_outer_px : float, optional
        As for :func:`lesion_regions`.

    Returns
    -------
    tuple of slice
        One per axis of ``lesion_mask``.

    Raises
    ------
    InputError
        Empty mask, or not 2-D/3-D.
    """
    volume = as_binary_mask(lesion_mask, name="lesion mask")
    _check_lesion(volume)
    margin = (0, math.ceil(ring_outer_px) + 1, math.ceil(ring_outer_px) + 1)
    box = tuple(slice(max(0, int(indices.min()) - extra), min(size, int(indices.max()) + 1 + extra))
                for indices, extra, size in zip(np.nonzero(volume), margin, volume.shape))
    return box[3 - np.ndim(lesion_mask):]


def noise_std(image, background):
    """Noise level: standard deviation of ``image`` over the ``background`` mask.

    Parameters
    ----------
    image : ndarray
        Grey values, any shape.
    background : ndarray of bool
        Region of homogeneous tissue, the shape of ``image``.

    Returns
    -------
    float
        Standard deviation (population, ``ddof=0``) in the image's units.
    """
    return float(np.std(_samples(image, background, "background")))


def contrast_to_noise_ratio(image, lesion, background):
    """Contrast-to-noise ratio of the paper, eq. (5): ``|a1 - a2| / m``.

    ``a1`` and ``a2`` are the mean grey values of the lesion and the background,
    and ``m`` is the standard deviation (``ddof=0``) of the background. The paper
    calls ``m`` "the standard deviation of the two"; we take the classic form
    with the noise measured in a homogeneous background region (Welvaert &
    Rosseel, PLoS ONE 8(11):e77089, 2013; docs/enhancement.md#contrast-to-noise-ratio). See
    :func:`pooled_contrast_to_noise_ratio` for the form that pools both regions.

    Parameters
    ----------
    image : ndarray
        Grey values, any shape.
    lesion, background : ndarray of bool
        The two regions, each the shape of ``image``.

    Returns
    -------
    float
        The dimensionless CNR; ``inf`` when the background has no noise at all
        (possible on synthetic images) but the means differ.

    Raises
    ------
    InputError
        Empty region, shape mismatch, non-finite values, or an image that is
        constant over both regions.
    """
    return _contrast_to_noise_ratio(*_region_pair(image, lesion, background))


def pooled_contrast_to_noise_ratio(image, lesion, background):
    """Contrast-to-noise ratio with pooled noise: ``|a1 - a2| / sqrt((s1² + s2²) / 2)``.

    ``s1`` and ``s2`` are the standard deviations (``ddof=0``) of the lesion and
    the background. Parameters, return value and errors as for
    :func:`contrast_to_noise_ratio`.
    """
    return _pooled_contrast_to_noise_ratio(*_region_pair(image, lesion, background))


def edge_sharpness(image, lesion_mask, spacing, *, regions=None):
    """Mean in-plane gradient magnitude on the lesion boundary per unit of lesion contrast.

    ``mean(|grad I|) over the boundary band / |mean(lesion) - mean(background)|``,
    with the gradient in grey value per mm (central differences in each slice).
    Dividing by the lesion's contrast in the same image makes the measure
    independent of a linear change of grey scale; what remains is the
    steepness of the edge, roughly the inverse of its width in mm. CNR alone
    rewards blurring (it lowers the noise); blurring widens edges and lowers this.

    Parameters
    ----------
    image : (K, J, I) or (J, I) array
        Grey values.
    lesion_mask : array of the shape of ``image``
        Non-zero inside the lesion.
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    regions : LesionRegions, optional
        Precomputed :func:`lesion_regions` of ``lesion_mask``.

    Returns
    -------
    float
        Edge sharpness in 1/mm; ``inf`` when the lesion has no contrast.
    """
    image, spacing, regions = _check_inputs(image, lesion_mask, spacing, regions)
    lesion_values, background_values = _region_pair(image, regions.lesion, regions.background)
    return _edge_sharpness(image, spacing, regions.boundary, _contrast(lesion_values, background_values))


def enhancement_metrics(image, lesion_mask, spacing, *, regions=None):
    """All image-quality metrics of one image on one lesion.

    Parameters
    ----------
    image : (K, J, I) or (J, I) array
        Grey values.
    lesion_mask : array of the shape of ``image``
        Non-zero inside the lesion.
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    regions : LesionRegions, optional
        Precomputed :func:`lesion_regions` of ``lesion_mask``; pass the same one
        for an image and its enhanced versions to save time.

    Returns
    -------
    dict
        ``"cnr"`` (eq. (5), :func:`contrast_to_noise_ratio`), ``"cnr_pooled"``,
        ``"noise_std"`` (image units), ``"edge_sharpness"`` (1/mm),
        ``"lesion_mean"`` and ``"background_mean"`` (image units).
    """
    image, spacing, regions = _check_inputs(image, lesion_mask, spacing, regions)
    lesion_values, background_values = _region_pair(image, regions.lesion, regions.background)
    return {
        "cnr": _contrast_to_noise_ratio(lesion_values, background_values),
        "cnr_pooled": _pooled_contrast_to_noise_ratio(lesion_values, background_values),
        "noise_std": float(np.std(background_values)),
        "edge_sharpness": _edge_sharpness(image, spacing, regions.boundary,
                                          _contrast(lesion_values, background_values)),
        "lesion_mean": float(lesion_values.mean()),
        "background_mean": float(background_values.mean()),
    }


def _check_lesion(volume):
    if not volume.any():
        raise InputError("The lesion mask is empty: label the lesion (non-zero voxels) and try again.")


def _contrast(lesion_values, background_values):
    return abs(lesion_values.mean() - background_values.mean())


def _contrast_to_noise_ratio(lesion_values, background_values):
    return _ratio(_contrast(lesion_values, background_values), np.std(background_values))  # eq. (5)


def _pooled_contrast_to_noise_ratio(lesion_values, background_values):
    pooled = np.sqrt((np.var(lesion_values) + np.var(background_values)) / 2.0)
    return _ratio(_contrast(lesion_values, background_values), pooled)


def _edge_sharpness(image, spacing, boundary, contrast):
    volume = as_scalar_volume(image, allow_constant=True).astype(np.float64)
    row_gradient, column_gradient = np.gradient(volume, *spacing[1:], axis=(1, 2))
    magnitude = np.hypot(row_gradient, column_gradient).reshape(np.shape(image))
    return _ratio(float(magnitude[boundary].mean()), contrast)


def _check_inputs(image, lesion_mask, spacing, regions):
    image = np.asarray(image)
    as_scalar_volume(image)
    if np.shape(lesion_mask) != image.shape:
        raise InputError(f"The lesion mask (shape {np.shape(lesion_mask)}) does not match the image "
                         f"(shape {image.shape}): resample the mask onto the image grid first.")
    spacing = tuple(check_spacing(spacing))
    if regions is None:
        regions = lesion_regions(lesion_mask, spacing)
    return image, spacing, regions


def _region_pair(image, lesion, background):
    lesion_values = _samples(image, lesion, "lesion")
    background_values = _samples(image, background, "background")
    if np.ptp(lesion_values) == 0 and np.ptp(background_values) == 0 and lesion_values[0] == background_values[0]:
        raise InputError("The image is constant over the lesion and its background: "
                         "contrast and noise are undefined. Check that the right image was chosen.")
    return lesion_values, background_values


def _samples(image, region, name):
    image = np.asarray(image)
    region = np.asarray(region, dtype=bool)
    if region.shape != image.shape:
        raise InputError(f"The {name} region (shape {region.shape}) does not match the image (shape {image.shape}).")
    values = image[region].astype(np.float64)
    if values.size == 0:
        raise InputError(f"The {name} region is empty: nothing to measure.")
    if not np.all(np.isfinite(values)):
        raise InputError(f"The image has NaN or infinite values in the {name} region.")
    return values


def _ratio(numerator, denominator):
    # A noise-free synthetic background gives an infinitely good (not an undefined) CNR.
    return float(numerator / denominator) if denominator > 0 else float("inf")


def dice(a, b):
    """Dice similarity coefficient of two masks: ``2 |A ∩ B| / (|A| + |B|)``.

    Parameters
    ----------
    a, b : array_like
        Masks of the same shape, non-zero inside.

    Returns
    -------
    float
        In [0, 1]. Two empty masks agree perfectly (1.0); an empty and a
        non-empty mask not at all (0.0).

    Raises
    ------
    InputError
        Shapes differ.
    """
    a, b = _mask_pair(a, b)
    total = np.count_nonzero(a) + np.count_nonzero(b)
    return 2.0 * np.count_nonzero(a & b) / total if total else 1.0


def hausdorff_95(a, b, spacing):
    """95th percentile Hausdorff distance between the surfaces of two masks, in mm.

    The surface of a mask is its voxels with a face neighbour outside it (or on
    the array's border). The distances from each surface voxel of ``a`` to the
    nearest surface voxel of ``b`` and from each of ``b`` to ``a`` (Euclidean
    distance transforms with the voxel spacing) are pooled, and their 95th
    percentile is returned (the symmetric form of MedPy's ``hd95``).

    Parameters
    ----------
    a, b : (K, J, I) or (J, I) array_like
        Masks of the same shape, non-zero inside.
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.

    Returns
    -------
    float
        Distance in mm; 0 for identical masks.

    Raises
    ------
    InputError
        Shapes differ, wrong spacing, or a mask is empty (its surface, and the
        distance, do not exist).
    """
    a, b = _mask_pair(a, b)
    spacing = check_spacing(spacing)
    if not a.any() or not b.any():
        raise InputError("HD95 is undefined when a mask is empty: the segmentation or the reference has no voxels.")
    surface_a, surface_b = _surface(a), _surface(b)
    distances = np.concatenate([
        scipy.ndimage.distance_transform_edt(~surface_b, sampling=spacing)[surface_a],
        scipy.ndimage.distance_transform_edt(~surface_a, sampling=spacing)[surface_b]])
    return float(np.percentile(distances, 95))


def _mask_pair(a, b):
    if np.shape(a) != np.shape(b):
        raise InputError(f"The masks have different shapes ({np.shape(a)} and {np.shape(b)}): resample one onto "
                         "the other's grid first.")
    return as_binary_mask(a), as_binary_mask(b)


def _surface(mask):
    return mask & ~scipy.ndimage.binary_erosion(mask, border_value=0)


def _box_pair(box_a, box_b):
    """Two boxes as (2, 3) float arrays (min corner, max corner), checked."""
    boxes = []
    for name, given in (("first", box_a), ("second", box_b)):
        try:
            box = np.asarray(given, dtype=np.float64)
        except (TypeError, ValueError):
            box = None
        if box is None or box.shape != (2, 3):
            raise InputError(f"The {name} box must be (min corner, max corner), each 3 coordinates in mm; got "
                             f"{str(given)[:80]}.")
        if not np.all(np.isfinite(box)) or np.any(box[0] > box[1]):
            raise InputError(f"The {name} box must have finite corners with min <= max on every axis; got "
                             f"min {box[0].tolist()} and max {box[1].tolist()}.")
        boxes.append(box)
    return boxes


def box_iou_3d(box_a, box_b):
    """Intersection over union of two axis-aligned 3-D boxes: ``|A ∩ B| / |A ∪ B|`` of their volumes.

    The measure of organ localisation of Navarro et al. ("Deep reinforcement
    learning for organ localization in CT", MIDL 2020, PMLR 121:544-554), as for
    2-D detection boxes.

    Parameters
    ----------
    box_a, box_b : array_like, shape (2, 3)
        ``(min corner, max corner)`` of each box, the same 3 axes (e.g. R, A, S) in mm.

    Returns
    -------
    float
        In [0, 1]; 0 for boxes that do not overlap. Two boxes without volume give 1
        when equal, else 0.

    Raises
    ------
    InputError
        A box that is not 2 corners of 3 finite coordinates with min <= max.
    """
    a, b = _box_pair(box_a, box_b)
    intersection = np.prod(np.clip(np.minimum(a[1], b[1]) - np.maximum(a[0], b[0]), 0.0, None))
    union = np.prod(a[1] - a[0]) + np.prod(b[1] - b[0]) - intersection
    if union <= 0:
        return float(np.array_equal(a, b))
    return float(intersection / union)


def wall_distance(box_a, box_b):
    """Wall distance of two axis-aligned 3-D boxes: the mean absolute distance of their 6 faces, in mm.

    ``mean(|a_min - b_min|, |a_max - b_max|)`` over the 3 axes (Humpire-Mamani et al.,
    "Efficient organ localization using multi-label convolutional neural networks in
    thorax-abdomen CT scans", Phys. Med. Biol. 63(8):085003, 2018; also used by
    Navarro et al., MIDL 2020).

    Parameters
    ----------
    box_a, box_b : array_like, shape (2, 3)
        ``(min corner, max corner)`` in mm.

    Returns
    -------
    float
        In mm; 0 for equal boxes.
    """
    a, b = _box_pair(box_a, box_b)
    return float(np.mean(np.abs(a - b)))


def centroid_distance(box_a, box_b):
    """Euclidean distance of the centres of two axis-aligned 3-D boxes, in mm (Navarro et al., MIDL 2020).

    Parameters
    ----------
    box_a, box_b : array_like, shape (2, 3)
        ``(min corner, max corner)`` in mm.

    Returns
    -------
    float
        In mm.
    """
    a, b = _box_pair(box_a, box_b)
    return float(np.linalg.norm(a.mean(axis=0) - b.mean(axis=0)))
