"""The self-paced segmentation against its own stages and "Grow from seeds", from a simulated clinician's outline.

A reference lesion mask stands in for the clinician: :func:`simulate_outline` places
about 12 points on the lesion's boundary on its largest axial slice, and every method
of :func:`compare_segmentations` gets those same points. Each result is measured
against the whole reference mask (all slices) with Dice and HD95
(:mod:`clinicalimaging.metrics`).

Arrays are in KJI order (``array[k, j, i]``), spacing in mm in the same order,
points in continuous voxel coordinates ``(k, j, i)``.
"""

import math
import time

import numpy as np

from ..errors import InputError
from ..metrics import dice, hausdorff_95
from ..preprocess import array_slice_name, refine_lesion_mask
from ..progress import report, subrange
from ..text_tables import format_rows
from ..validation import as_binary_mask, as_scalar_volume, check_spacing
from .grow_from_seeds import growcut_segment
from .core import segment_lesion
from .parameters import SegmentParameters

#: Step in px along each ray of :func:`simulate_outline` at which the lesion is sampled.
_RAY_STEP_PX = 0.05
#: Fraction of its progress at which :func:`~.core.segment_lesion` has finished the level set.
_LEVEL_SET_DONE = 0.25
#: Columns of :func:`format_segmentation_table`: row key, header, width, number format.
_SEGMENTATION_COLUMNS = (
    ("dice", "Dice", 8, ".3f"),
    ("hd95_mm", "HD95 (mm)", 11, ".2f"),
    ("seconds", "time (s)", 10, ".2f"),
)


def simulate_outline(lesion_mask, *, count=12, seed=0, slices=1, slice_name=None):
    """Outline points a clinician might click around a lesion on its largest axial slice (and a few more).

    On each chosen slice ``k``, ``count`` rays leave the lesion's centroid on that
    slice at evenly spaced angles (the first at an angle drawn from ``seed``, the
    others every ``360 / count`` degrees). Each point is where its ray leaves the
    farthest lesion pixel it passes: the exit through that pixel's edge, so the point
    lies on the lesion's boundary. Taking the farthest crossing makes every point a
    point of the outer boundary for a non-convex lesion (a ray that leaves the lesion
    through a concavity and re-enters it further out ends on the far side), and works
    when the centroid falls outside the lesion. A lesion cut by the image edge gets
    points on that edge. A ray that meets no lesion pixel (possible only for a lesion
    in pieces) gives no point.

    Parameters
    ----------
    lesion_mask : (K, J, I) or (J, I) array_like
        Non-zero inside the lesion.
    count : int
        Number of rays (points) per slice, at least 3.
    seed : int
        Seed of the starting angle.
    slices : int
        Number of outlined slices, at least 1: the largest slice (most lesion pixels)
        and the others of :func:`outlined_slices`, spread over the lesion's extent as
        a clinician outlining a few representative slices would.
    slice_name : callable, optional
        ``slice_name(k) -> str``: how messages name slice ``k``; default ``"slice k"``.

    Returns
    -------
    points : (N, 3) ndarray of float64
        Continuous voxel coordinates (k, j, i), slice by slice, in order of angle on
        each (a closed outline per slice), each with an integer ``k``;
        ``N <= count * slices``.

    Raises
    ------
    InputError
        An empty mask, ``count < 3``, ``slices < 1``, or fewer than 3 rays meeting
        the lesion on a chosen slice.
    """
    mask = as_binary_mask(lesion_mask, name="lesion mask")
    if not (isinstance(count, (int, np.integer)) and count >= 3):
        raise InputError(f"An outline needs at least 3 points; got count={count!r}.")
    if mask.ndim == 2:
        mask = mask[np.newaxis]
    offset = np.random.default_rng(seed).uniform(0.0, 2.0 * math.pi / count)
    slice_name = slice_name or array_slice_name
    points = [_outline_slice(mask[k], k, count, offset, slice_name(k)) for k in outlined_slices(mask, slices)]
    # A lesion cut by the image edge: keep the points on the edge, not a rounding error beyond it.
    return np.clip(np.concatenate(points), -0.5, np.array(mask.shape) - 0.5)


