"""Every method over its strength: the trade-off between edge sharpness and contrast-to-noise ratio.

One setting per method says little: a stronger sharpening raises the edge sharpness and
lowers the CNR (it amplifies noise too), a smoother result does the opposite. The fair
question is how much CNR a method keeps *at the same sharpness gain*. Each method of
:data:`SWEEPS` therefore runs over a range of strengths; every run is measured like
:func:`~.compare.compare_enhancements` does (the same regions of the lesion), and gives
one point ``(edge sharpness ratio, CNR ratio)`` to the original. Joined in order of
strength, the points make the method's curve, which starts at ``(1, 1)`` (strength 0
is the original). :func:`read_off` reads a curve at a sharpness gain by linear
interpolation between the two runs that bracket it.

The sharpness ratio divides by the enhanced lesion's contrast (lesion mean minus ring
mean). A run that leaves less than :data:`~.compare.CONTRAST_KEPT` of the original's contrast
(or inverts it) has a sharpness ratio made mostly by that division, up to thousands,
so it is *contrast-lost* (:attr:`SweepPoint.contrast_lost`): left off its curve, the
read-off and the largest sharpness gain, listed as such in :func:`format_sweep` and
drawn apart by :func:`sweep_figure`.

The classic peers (unsharp mask, Laplacian and Tiansi blends, CLAHE) and an
edge-preserving denoiser (curvature anisotropic diffusion: CNR bought by smoothing,
with sharpness falling) filter only the lesion's measured box; the fractional
enhancement, in both modes, filters the whole volume (its grey-level range and
fractal-dimension thresholds are the volume's). Array level.
"""

import dataclasses
import math
import typing

import numpy as np

from ..errors import InputError
from ..progress import report, subrange
from .baselines import clahe, constant_order, curvature_anisotropic_diffusion, laplacian_sharpening, unsharp_mask
from .compare import CONTRAST_KEPT, MeasuredLesion, contrast_ratio, ratio
from .core import fractional_enhance_strengths

#: Sharpness gains at which :func:`sweep_table` reads every curve off (+25 % and +40 %).
READ_OFF_GAINS = (0.25, 0.40)
#: Right end of the plot's sharpness axis (twice the original's sharpness), so that the curves stay apart around
#: the read-off gains; runs beyond it are counted in the figure.
PLOT_MAX_SHARPNESS = 2.0


class SweepPoint(typing.NamedTuple):
    """One run of a sweep, measured on the lesion as a ratio to the original."""

    strength: float
    """The method's strength (0 for the original)."""
    sharpness: float
    """Edge sharpness / the original's."""
    cnr: float
    """CNR / the original's."""
    contrast: float
    """Lesion contrast (lesion mean - ring mean) / the original's; negative when the lesion's contrast is inverted."""

    @property
    def contrast_lost(self):
        """Whether the run keeps less than :data:`~.compare.CONTRAST_KEPT` of the original's contrast (or NaN)."""
        return not self.contrast >= CONTRAST_KEPT


def _blended(baseline):
    """``image + weight (baseline(image) - image)`` on the box: a fixed filter made a family (filtered once)."""
    def run(volume, spacing, weights, box, parameters, progress):
        original = volume[box].astype(np.float64)
        filtered = baseline(volume, spacing, region=box, progress=progress)
        return [original + weight * (filtered - original) for weight in weights]
    return run


def _each(run_one):
    """A family whose every strength is its own run."""
    def run(volume, spacing, strengths, box, parameters, progress):
        return [run_one(volume, spacing, strength, box, subrange(progress, index / len(strengths),
                                                                 (index + 1) / len(strengths)))
                for index, strength in enumerate(strengths)]
    return run


def _unsharp(volume, spacing, amount, box, progress):
    return unsharp_mask(volume, spacing, amount=amount, region=box, progress=progress)


def _diffusion(volume, spacing, iterations, box, progress):
    return curvature_anisotropic_diffusion(volume, spacing, iterations=int(iterations), region=box, progress=progress)


def _fractional(mode):
    """The fractional enhancement of ``mode``: one order map and mask response serve every strength."""
    def run(volume, spacing, strengths, box, parameters, progress):
        return fractional_enhance_strengths(volume, spacing, parameters.replace(mode=mode), strengths, region=box,
                                            progress=progress)
    return run


@dataclasses.dataclass(frozen=True)
class Sweep:
    """One method's family: the name of its strength, the strengths run, and the run.

    ``run(volume, spacing, strengths, box, parameters, progress)`` returns the enhanced box for each strength.
    """

    strength_name: str
    strengths: tuple
    run: object


