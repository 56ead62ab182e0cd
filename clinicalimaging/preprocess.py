"""The paper's preprocessing (section 2.1): ROI from outline points, lesion-mask refinement, 8x augmentation.

1. **Region of interest.** The minimum bounding rectangle of the manually marked
   outline points, expanded by 20 px in-plane (:func:`outline_roi`); along the slice
   axis, which the 2-D paper does not have, by a margin in mm.
2. **Lesion mask.** Inside that rectangle, on each slice that holds an outline: Otsu
   thresholding, the largest connected component, an opening, a closing and hole
   filling with a disk of radius 5 px; the manual region is kept when that component
   lies inside it, else the processed region (:func:`refine_lesion_mask`).
3. **Augmentation.** Rotations by quarter turns and mirroring give 8 copies of an
   image: the dihedral group D4 (:data:`AUGMENTATIONS`, :func:`augment`,
   :func:`deaugment`, :func:`augment_labels`).

Arrays are in MRML's KJI order (``array[k, j, i]``: slice, row, column), ``spacing``
is in mm in the same order, and outline points are continuous voxel coordinates
``(k, j, i)``: the voxel ``[k, j, i]`` covers ``[k - 0.5, k + 0.5)`` and so on. The
paper's sizes stay in pixels, as in the paper, whatever the pixel spacing; their
parameter names end in ``_px``. Messages about a slice name it ``slice k``, or as a
``slice_name(k)`` argument says (node-level callers name the input file's slices,
:class:`clinicalimaging.segment.nodes.SliceNames`). Method notes:
docs/segmentation.md#roi-and-lesion-mask.
"""

import dataclasses
import math
from typing import NamedTuple

import numpy as np
import SimpleITK as sitk

from .errors import InputError
from .progress import report
from .validation import as_scalar_volume, check_spacing

#: Step in px at which the edges of an outline polygon are sampled when they are drawn into the manual region.
_EDGE_STEP_PX = 0.25


@dataclasses.dataclass(frozen=True)
class RoiBox:
    """A box of voxels, KJI order, ``stop`` exclusive.

    Attributes
    ----------
    start, stop : tuple of 3 int
        First and one-past-last voxel index along (K, J, I).
    touches_border : bool
        The box reaches the edge of the image along some axis, or its margin was cut
        there: part of the lesion or of its surroundings may lie outside the image.
    """

    start: tuple
    stop: tuple
    touches_border: bool

    @property
    def slices(self):
        """The box as a tuple of 3 slices, to index a (K, J, I) array."""
        return tuple(slice(begin, end) for begin, end in zip(self.start, self.stop))

    @property
    def shape(self):
        """Number of voxels along (K, J, I)."""
        return tuple(end - begin for begin, end in zip(self.start, self.stop))


@dataclasses.dataclass(frozen=True)
class SliceRefinement:
    """What :func:`refine_lesion_mask` did on one slice.

    Attributes
    ----------
    slice_index : int
        The slice ``k``.
    rule : {"manual", "processed", "leaked"}
        Which region was kept: the manual region (the processed component lay inside
        it), the processed component (it reached outside the manual region), or the
        manual region because the processed component reached the edge of the ROI.
    otsu_threshold : float
        Otsu's threshold of the ROI on this slice, in image units.
    lesion_is_bright : bool
        Whether the lesion was taken as the class above the threshold.
    lesion_pixels : int
        Pixels of the kept region.
    """

    slice_index: int
    rule: str
    otsu_threshold: float
    lesion_is_bright: bool
    lesion_pixels: int


@dataclasses.dataclass(frozen=True)
class RefinementDetails:
    """The ROI of :func:`refine_lesion_mask` and what happened on each slice with an outline."""

    roi: RoiBox
    slices: tuple


