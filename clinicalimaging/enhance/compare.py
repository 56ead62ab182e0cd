"""The fractional enhancement side by side with established methods, measured on one lesion.

Every method gets the same image and every row is measured on the same regions
(:func:`~clinicalimaging.metrics.lesion_regions` of the lesion mask), so the
numbers compare methods, not regions. Rows, in order: the original, the
baselines of :data:`~.baselines.BASELINES`, the paper's mode and the adaptive
(default) mode of :func:`~.core.fractional_enhance`.

The metrics read only the lesion's :func:`~clinicalimaging.metrics.measured_box`
(its slices, and in-plane its background ring), so the baselines filter only that
box (each with the halo its filter needs) and the cost of both follows the lesion,
not the volume. The fractional runs filter the whole volume: their grey-level
range and, in adaptive mode, their fractal-dimension thresholds are the volume's.
Node level: :func:`clinicalimaging.enhance.nodes.comparison_table`.

The background ring is the whole ring unless ``ring_range`` limits it;
:func:`default_ring_range` gives the command line's default, the soft-tissue ring
on a CT.
"""

import dataclasses
import math

import numpy as np

from ..metrics import enhancement_metrics, lesion_regions, limit_background, measured_box
from ..progress import report, subrange
from ..text_tables import format_rows
from ..validation import as_scalar_volume, check_spacing, on_image_grid
from .baselines import BASELINES
from .core import fractional_enhance
from .order_map import CT_AIR_HU, holds_air_in_hu
from .parameters import EnhanceParameters

#: Columns of :func:`format_table`: row key, header, width, number format.
_TEXT_COLUMNS = (
    ("cnr", "CNR", 9, ".3f"),
    ("cnr_ratio", "CNR ratio", 10, ".3f"),
    ("cnr_pooled", "pooled CNR", 11, ".3f"),
    ("noise_std", "noise std", 11, ".4g"),
    ("edge_sharpness", "edge sharpness (1/mm)", 22, ".4f"),
)
# Share of the progress bar taken by the baselines; the two fractional runs split the rest.
_BASELINE_SHARE = 0.2
#: Least share of the original's lesion contrast (lesion mean - ring mean) a result keeps for its edge sharpness,
#: which divides by that contrast, to describe the edge: below half, the division alone at least doubles it.
CONTRAST_KEPT = 0.5
#: The background ring's soft-tissue window on a CT, in HU: without air, bone and most fat.
CT_RING_RANGE = (-150.0, 250.0)
#: Least share of the ring's voxels the soft-tissue window keeps for it to be a CT's default; a lesion surrounded by
#: other tissue (e.g. lung) keeps its whole ring.
CT_RING_SHARE = 0.5


def compare_enhancements(image, lesion_mask, spacing, *, parameters=None, ring_range=None, progress=None):
    """Enhance ``image`` with every method and measure each result on the lesion.

    Parameters
    ----------
    image : (K, J, I) or (J, I) array
        Grey values.
    lesion_mask : array of the shape of ``image``
        Non-zero inside the lesion.
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    parameters : EnhanceParameters or dict, optional
        Parameters of the fractional enhancement (default ``EnhanceParameters()``);
        the "paper mode" row uses them with ``mode="paper"``, the "default mode"
        row with ``mode="adaptive"``.
    ring_range : (float, float), optional
        Measure the background ring only on voxels whose original grey value lies
        in this range (:func:`~clinicalimaging.metrics.limit_background`; for CT
        :data:`CT_RING_RANGE`, which :func:`default_ring_range` chooses on a CT).
        Default: the whole ring.
    progress : callable, optional
        ``progress(fraction, message)``, at least once per slice of every
        baseline; may raise :class:`~clinicalimaging.Cancelled`.

    Returns
    -------
    list of dict
        One row per method: ``"method"`` (display name), the keys of
        :func:`~clinicalimaging.metrics.enhancement_metrics` and ``"cnr_ratio"``,
        the row's CNR divided by the original's (1 for the original; NaN when
        the original's CNR is 0 or infinite).

    Raises
    ------
    InputError
        Bad image, mask or spacing, or a lesion without a background ring.
    RuntimeError
        A method returned NaN or infinite voxels around the lesion (the image
        has none): a fault of that method, named in the message.
    """
    lesion = MeasuredLesion.of(image, lesion_mask, spacing, parameters, ring_range=ring_range)
    volume, spacing, box = lesion.volume, lesion.spacing, lesion.box
    rows = [_row("original", lesion.original, lesion.original)]

    share = _BASELINE_SHARE / len(BASELINES)
    for index, (name, baseline) in enumerate(BASELINES.items()):
        report(progress, index * share, f"Baseline: {name}")
        enhanced = baseline(volume, spacing, region=box, progress=subrange(progress, index * share,
                                                                            (index + 1) * share))
        rows.append(_row(name, lesion.measure(enhanced, name), lesion.original))

    fractional_runs = (("paper mode", lesion.parameters.replace(mode="paper")),
                       ("default mode", lesion.parameters.replace(mode="adaptive")))
    share = (1.0 - _BASELINE_SHARE) / len(fractional_runs)
    for index, (name, run_parameters) in enumerate(fractional_runs):
        start = _BASELINE_SHARE + index * share
        result = fractional_enhance(volume, spacing, run_parameters, progress=subrange(progress, start, start + share))
        rows.append(_row(name, lesion.measure(result.enhanced[box], name), lesion.original))
    report(progress, 1.0, "Comparison done")
    return rows


