"""Checks that an outline marks what the user meant: a lesion inside the volume, on its slices, in the body.

An outline can be valid markups and still mark the wrong place. The commonest cause
is its coordinate system: a file whose numbers are LPS but whose ``coordinateSystem``
says RAS (or the reverse) has x and y negated, the mirror image of the lesion through
the patient's z axis, and the segmentation of that place looks as plausible as any.
What the image can tell, and what is done with it:

- **errors** (:class:`~clinicalimaging.errors.InputError`, nothing is segmented):
  points outside the volume (said in mm, with the nearest slice), too few points on
  a slice or an outline without area. When the mirror image (x and y negated) fits
  the volume's slices, the message says that the coordinate system is likely wrong
  (markups that are no outline at all, such as an ROI box, are refused before, by
  :func:`clinicalimaging.mrml.markups.check_outline_node`);
- **warnings** (:class:`~clinicalimaging.errors.InputWarning`, the segmentation
  runs): an outline whose region is hard to tell from its surroundings by intensity
  (:func:`outline_contrast`), one that lies mostly in the background outside the body
  (air, no signal), and one whose mirror image encloses a far more distinct region.
  A real lesion can have weak contrast, so image evidence never refuses an outline;
  the warning says that the coordinate system is likely wrong when the mirror image
  is the better outline.

The thresholds are dimensionless (an overlap of two intensity densities, shares of
pixels) and every measure is taken in-plane on the outlined slices, so the rule is
the same for any modality and slice thickness. How it was measured, on true and
mirrored outlines of the sample cases: docs/segmentation.md#outline-checks.
"""

import dataclasses
import math

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from ..errors import InputError
from ..preprocess import array_slice_name, outline_mask, outline_roi
from .region_model import intensity_overlap, outline_samples

#: Above this overlap of the intensity densities inside the outline and in the ring around it, the outlined
#: region is hard to tell from its surroundings.
INDISTINCT_OVERLAP = 0.8
#: A mirror image whose overlap is lower by at least this encloses a clearly more distinct region.
MIRROR_GAIN = 0.3
#: An outline with at least this share of its pixels in the background lies outside the body.
BACKGROUND_SHARE = 0.5
#: A slice has a background (outside the body) when its dark class, connected to the slice's edge, covers at least
#: this share of the edge; a slice cropped inside the body has none.
BORDER_SHARE = 0.5
#: Outline points listed in the message about points outside the volume.
LISTED_POINTS = 2


@dataclasses.dataclass(frozen=True)
class OutlineContrast:
    """How the region an outline encloses stands out from its surroundings, on the outlined slices.

    Attributes
    ----------
    overlap : float
        Overlap of the intensity densities inside the outline and in a ring around
        it (:func:`~.region_model.intensity_overlap` of
        :func:`~.region_model.outline_samples`), 0 (distinct) to 1 (alike); NaN when
        the outline leaves no ring on its slices.
    background_share : float
        Share of the outline's pixels that lie in the slice's background: its dark
        class (below Otsu's threshold of the whole slice) connected to the slice's
        edge, where that covers at least :data:`BORDER_SHARE` of the edge.
    slices : tuple of int
        The outlined slices ``k``.
    """

    overlap: float
    background_share: float
    slices: tuple

    @property
    def indistinct(self):
        """Whether the region is hard to tell from its surroundings by intensity."""
        return bool(self.overlap > INDISTINCT_OVERLAP)

    @property
    def in_background(self):
        """Whether the outline lies mostly outside the body."""
        return bool(self.background_share >= BACKGROUND_SHARE)


def outline_contrast(image, points_kji, spacing, *, slice_name=None):
    """How the region an outline encloses stands out from its surroundings and from the background.

    Parameters
    ----------
    image : (K, J, I) array_like
        Scalar volume, KJI order.
    points_kji : (N, 3) array_like of float
        Outline points in continuous voxel coordinates (k, j, i), in drawing order.
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    slice_name : callable, optional
        ``slice_name(k) -> str``: how messages name slice ``k``; default ``"slice k"``.

    Returns
    -------
    OutlineContrast

    Raises
    ------
    InputError
        Points outside the image, too few points on a slice, an outline without area
        (:func:`~clinicalimaging.preprocess.outline_mask`).
    """
    image = np.asarray(image)
    slice_name = slice_name or array_slice_name
    outline_roi(points_kji, image.shape, spacing)  # the points' checks, before any slice is taken
    points = np.asarray(points_kji, dtype=np.float64)
    slice_of_point = np.floor(points[:, 0] + 0.5).astype(int)
    outlined = np.unique(slice_of_point)
    on_stack = points.copy()  # the outlined slices only, as a stack of their own
    on_stack[:, 0] += np.searchsorted(outlined, slice_of_point) - slice_of_point
    stack = image[outlined].astype(np.float64)
    manual = outline_mask(on_stack, stack.shape, slice_name=lambda index: slice_name(outlined[index])).astype(bool)
    try:
        overlap = intensity_overlap(*outline_samples(stack, manual, spacing))
    except InputError:  # the outline fills its slices: no ring to compare with
        overlap = math.nan
    background = np.concatenate([_background(plane)[region] for plane, region in zip(stack, manual)])
    return OutlineContrast(overlap=overlap, background_share=float(background.mean()),
                           slices=tuple(int(k) for k in outlined))