def outline_roi(points_kji, shape, spacing, *, margin_px=20, margin_z_mm=5.0):
    """The region of interest around an outline: its bounding box expanded by a margin, clipped to the image.

    Parameters
    ----------
    points_kji : (N, 3) array_like of float
        Outline points in continuous voxel coordinates (k, j, i); at least 3.
    shape : tuple of 3 int
        Image shape (K, J, I).
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order; only ``spacing[0]`` is used, to turn
        ``margin_z_mm`` into slices.
    margin_px : int
        In-plane margin in pixels added on every side of the points' minimum bounding
        rectangle (the paper's 20 px), whatever the pixel spacing.
    margin_z_mm : float
        Margin in mm added before the first and after the last slice holding points:
        ``ceil(margin_z_mm / spacing[0])`` slices. The slices the points span are
        always included.

    Returns
    -------
    RoiBox
        ``touches_border`` is set when the box reaches the image edge on some axis.

    Raises
    ------
    InputError
        Fewer than 3 points, non-finite coordinates, points outside the image, a
        negative margin or a bad spacing.
    """
    shape = _check_shape(shape)
    points = _check_points(points_kji, shape)
    spacing = check_spacing(spacing)
    if not (isinstance(margin_px, (int, np.integer)) and margin_px >= 0):
        raise InputError(f"The in-plane ROI margin must be a whole number of pixels >= 0; got {margin_px!r}.")
    if not (np.isfinite(margin_z_mm) and margin_z_mm >= 0):
        raise InputError(f"The ROI margin along z must be a finite number of mm >= 0; got {margin_z_mm!r}.")
    margins = np.array([math.ceil(margin_z_mm / spacing[0] - 1e-9), margin_px, margin_px])
    voxels = _voxel_indices(points, shape)
    requested_start = voxels.min(axis=0) - margins
    requested_stop = voxels.max(axis=0) + 1 + margins
    start = np.maximum(requested_start, 0)
    stop = np.minimum(requested_stop, shape)
    return RoiBox(start=tuple(int(value) for value in start), stop=tuple(int(value) for value in stop),
                  touches_border=bool(np.any(requested_start <= 0) or np.any(requested_stop >= np.array(shape))))


def outline_mask(points_kji, shape, *, slice_name=None):
    """The manual region: the outline polygon filled on each slice that holds outline points.

    Points are grouped by slice (``k`` rounded to the nearest slice) and, on each
    slice, joined in the order given into a closed polygon. A pixel belongs to the
    region when its centre lies inside the polygon (even-odd rule) or the
    polygon's edge passes through it. Slices without points stay empty: the manual
    region is drawn per slice and not interpolated.

    Parameters
    ----------
    points_kji : (N, 3) array_like of float
        Outline points in continuous voxel coordinates (k, j, i), in drawing order.
    shape : tuple of 3 int
        Image shape (K, J, I).
    slice_name : callable, optional
        ``slice_name(k) -> str``: how messages name slice ``k``; default ``"slice k"``.

    Returns
    -------
    mask : ndarray of uint8, shape ``shape``
        1 inside the manual region, 0 elsewhere.

    Raises
    ------
    InputError
        The inputs of :func:`outline_roi`; a slice with only 1 or 2 points; an
        outline that encloses no area (coincident or collinear points).
    """
    shape = _check_shape(shape)
    points = _check_points(points_kji, shape)
    slice_name = slice_name or array_slice_name
    slice_of_point = _voxel_indices(points, shape)[:, 0]
    counts = {int(k): int(np.count_nonzero(slice_of_point == k)) for k in np.unique(slice_of_point)}
    short = {k: count for k, count in counts.items() if count < 3}
    if short:
        listing = ", ".join(f"{slice_name(k)}: {count}" for k, count in short.items())
        raise InputError(f"Each outline needs at least 3 points on its slice; got {listing} point(s). Draw each "
                         "outline on a single slice (in a slice view aligned with the volume: 'Rotate to volume "
                         "plane') or remove the stray points.")
    mask = np.zeros(shape, np.uint8)
    for k in counts:
        mask[k] = _polygon_mask(points[slice_of_point == k, 1:], shape[1:], slice_name(k))
    return mask