#: The methods and their strengths, in the order of the table and the plot. A filter of fixed strength (Laplacian
#: sharpening, the Tiansi mask, CLAHE with SimpleITK's defaults) is blended with the original.
SWEEPS = {
    "unsharp mask": Sweep("amount", (0.25, 0.5, 1.0, 1.5, 2.0, 3.0), _each(_unsharp)),
    "Laplacian (blended)": Sweep("weight", (0.1, 0.2, 0.4, 0.6, 0.8, 1.0), _blended(laplacian_sharpening)),
    "Tiansi ν=0.5 (blended)": Sweep("weight", (0.25, 0.5, 1.0, 1.5, 2.0, 3.0), _blended(constant_order)),
    "CLAHE (blended)": Sweep("weight", (0.05, 0.1, 0.2, 0.4, 0.7, 1.0), _blended(clahe)),
    "curvature anisotropic diffusion": Sweep("iterations", (1, 2, 4, 8), _each(_diffusion)),
    "FractionalEnhance, paper mode": Sweep("strength", (0.05, 0.1, 0.2, 0.5, 1.0, 2.0), _fractional("paper")),
    "FractionalEnhance (default)": Sweep("strength", (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0), _fractional("adaptive")),
}


def sweep_enhancements(image, lesion_mask, spacing, *, parameters=None, methods=None, ring_range=None,
                       progress=None):
    """Run every method of :data:`SWEEPS` over its strengths and measure each run on the lesion.

    Parameters
    ----------
    image : (K, J, I) array
        Grey values.
    lesion_mask : array of the shape of ``image``
        Non-zero inside the lesion.
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    parameters : EnhanceParameters or dict, optional
        Parameters of the fractional runs (their ``mode`` and ``strength`` are swept).
    methods : sequence of str, optional
        Keys of :data:`SWEEPS` to run (default: all).
    ring_range : (float, float), optional
        As for :func:`~.compare.compare_enhancements`.
    progress : callable, optional
        ``progress(fraction, message)``; may raise :class:`~clinicalimaging.Cancelled`.

    Returns
    -------
    dict
        Method name to its curve: a list of :class:`SweepPoint`, the first
        ``(0, 1, 1, 1)`` (the original), then one per strength.

    Raises
    ------
    InputError
        Bad image, mask, spacing or method name, or a lesion without a background ring.
    """
    methods = list(SWEEPS if methods is None else methods)
    unknown = [name for name in methods if name not in SWEEPS]
    if unknown:
        raise InputError(f"Unknown method(s) {unknown}; choose among {', '.join(SWEEPS)}.")
    lesion = MeasuredLesion.of(image, lesion_mask, spacing, parameters, ring_range=ring_range)
    curves = {}
    for index, name in enumerate(methods):
        report(progress, index / len(methods), name)
        sweep = SWEEPS[name]
        results = sweep.run(lesion.volume, lesion.spacing, sweep.strengths, lesion.box, lesion.parameters,
                            subrange(progress, index / len(methods), (index + 1) / len(methods)))
        curves[name] = [SweepPoint(0.0, 1.0, 1.0, 1.0)]
        for strength, enhanced in zip(sweep.strengths, results):
            metrics = lesion.measure(enhanced, name)
            curves[name].append(SweepPoint(
                float(strength), ratio(metrics["edge_sharpness"], lesion.original["edge_sharpness"]),
                ratio(metrics["cnr"], lesion.original["cnr"]), contrast_ratio(metrics, lesion.original)))
    report(progress, 1.0, "Sweep done")
    return curves


def read_off(curve, gain):
    """A curve's CNR ratio where its edge sharpness ratio first reaches ``1 + gain``.

    Linear interpolation between the two consecutive runs that bracket the sharpness,
    both keeping the lesion's contrast; NaN when the curve never gets there so.

    Parameters
    ----------
    curve : list of SweepPoint
        One curve of :func:`sweep_enhancements`.
    gain : float
        Sharpness gain (0.25: +25 %).

    Returns
    -------
    float
        CNR ratio to the original's.
    """
    target = 1.0 + gain
    for before, after in zip(curve, curve[1:]):
        if not (before.contrast_lost or after.contrast_lost) and before.sharpness < target <= after.sharpness:
            weight = (target - before.sharpness) / (after.sharpness - before.sharpness)
            return before.cnr + weight * (after.cnr - before.cnr)
    return math.nan


def sweep_table(curves, gains=READ_OFF_GAINS):
    """One row per method: its CNR ratio read off at each sharpness gain, the largest gain and the lost runs.

    Returns
    -------
    list of dict
        ``"method"``, ``"cnr_at_+25%"``-style keys (one per gain),
        ``"max_sharpness_gain"`` (over the runs that keep the contrast; 0.25: +25 %)
        and ``"contrast_lost_runs"`` (how many runs lost it).
    """
    return [{"method": name, **{_gain_key(gain): read_off(curve, gain) for gain in gains},
             "max_sharpness_gain": max(point.sharpness for point in curve if not point.contrast_lost) - 1.0,
             "contrast_lost_runs": sum(point.contrast_lost for point in curve)}
            for name, curve in curves.items()]