def check_outline(image, points_kji, spacing, ijk_to_ras, *, coordinate_system=None, slice_name=None):
    """Check that an outline marks a region of the image; the warnings its image evidence gives.

    Parameters
    ----------
    image : (K, J, I) array_like
        Scalar volume, KJI order.
    points_kji : (N, 3) array_like of float
        The outline in continuous voxel coordinates (k, j, i) of ``image``.
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    ijk_to_ras : (4, 4) array_like
        The image's IJK-to-RAS matrix: the outline's mirror image (x and y negated, what
        the other coordinate system gives) is taken in RAS.
    coordinate_system : {"LPS", "RAS"}, optional
        What the outline's file declared (messages quote positions in it and say which
        value is likely wrong); None for an outline made in Slicer (positions in RAS).
    slice_name : callable, optional
        ``slice_name(k) -> str``: how messages name slice ``k``; default ``"slice k"``.

    Returns
    -------
    list of str
        One-line messages for :class:`~clinicalimaging.errors.InputWarning`: an outline
        hard to tell from its surroundings, in the background, or whose mirror image
        is the better outline. The caller issues them once the segmentation has
        succeeded, so that a failed run says only its error.

    Raises
    ------
    InputError
        Points outside the volume (in mm, with the nearest slice), too few points on a
        slice, an outline without area; a message says when the mirror image would fit.
    """
    image = np.asarray(image)
    points = np.asarray(points_kji, dtype=np.float64)
    slice_name = slice_name or array_slice_name
    matrix = np.asarray(ijk_to_ras, dtype=np.float64)
    well_formed = points.ndim == 2 and points.shape[1:] == (3,)  # else outline_contrast says what is wrong
    mirrored = _mirrored(points, matrix) if well_formed else None
    try:
        if well_formed:
            _check_inside(points, image.shape, spacing, matrix, coordinate_system, slice_name)
        given = outline_contrast(image, points, spacing, slice_name=slice_name)
    except InputError as error:
        mirror = _contrast_if_valid(image, mirrored, spacing)
        if mirror is None or mirror.in_background:  # a mirror image in air is no evidence for the other system
            raise
        evidence = f"its points fit this volume's slices ({_on_slices(mirror.slices, slice_name)})"
        raise InputError(f"{error} {_coordinate_hint(coordinate_system, evidence)}") from None
    return outline_warnings(given, _contrast_if_valid(image, mirrored, spacing), coordinate_system, slice_name)


def outline_warnings(given, mirror, coordinate_system, slice_name):
    """The warnings of :func:`check_outline` from the outline's contrast and its mirror image's.

    Parameters
    ----------
    given : OutlineContrast
        Of the outline (:func:`outline_contrast`).
    mirror : OutlineContrast or None
        Of its mirror image (x and y negated), None where that is not a valid outline.
    coordinate_system : str
        The outline file's ``coordinateSystem``, named in the message.
    slice_name : callable
        Slice index -> how the message names the slice.

    Returns
    -------
    list of str
        One sentence per warning; empty when the outline raises no doubt.
    """
    usable = mirror is not None and not mirror.in_background and not math.isnan(mirror.overlap)
    gain = usable and given.overlap - mirror.overlap >= MIRROR_GAIN
    coordinates_wrong = gain or (usable and given.in_background and not mirror.indistinct)
    if not (given.in_background or given.indistinct or gain):
        return []
    where = _on_slices(given.slices, slice_name)
    if given.in_background:
        finding = (f"The outline {where} lies mostly outside the body: {given.background_share:.0%} of the region "
                   "it encloses is background (air, no signal).")
    elif given.indistinct:
        finding = (f"The region inside the outline {where} is hard to tell from its surroundings: their intensity "
                   f"distributions overlap {given.overlap:.0%}.")
    else:
        finding = (f"The region inside the outline {where} stands out much less from its surroundings (intensity "
                   f"overlap {given.overlap:.0%}) than its mirror image does ({mirror.overlap:.0%}).")
    if coordinates_wrong:
        evidence = f"it encloses a distinct region {_on_slices(mirror.slices, slice_name)}"
        return [f"{finding} {_coordinate_hint(coordinate_system, evidence)}"]
    if given.in_background:
        return [f"{finding} Check that the outline belongs to this volume."]
    return [f"{finding} Check that the outline is on the lesion; where the result leaks, add scribbles."]