def refine_lesion_mask(image, points_kji, spacing, *, margin_px=20, margin_z_mm=5.0, radius_px=5, tolerance_px=2,
                       lesion_is_bright=None, slice_name=None, progress=None):
    """The paper's lesion mask from outline points: Otsu, largest component, morphology, manual-or-processed rule.

    On every slice holding an outline (:func:`outline_mask`), in 2-D as in the paper,
    inside the outline's ROI (:func:`outline_roi`):

    1. Otsu's threshold of the ROI (SimpleITK ``OtsuThresholdImageFilter``). The
       lesion class is the one, above or below the threshold, whose mean intensity
       is closer to the mean inside the outline (so dark lesions are found too);
       ``lesion_is_bright`` forces it. An outline drawn mostly around background
       can mislead this choice: then say which it is.
    2. The largest connected component (4-connected) of the lesion class among those
       that meet the manual region: the paper says "the largest", which in an ROI with
       other tissue of the lesion's class could be a neighbour.
    3. Opening, then closing, with a disk of ``radius_px`` pixels (``sitkBall``),
       then hole filling; of the result, again the largest component meeting the
       manual region. The radius is in pixels along both in-plane axes, as in the
       paper, whatever the pixel spacing (on anisotropic pixels the disk is an
       ellipse in mm).
    4. The rule: if the processed component is a subset of the manual region, grown
       by ``tolerance_px`` to absorb the rasterisation of the outline polygon
       (docs/segmentation.md#roi-and-lesion-mask), the manual region is kept; otherwise the processed
       component. An empty component (nothing survived the opening) is a subset.
       Our addition: a processed component that reaches the edge of the ROI is
       tissue around the lesion, not the lesion (the ROI was built with a margin
       around it), so the manual region is kept (rule ``"leaked"``). This happens
       when the ROI holds more than two tissue classes (e.g. air, fat and liver
       around a liver lesion on CT) and Otsu's two-class split puts the lesion
       with its surroundings.

    Parameters
    ----------
    image : (K, J, I) or (J, I) array_like
        Scalar image, KJI order (a 2-D array is one slice).
    points_kji : (N, 3) array_like of float
        Outline points in continuous voxel coordinates (k, j, i), in drawing order,
        at least 3 on each slice that holds any.
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order (for the ROI's margin along z, reported in
        ``details.roi``; the refinement itself works in pixels).
    margin_px : int
        In-plane ROI margin in pixels (the paper's 20).
    margin_z_mm : float
        ROI margin along K in mm (see :func:`outline_roi`).
    radius_px : int
        Radius in pixels of the disk of the opening and the closing (the paper's 5).
    tolerance_px : int
        How far, in pixels, the processed component may reach outside the manual
        region and still count as inside it.
    lesion_is_bright : bool, optional
        Whether the lesion is brighter than its surroundings; ``None`` decides per
        slice from the image (step 1).
    slice_name : callable, optional
        ``slice_name(k) -> str``: how progress and messages name slice ``k``; default
        ``"slice k"``.
    progress : callable, optional
        ``progress(fraction, message)``; may raise :class:`~clinicalimaging.Cancelled`.

    Returns
    -------
    mask : ndarray of uint8, shape (K, J, I)
        1 in the kept region on the outlined slices, 0 elsewhere (always 0 outside
        the ROI and on slices without an outline).
    details : RefinementDetails
        The ROI and, per outlined slice, the rule that fired, Otsu's threshold and
        the polarity used.

    Raises
    ------
    InputError
        Bad image, spacing, points or sizes (see :func:`outline_roi`,
        :func:`outline_mask`); an ROI of constant intensity on an outlined slice
        (no threshold exists).
    """
    image = as_scalar_volume(image, allow_constant=True)
    for name, value in (("radius_px", radius_px), ("tolerance_px", tolerance_px)):
        if not (isinstance(value, (int, np.integer)) and value >= 0):
            raise InputError(f"{name} must be a whole number of pixels >= 0; got {value!r}.")
    roi = outline_roi(points_kji, image.shape, spacing, margin_px=margin_px, margin_z_mm=margin_z_mm)
    slice_name = slice_name or array_slice_name
    manual = outline_mask(points_kji, image.shape, slice_name=slice_name)
    in_plane = roi.slices[1:]
    outlined = np.flatnonzero(manual.any(axis=(1, 2)))
    mask = np.zeros(image.shape, np.uint8)
    records = []
    for count, k in enumerate(outlined):
        report(progress, count / len(outlined), f"Refining the lesion outline on {slice_name(k)}")
        region, record = _refine_slice(image[k][in_plane], manual[k][in_plane].astype(bool), int(k), slice_name(k),
                                       radius_px=radius_px, tolerance_px=tolerance_px,
                                       lesion_is_bright=lesion_is_bright)
        mask[k][in_plane] = region
        records.append(record)
    report(progress, 1.0, "Lesion outline refined")
    return mask, RefinementDetails(roi=roi, slices=tuple(records))


class Augmentation(NamedTuple):
    """One element of the dihedral group D4: an optional mirror, then quarter turns.

    Attributes
    ----------
    quarter_turns : int
        Rotation by ``90 * quarter_turns`` degrees, 0 to 3 (``numpy.rot90``).
    mirrored : bool
        Whether the image is first mirrored along its last in-plane axis (I:
        left-right on an axial slice).
    """

    quarter_turns: int
    mirrored: bool

    @property
    def name(self):
        """E.g. ``"rot90"`` or ``"rot270-mirror"``."""
        return f"rot{90 * self.quarter_turns}" + ("-mirror" if self.mirrored else "")