def default_ring_range(image, lesion_mask, spacing):
    """The background ring to measure when none is asked for: soft tissue on a CT, else the whole ring.

    A CT in HU holds air: its minimum grey value is at or below
    :data:`~.order_map.CT_AIR_HU` (air is -1000 HU, padding outside the scan lower
    still), which MR, PET and CT not rescaled to HU never reach. On a CT the ring
    around an organ also holds air, fat and bone, whose spread is not noise, so the
    ring keeps only :data:`CT_RING_RANGE`, unless that leaves less than
    :data:`CT_RING_SHARE` of it.

    Parameters
    ----------
    image, lesion_mask, spacing
        As for :func:`compare_enhancements`.

    Returns
    -------
    ring_range : (float, float) or None
        ``ring_range`` for :func:`compare_enhancements` and
        :func:`~.sweep.sweep_enhancements`; None for the whole ring.
    reason : str
        Which ring and why, in one line.

    Raises
    ------
    InputError
        As for :func:`compare_enhancements`.
    """
    lesion = MeasuredLesion.of(image, lesion_mask, spacing)
    minimum = float(lesion.volume.min())
    if not holds_air_in_hu(minimum):
        return None, f"whole (not a CT in HU: the image's minimum {minimum:g} is above {CT_AIR_HU:g})"
    low, high = CT_RING_RANGE
    ring = lesion.volume[lesion.box][lesion.regions.background]
    share = np.count_nonzero((ring >= low) & (ring <= high)) / ring.size
    window = f"soft tissue {low:g}..{high:g} HU"
    if share < CT_RING_SHARE:
        return None, f"whole (a CT, but only {share:.0%} of the ring is {window})"
    return CT_RING_RANGE, f"{window}, {share:.0%} of the ring (a CT: the image reaches {minimum:g} HU)"


@dataclasses.dataclass(frozen=True)
class MeasuredLesion:
    """The checked inputs of a comparison and the original's metrics on the lesion's measured box."""

    parameters: EnhanceParameters
    volume: np.ndarray
    spacing: tuple
    box: tuple
    """The lesion's :func:`~clinicalimaging.metrics.measured_box`: where every method is measured."""
    mask: np.ndarray
    """The lesion mask on the box."""
    regions: object
    original: dict
    """:func:`~clinicalimaging.metrics.enhancement_metrics` of the original."""

    @classmethod
    def of(cls, image, lesion_mask, spacing, parameters=None, *, ring_range=None):
        """Check the inputs (as :func:`compare_enhancements` documents) and measure the original."""
        if isinstance(parameters, dict):
            parameters = EnhanceParameters.from_dict(parameters)
        volume = as_scalar_volume(image, name="image")
        mask = on_image_grid(lesion_mask, volume.shape, name="lesion mask",
                             hint="resample the mask onto the image grid first.")
        spacing = tuple(check_spacing(spacing))
        box = measured_box(mask)
        mask = mask[box]
        regions = lesion_regions(mask, spacing)
        if ring_range is not None:
            regions = limit_background(regions, volume[box], ring_range)
        return cls(parameters or EnhanceParameters(), volume, spacing, box, mask, regions,
                   enhancement_metrics(volume[box], mask, spacing, regions=regions))

    def measure(self, enhanced_box, method):
        """The metrics of a method's result on the box (checked finite, so a failing method is named)."""
        return enhancement_metrics(finite(enhanced_box, method), self.mask, self.spacing, regions=self.regions)


def format_table(rows):
    """The main columns of :func:`compare_enhancements` rows as a fixed-width text table.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`compare_enhancements`, the original's first.

    Returns
    -------
    str
        A header line and one line per method, then, when a method keeps less
        than :data:`CONTRAST_KEPT` of the original's lesion contrast, one line
        naming those methods; without a trailing newline.
    """
    lost = [f"{row['method']} {contrast:.4g}x" for row in rows[1:]
            if not (contrast := contrast_ratio(row, rows[0])) >= CONTRAST_KEPT]
    note = [f"contrast lost (below {CONTRAST_KEPT:.0%} of the original's lesion contrast, which edge sharpness "
            f"divides by): {', '.join(lost)}"] if lost else []
    return "\n".join([format_rows(rows, _TEXT_COLUMNS), *note])


def contrast_ratio(metrics, original):
    """A result's lesion contrast over the original's.

    Parameters
    ----------
    metrics, original : dict
        :func:`~clinicalimaging.metrics.enhancement_metrics` (or rows of
        :func:`compare_enhancements`) of the result and of the original.

    Returns
    -------
    float
        ``(lesion mean - ring mean)`` of the result over the original's: 1 for the
        same contrast, negative when the result inverts it, NaN when the original
        has none.
    """
    reference = original["lesion_mean"] - original["background_mean"]
    return ratio((metrics["lesion_mean"] - metrics["background_mean"]) * math.copysign(1.0, reference),
                 abs(reference))


def finite(enhanced, method):
    """``enhanced`` after checking it is finite, so that a failing method is named, not blamed on the image."""
    bad = np.count_nonzero(~np.isfinite(enhanced))
    if bad:
        raise RuntimeError(f"The {method} result has {bad} NaN or infinite voxel(s) around the lesion although "
                           "the image has none: that method failed on this image.")
    return enhanced


def ratio(value, reference):
    """``value / reference``; NaN when the reference is 0 or infinite."""
    return value / reference if 0 < reference < math.inf else math.nan


def _row(method, metrics, original):
    return {"method": method, "cnr": metrics["cnr"], "cnr_ratio": ratio(metrics["cnr"], original["cnr"]),
            **{key: value for key, value in metrics.items() if key != "cnr"}}