def outlined_slices(lesion_mask, slices=1):
    """The slices a simulated clinician outlines: the largest, then others spread over the lesion.

    The lesion's slices from first to last are cut into ``slices`` + 1 equal steps;
    each inner step's nearest lesion slice is outlined, the one nearest the largest
    slice being replaced by the largest slice itself.

    Parameters
    ----------
    lesion_mask : (K, J, I) ndarray of bool
    slices : int
        At least 1; fewer are returned when the lesion has fewer slices.

    Returns
    -------
    list of int
        Slice indices ``k``, ascending, without repeats.
    """
    if not (isinstance(slices, (int, np.integer)) and slices >= 1):
        raise InputError(f"At least one slice must be outlined; got slices={slices!r}.")
    areas = lesion_mask.sum(axis=(1, 2))
    present = np.flatnonzero(areas)
    if not present.size:
        raise InputError("The lesion mask is empty: there is no lesion to outline. Check the label value.")
    largest = int(np.argmax(areas))
    targets = np.linspace(present[0], present[-1], slices + 2)[1:-1]
    chosen = [int(present[np.argmin(np.abs(present - target))]) for target in targets]
    chosen[int(np.argmin(np.abs(np.array(chosen) - largest)))] = largest
    return sorted(set(chosen))


def _outline_slice(plane, k, count, offset, name):
    """The ray-exit points (k, j, i) of :func:`simulate_outline` on slice ``k``, ``plane`` (J, I); ``name`` names it."""
    centre = np.argwhere(plane).mean(axis=0)
    steps = np.arange(0.0, float(np.hypot(*plane.shape)), _RAY_STEP_PX)
    points = []
    for angle in offset + 2.0 * math.pi * np.arange(count) / count:
        direction = np.array([math.sin(angle), math.cos(angle)])
        pixels = np.floor(centre + steps[:, np.newaxis] * direction + 0.5).astype(int)
        valid = np.all((pixels >= 0) & (pixels < plane.shape), axis=1)
        hits = np.flatnonzero(valid)[plane[pixels[valid, 0], pixels[valid, 1]]]
        if hits.size:
            points.append((k, *_exit_point(centre, direction, pixels[hits[-1]])))
    if len(points) < 3:
        raise InputError(f"Only {len(points)} of {count} rays from the lesion's centroid on {name} met the "
                         "lesion; it is too scattered to outline.")
    return np.array(points, dtype=np.float64)