#: The 8 transforms of the paper's augmentation (4 rotations x mirror), the identity first.
AUGMENTATIONS = tuple(Augmentation(turns, mirrored) for mirrored in (False, True) for turns in range(4))


def augment(image, transform, *, axes=(-2, -1)):
    """Apply one of the 8 augmentations to the plane ``axes`` of an array.

    Parameters
    ----------
    image : array_like
        At least 2-D; for a (K, J, I) volume the default ``axes`` transform every
        slice alike. A quarter turn swaps the sizes along ``axes``.
    transform : Augmentation, (quarter_turns, mirrored) or str
        An element of :data:`AUGMENTATIONS` or its name.
    axes : tuple of 2 int
        The plane (row axis, column axis); the mirror flips the column axis.

    Returns
    -------
    ndarray
        A new array (never a view of ``image``).
    """
    transform = _as_augmentation(transform)
    array, axes = _check_axes(image, axes)
    if transform.mirrored:
        array = np.flip(array, axis=axes[1])
    return np.rot90(array, transform.quarter_turns, axes=axes).copy()


def deaugment(image, transform, *, axes=(-2, -1)):
    """Undo :func:`augment`: ``deaugment(augment(a, t), t)`` equals ``a`` exactly.

    Parameters and return value as in :func:`augment`.
    """
    transform = _as_augmentation(transform)
    array, axes = _check_axes(image, axes)
    array = np.rot90(array, -transform.quarter_turns, axes=axes)
    if transform.mirrored:
        array = np.flip(array, axis=axes[1])
    return array.copy()


def augment_all(image, *, axes=(-2, -1)):
    """The 8 augmented copies of ``image``, in the order of :data:`AUGMENTATIONS` (the original first)."""
    return [augment(image, transform, axes=axes) for transform in AUGMENTATIONS]


def augment_labels(labels, transform, *, mirror_swaps=None, axes=(-2, -1)):
    """Augment a label map, swapping left/right labels under the mirrored transforms.

    Parameters
    ----------
    labels : array_like of int
        Label map, at least 2-D.
    transform : Augmentation, (quarter_turns, mirrored) or str
        As in :func:`augment`.
    mirror_swaps : dict of int to int, optional
        Labels that trade places in a mirror image, each pair given once in either
        direction (e.g. ``{4: 5}`` for kidney_left and kidney_right). Applied only
        when ``transform.mirrored``.
    axes : tuple of 2 int
        As in :func:`augment`.

    Returns
    -------
    ndarray
        The augmented label map, ``labels``' dtype.
    """
    return _swap_labels(augment(labels, transform, axes=axes), transform, mirror_swaps)


def deaugment_labels(labels, transform, *, mirror_swaps=None, axes=(-2, -1)):
    """Undo :func:`augment_labels` (same ``transform``, ``mirror_swaps`` and ``axes``) exactly."""
    return _swap_labels(deaugment(labels, transform, axes=axes), transform, mirror_swaps)


def _refine_slice(image, manual, k, name, *, radius_px, tolerance_px, lesion_is_bright):
    """Steps 1 to 4 of :func:`refine_lesion_mask` on slice ``k``'s ROI, ``name`` in messages: (kept region, record)."""
    values = image.astype(np.float64)
    if values.min() == values.max():
        raise InputError(f"The image is constant ({values.flat[0]:g}) inside the region of interest on {name}: "
                         "Otsu thresholding needs contrast. Check that the outline was drawn on the right volume "
                         "and slice.")
    otsu = sitk.OtsuThresholdImageFilter()
    otsu.Execute(sitk.GetImageFromArray(values))
    threshold = float(otsu.GetThreshold())
    if lesion_is_bright is None:
        lesion_is_bright = _lesion_is_bright(values, manual, threshold)
    lesion_class = values > threshold if lesion_is_bright else values <= threshold
    component = _largest_component_meeting(lesion_class, manual)
    kernel = [radius_px, radius_px]
    processed = sitk.BinaryMorphologicalOpening(sitk.GetImageFromArray(component.astype(np.uint8)), kernel,
                                                sitk.sitkBall, foregroundValue=1)
    processed = sitk.BinaryMorphologicalClosing(processed, kernel, sitk.sitkBall, foregroundValue=1)
    processed = sitk.BinaryFillhole(processed, fullyConnected=False, foregroundValue=1)
    processed = _largest_component_meeting(sitk.GetArrayFromImage(processed).astype(bool), manual)
    if _touches_edge(processed):
        rule = "leaked"
    elif np.count_nonzero(processed & ~_dilate(manual, tolerance_px)) == 0:
        rule = "manual"
    else:
        rule = "processed"
    kept = processed if rule == "processed" else manual
    record = SliceRefinement(slice_index=k, rule=rule, otsu_threshold=threshold,
                             lesion_is_bright=bool(lesion_is_bright), lesion_pixels=int(np.count_nonzero(kept)))
    return kept.astype(np.uint8), record