def format_sweep(curves, gains=READ_OFF_GAINS):
    """The read-off table and every curve's points, contrast-lost runs marked, as text."""
    header = f"{'method':34}" + "".join(f"{'CNR at ' + _gain_label(gain):>16}" for gain in gains) + \
        f"{'max sharpness':>16}{'contrast lost':>16}"
    lines = [header]
    for row, curve in zip(sweep_table(curves, gains), curves.values()):
        cells = "".join(f"{'never' if math.isnan(row[_gain_key(gain)]) else format(row[_gain_key(gain)], '.3f'):>16}"
                        for gain in gains)
        lost = f"{row['contrast_lost_runs']} of {len(curve) - 1}" if row["contrast_lost_runs"] else "none"
        lines.append(f"{row['method']:34}{cells}{row['max_sharpness_gain']:>+15.0%} {lost:>16}")
    lines.append("")
    lines.append("curves: strength -> (edge sharpness ratio, CNR ratio)")
    for name, curve in curves.items():
        points = ", ".join(f"{point.strength:g}: ({point.sharpness:.3f}, {point.cnr:.3f}"
                           + (f"; contrast lost, {point.contrast:.4g}x)" if point.contrast_lost else ")")
                           for point in curve[1:])
        lines.append(f"  {name} [{SWEEPS[name].strength_name}]: {points}")
    if any(point.contrast_lost for curve in curves.values() for point in curve):
        lines.append(f"contrast lost: the run keeps less than {CONTRAST_KEPT:.0%} of the original's lesion contrast "
                     "(lesion mean - ring mean), which the sharpness ratio divides by; it is left out of the "
                     "read-off, the max sharpness and the plot's curves.")
    return "\n".join(lines)


def sweep_figure(curves, *, title=None, gains=READ_OFF_GAINS):
    """The curves in one figure: edge sharpness ratio across, CNR ratio up, one line per method.

    The sharpness axis ends at the sharpest run, at most :data:`PLOT_MAX_SHARPNESS`
    and never short of the largest read-off gain; the x axis label says how many runs
    lie beyond it. Contrast-lost runs (:attr:`SweepPoint.contrast_lost`) break their
    curve and are drawn as crosses where they fall on the axes.

    Parameters
    ----------
    curves : dict
        Output of :func:`sweep_enhancements`.
    title : str, optional
    gains : sequence of float
        Sharpness gains marked by vertical lines.

    Returns
    -------
    matplotlib.figure.Figure
        Save it with ``figure.savefig(path)``.
    """
    from matplotlib.figure import Figure  # no pyplot: no global backend, safe inside Slicer

    points = [point for curve in curves.values() for point in curve
              if math.isfinite(point.sharpness) and math.isfinite(point.cnr)]
    right = max(1.0 + max(gains), min(PLOT_MAX_SHARPNESS, max(point.sharpness for point in points)))
    left = min(point.sharpness for point in points)
    shown = [point for point in points if point.sharpness <= right]
    bottom, top = min(point.cnr for point in shown), max(point.cnr for point in shown)
    margin_x, margin_y = 0.04 * (right - left), 0.04 * max(top - bottom, 0.1)

    figure = Figure(figsize=(8.0, 6.0), dpi=120)
    axes = figure.add_subplot()
    for name, curve in curves.items():
        kept = [(math.nan, math.nan) if point.contrast_lost else (point.sharpness, point.cnr) for point in curve]
        ours = name.startswith("FractionalEnhance")
        line, = axes.plot(*zip(*kept), "-" if ours else "--", marker="o", markersize=3,
                          linewidth=2.0 if ours else 1.2,
                          label=f"{name} ({SWEEPS[name].strength_name} {curve[1].strength:g}-{curve[-1].strength:g})")
        lost = [(point.sharpness, point.cnr) for point in curve if point.contrast_lost]
        if lost:
            axes.plot(*zip(*lost), linestyle="none", marker="x", markersize=6, color=line.get_color(),
                      label="_contrast lost")
    for gain in gains:
        axes.axvline(1.0 + gain, color="0.6", linewidth=0.8, linestyle=":")
    axes.axhline(1.0, color="0.6", linewidth=0.8)
    axes.plot([1.0], [1.0], "ks", label="original")
    lost_runs = sum(point.contrast_lost for curve in curves.values() for point in curve)
    if lost_runs:
        axes.plot([], [], linestyle="none", marker="x", color="0.3",
                  label=f"contrast lost (< {CONTRAST_KEPT:.0%} of the original's): off the curve")
    axes.set_xlim(left - margin_x, right + margin_x)
    axes.set_ylim(bottom - margin_y, top + margin_y)
    beyond = [point for curve in curves.values() for point in curve if point.sharpness > right]
    notes = []
    if beyond:
        notes.append(f"{len(beyond)} run(s) beyond {right:.3g}x sharpness off the axes (up to "
                     f"{max(point.sharpness for point in beyond):.4g}x; see the printed curves)")
    if lost_runs:
        notes.append(f"{lost_runs} contrast-lost run(s) left off the curves")
    axes.set_xlabel("\n".join(["edge sharpness / original's (right: sharper)", *notes]))
    axes.set_ylabel("CNR / original's (up: less noise for the same contrast)")
    axes.set_title(title or "Edge sharpness against CNR, each method over its strength")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=7, loc="best")
    figure.tight_layout()
    return figure


def _gain_key(gain):
    return f"cnr_at_{_gain_label(gain)}"


def _gain_label(gain):
    return f"+{round(100 * gain)}%"