def compare_segmentations(image, lesion_mask, spacing, *, points=None, parameters=None, slice_name=None,
                          progress=None):
    """Segment a lesion with every method from one simulated outline and measure each against the reference.

    Rows, in order:

    - ``"preprocessing"``: :func:`clinicalimaging.preprocess.refine_lesion_mask`
      (the outlined slice only);
    - ``"level set"``: the rough level-set mask of the self-paced run
      (``SegmentResult.rough_mask``); its time is the self-paced run's until the level
      set had finished;
    - ``"plain SVM"``: :func:`~.core.segment_lesion` with ``classifier="svm"``;
    - ``"self-paced SVM"``: :func:`~.core.segment_lesion` with ``parameters`` (the default);
    - ``"grow from seeds"``: :func:`~.grow_from_seeds.growcut_segment` (the seeds a user
      would paint: the outline eroded, a shell outside it, a box ±30 mm).

    Parameters
    ----------
    image : (K, J, I) array_like
        Scalar image, KJI order.
    lesion_mask : array_like, the shape of ``image``
        Reference lesion, non-zero inside.
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    points : (N, 3) array_like, optional
        The outline (k, j, i) every method starts from; default
        :func:`simulate_outline` of the reference.
    parameters : SegmentParameters or dict, optional
        Parameters of the self-paced row (default ``SegmentParameters()``); the other
        rows share its margins, disk radius and seed.
    slice_name : callable, optional
        ``slice_name(k) -> str``: how progress and messages name slice ``k``; default
        ``"slice k"``.
    progress : callable, optional
        ``progress(fraction, message)``; may raise :class:`~clinicalimaging.Cancelled`.

    Returns
    -------
    list of dict
        ``{"method", "dice", "hd95_mm", "seconds", "error"}`` per method, ``"error"``
        ``None`` when it ran. A method that returns an empty mask has Dice 0 and HD95
        ``inf``; one that refuses the input (raises :class:`InputError`, e.g. an ROI
        that leaves the level set no room) has Dice and HD95 NaN and its message in
        ``"error"``, and the other methods still run.

    Raises
    ------
    InputError
        Bad image or spacing, a mask of another shape, an empty reference or one
        that cannot be outlined (:func:`simulate_outline`).
    """
    if isinstance(parameters, dict):
        parameters = SegmentParameters.from_dict(parameters)
    parameters = parameters or SegmentParameters()
    volume = as_scalar_volume(image)
    spacing = check_spacing(spacing)
    reference = as_binary_mask(lesion_mask, name="reference lesion mask")
    if reference.shape != volume.shape:
        raise InputError(f"The reference lesion mask (shape {reference.shape}) does not match the image (shape "
                         f"{volume.shape}): resample it onto the image grid first.")
    points = simulate_outline(reference, seed=parameters.seed, slice_name=slice_name) if points is None \
        else np.asarray(points, float)

    level_set_done = []
    default_progress = subrange(progress, 0.45, 0.85)

    def timed_progress(fraction, message):
        if fraction >= _LEVEL_SET_DONE and not level_set_done:
            level_set_done.append(time.perf_counter())
        report(default_progress, fraction, message)

    report(progress, 0.0, "Preprocessing")
    preprocessed = _Run(refine_lesion_mask, volume, points, spacing, margin_px=parameters.roi_padding_px,
                        radius_px=parameters.disk_radius_px, slice_name=slice_name)
    report(progress, 0.05, "Plain SVM")
    plain = _Run(segment_lesion, volume, points, spacing, parameters.replace(classifier="svm"),
                 slice_name=slice_name, progress=subrange(progress, 0.05, 0.45))
    default = _Run(segment_lesion, volume, points, spacing, parameters, slice_name=slice_name,
                   progress=timed_progress)
    report(progress, 0.85, "Grow from seeds")
    grown = _Run(growcut_segment, volume, points, spacing)
    level_set_seconds = level_set_done[0] - default.started if level_set_done else default.seconds
    rows = [
        _row("preprocessing", preprocessed, lambda result: result[0], reference, spacing),
        _row("level set", default, lambda result: result.rough_mask, reference, spacing, seconds=level_set_seconds),
        _row("plain SVM", plain, lambda result: result.mask, reference, spacing),
        _row("self-paced SVM", default, lambda result: result.mask, reference, spacing),
        _row("grow from seeds", grown, lambda result: result, reference, spacing),
    ]
    report(progress, 1.0, "Comparison done")
    return rows


def format_segmentation_table(rows):
    """Rows of :func:`compare_segmentations` as a fixed-width text table (Dice, HD95 in mm, time in s).

    The messages of methods that failed follow the table, one line each.
    """
    failures = [f"{row['method']} failed: {row['error']}" for row in rows if row.get("error")]
    return "\n".join([format_rows(rows, _SEGMENTATION_COLUMNS), *failures])


def _exit_point(centre, direction, pixel):
    """Where the ray ``centre + t * direction`` (t > 0) leaves the square of ``pixel`` (row, column)."""
    exits = [(pixel[axis] + 0.5 * math.copysign(1.0, step) - centre[axis]) / step
             for axis, step in enumerate(direction) if abs(step) > 1e-12]
    return centre + min(exits) * direction


class _Run:
    """One method's run: its result (``None`` when it raised :class:`InputError`), the error and the time taken."""

    def __init__(self, function, *args, **kwargs):
        self.started = time.perf_counter()
        self.result, self.error = None, None
        try:
            self.result = function(*args, **kwargs)
        except InputError as error:
            self.error = str(error)
        self.seconds = time.perf_counter() - self.started


def _row(method, run, get_mask, reference, spacing, *, seconds=None):
    row = {"method": method, "dice": math.nan, "hd95_mm": math.nan,
           "seconds": run.seconds if seconds is None else seconds, "error": run.error}
    if run.error is None:
        mask = np.asarray(get_mask(run.result)) != 0
        row["dice"] = dice(mask, reference)
        row["hd95_mm"] = hausdorff_95(mask, reference, spacing) if mask.any() else math.inf
    return row