def _lesion_is_bright(values, manual, threshold):
    """Whether the mean inside the outline is closer to the mean of Otsu's upper class than of its lower class."""
    outline_mean = values[manual].mean()
    upper, lower = values[values > threshold], values[values <= threshold]
    distance_upper = abs(outline_mean - upper.mean()) if upper.size else np.inf
    distance_lower = abs(outline_mean - lower.mean()) if lower.size else np.inf
    return bool(distance_upper < distance_lower)


def _largest_component_meeting(binary, manual):
    """The largest 4-connected component of ``binary`` that shares a pixel with ``manual`` (all False if none)."""
    components = sitk.GetArrayFromImage(sitk.ConnectedComponent(sitk.GetImageFromArray(binary.astype(np.uint8))))
    candidates = np.unique(components[manual & binary])
    if candidates.size == 0:
        return np.zeros(binary.shape, bool)
    sizes = np.bincount(components.ravel())
    return components == candidates[np.argmax(sizes[candidates])]


def _touches_edge(mask):
    """Whether a 2-D mask has a pixel in the first or last row or column."""
    return bool(mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())


def _dilate(mask, radius_px):
    """Binary dilation of a 2-D boolean mask by a disk of ``radius_px`` pixels."""
    dilated = sitk.BinaryDilate(sitk.GetImageFromArray(mask.astype(np.uint8)), [radius_px, radius_px],
                                sitk.sitkBall, foregroundValue=1)
    return sitk.GetArrayFromImage(dilated).astype(bool)


def _polygon_mask(polygon_ji, plane_shape, name):
    """Pixels of a (J, I) plane inside the closed polygon (m, 2) of (j, i) vertices or crossed by its edges.

    ``name`` names the slice in the message about a polygon without area.
    """
    closed = np.vstack([polygon_ji, polygon_ji[:1]])
    area = 0.5 * abs(np.sum(closed[:-1, 0] * closed[1:, 1] - closed[1:, 0] * closed[:-1, 1]))  # shoelace formula
    if area < 1.0:
        raise InputError(f"The outline on {name} encloses no area ({area:.2g} px²): its points coincide or lie "
                         "on a line. Draw the outline around the lesion.")
    low = np.clip(np.floor(closed.min(axis=0)).astype(int), 0, None)
    high = np.minimum(np.ceil(closed.max(axis=0)).astype(int) + 1, plane_shape)
    grid_j, grid_i = np.mgrid[low[0]:high[0], low[1]:high[1]]
    centres = np.column_stack([grid_j.ravel(), grid_i.ravel()])
    mask = np.zeros(plane_shape, bool)
    mask[low[0]:high[0], low[1]:high[1]] = _inside_polygon(centres, closed).reshape(grid_j.shape)
    for begin, end in zip(closed[:-1], closed[1:]):
        steps = max(int(np.ceil(np.abs(end - begin).max() / _EDGE_STEP_PX)), 1)
        samples = begin + np.linspace(0.0, 1.0, steps + 1)[:, None] * (end - begin)
        pixels = np.clip(np.floor(samples + 0.5).astype(int), 0, np.array(plane_shape) - 1)
        mask[pixels[:, 0], pixels[:, 1]] = True
    return mask


def array_slice_name(k):
    """The default ``slice_name``: slice ``k`` of an array is ``"slice k"`` in messages."""
    return f"slice {k}"


def _check_shape(shape):
    shape = tuple(int(size) for size in shape)
    if len(shape) != 3 or min(shape) < 1:
        raise InputError(f"The image shape must be 3 positive sizes (K, J, I); got {shape}.")
    return shape