def _coordinate_hint(coordinate_system, evidence):
    """The sentence that blames the coordinate system, with its ``evidence`` for the mirror image."""
    if coordinate_system in ("LPS", "RAS"):
        other = "RAS" if coordinate_system == "LPS" else "LPS"
        return (f'The outline file\'s coordinate system is likely wrong: it says "coordinateSystem": '
                f'"{coordinate_system}", but read as {other} (x and y negated) {evidence}; correct '
                '"coordinateSystem" in the file.')
    return ("The outline's coordinate system is likely wrong: with x and y negated (LPS taken for RAS or the "
            f"reverse) {evidence}; check how the outline was made or imported.")


def _check_inside(points, shape, spacing, ijk_to_ras, coordinate_system, slice_name):
    """Refuse outline points outside the volume of ``shape``, said in mm with how far out and the nearest slice."""
    shape = np.array(shape)
    beyond = np.maximum(-0.5 - points, points - (shape - 0.5))  # voxels past the volume's faces, per axis
    outside = np.flatnonzero(np.any(beyond > 0, axis=1))
    if not outside.size:
        return
    system = coordinate_system or "RAS"  # an outline made in Slicer: RAS, as Slicer shows it
    positions = _world(points, ijk_to_ras) * ([-1.0, -1.0, 1.0] if system == "LPS" else 1.0)
    details = []
    for index in outside[:LISTED_POINTS]:
        distance = float(np.linalg.norm(np.maximum(beyond[index], 0.0) * spacing))  # the axes are orthogonal
        nearest = int(np.clip(np.floor(points[index, 0] + 0.5), 0, shape[0] - 1))
        position = ", ".join(f"{value:.1f}" for value in positions[index])
        details.append(f"point {index + 1} at {system} ({position}) mm lies {distance:.1f} mm outside, nearest "
                       f"{slice_name(nearest)}")
    more = f" and {outside.size - LISTED_POINTS} more" if outside.size > LISTED_POINTS else ""
    raise InputError(f"{outside.size} of {len(points)} outline points lie outside the image volume: "
                     f"{'; '.join(details)}{more}. Check that the outline belongs to this volume.")


def _contrast_if_valid(image, points, spacing):
    """:func:`outline_contrast` of points that make a valid outline on the image, else None."""
    if points is None:
        return None
    try:
        return outline_contrast(image, points, spacing)
    except InputError:
        return None


def _world(points, ijk_to_ras):
    """RAS positions in mm of continuous (k, j, i) voxel coordinates."""
    return (ijk_to_ras @ np.c_[points[:, ::-1], np.ones(len(points))].T).T[:, :3]


def _mirrored(points, ijk_to_ras):
    """The voxel coordinates of the outline with x and y negated: what the other coordinate system would give."""
    world = _world(points, ijk_to_ras) * [-1.0, -1.0, 1.0]
    voxels = (np.linalg.inv(ijk_to_ras) @ np.c_[world, np.ones(len(world))].T).T[:, :3]
    return voxels[:, ::-1]


def _on_slices(ks, slice_name):
    """``"on slice 16"`` or ``"on slice 12, slice 16"``."""
    return "on " + ", ".join(slice_name(k) for k in ks)


def _background(plane):
    """A slice's background: its dark class connected to the slice's edge (all False when that is not most of it).

    A constant slice has no dark class, hence no background.
    """
    if plane.min() == plane.max():
        return np.zeros(plane.shape, bool)
    otsu = sitk.OtsuThresholdImageFilter()
    otsu.Execute(sitk.GetImageFromArray(plane))
    labels, _ = ndimage.label(plane <= otsu.GetThreshold())
    edge = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    background = np.isin(labels, np.unique(edge[edge > 0]))
    edge_background = np.concatenate([background[0], background[-1], background[:, 0], background[:, -1]])
    return background if edge_background.mean() >= BORDER_SHARE else np.zeros(plane.shape, bool)