def _check_points(points_kji, shape):
    """Validate outline points against an image shape; returns them as an (N, 3) float64 array."""
    points = np.asarray(points_kji, dtype=np.float64)
    if points.size == 0:
        raise InputError("No outline points were given: mark at least 3 points around the lesion.")
    if points.ndim != 2 or points.shape[1] != 3:
        raise InputError(f"Outline points must be an (N, 3) array of (k, j, i) voxel coordinates; got shape "
                         f"{points.shape}.")
    if len(points) < 3:
        raise InputError(f"An outline needs at least 3 points; got {len(points)}. Mark more points around the "
                         "lesion.")
    bad = np.flatnonzero(~np.all(np.isfinite(points), axis=1))
    if bad.size:
        raise InputError(f"Outline point(s) {_listing(bad)} have NaN or infinite coordinates; remove or re-place "
                         "them.")
    low = -0.5 - points
    high = points - (np.array(shape) - 0.5)
    outside = np.maximum(low, high)
    bad = np.flatnonzero(np.any(outside > 0, axis=1))
    if bad.size:
        details = "; ".join(
            f"point {index} {_format_point(points[index])} by {outside[index].max():.1f} voxel(s) along "
            f"{'KJI'[int(np.argmax(outside[index]))]}" for index in bad[:5])
        raise InputError(f"{bad.size} outline point(s) lie outside the image of shape {shape} (K, J, I): {details}. "
                         "Check that the points belong to this volume.")
    return points


def _voxel_indices(points, shape):
    """The voxel holding each continuous (k, j, i) point, within the image."""
    return np.clip(np.floor(points + 0.5).astype(int), 0, np.array(shape) - 1)


def _format_point(point):
    return "(" + ", ".join(f"{name}={value:.1f}" for name, value in zip("kji", point)) + ")"


def _listing(indices):
    shown = ", ".join(str(index) for index in indices[:10])
    return shown + (f" and {indices.size - 10} more" if indices.size > 10 else "")


def _as_augmentation(transform):
    if isinstance(transform, str):
        by_name = {augmentation.name: augmentation for augmentation in AUGMENTATIONS}
        if transform not in by_name:
            raise InputError(f"Unknown augmentation '{transform}'; choose one of {', '.join(by_name)}.")
        return by_name[transform]
    turns, mirrored = transform
    if turns not in range(4) or not isinstance(mirrored, (bool, np.bool_)):
        raise InputError(f"An augmentation is (quarter_turns in 0..3, mirrored as bool); got {tuple(transform)}.")
    return Augmentation(int(turns), bool(mirrored))


def _check_axes(image, axes):
    array = np.asarray(image)
    axes = tuple(int(axis) for axis in axes)
    if len(axes) != 2 or not all(-array.ndim <= axis < array.ndim for axis in axes) \
            or axes[0] % array.ndim == axes[1] % array.ndim:
        raise InputError(f"Augmentation needs two distinct axes of the array; got axes {axes} for an array of shape "
                         f"{array.shape}.")
    return array, axes


def _swap_labels(labels, transform, mirror_swaps):
    """Exchange the paired labels of ``mirror_swaps`` when ``transform`` mirrors."""
    table = {}
    for left, right in (mirror_swaps or {}).items():
        for source, target in ((left, right), (right, left)):
            if table.setdefault(source, target) != target:
                raise InputError(f"mirror_swaps pairs label {source} with both {table[source]} and {target}; each "
                                 "label may swap with one other label only.")
    if not _as_augmentation(transform).mirrored:
        return labels
    swapped = labels.copy()
    for source, target in table.items():
        swapped[labels == source] = target
    return swapped


def _inside_polygon(points, closed):
    """Whether each of the (n, 2) points lies inside the closed polygon (m + 1, 2), by the even-odd rule.

    A ray from each point along +j crosses the edges whose i-range holds the point's
    i (half-open, so a vertex is counted once); an odd number of crossings is inside.
    """
    inside = np.zeros(len(points), dtype=bool)
    for (begin_j, begin_i), (end_j, end_i) in zip(closed[:-1], closed[1:]):
        spans = (begin_i > points[:, 1]) != (end_i > points[:, 1])
        if not spans.any():
            continue
        crossing_j = begin_j + (points[spans, 1] - begin_i) * (end_j - begin_j) / (end_i - begin_i)
        inside[spans] ^= points[spans, 0] < crossing_j
    return inside
