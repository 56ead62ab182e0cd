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

The classic peers (unsharp mask, Laplacian and Tiansi blends, CLAHE) and an
edge-preserving denoiser (curvature anisotropic diffusion: CNR bought by smoothing,
with sharpness falling) filter only the lesion's measured box; the fractional
enhancement, in both modes, filters the whole volume (its grey-level range and
fractal-dimension thresholds are the volume's). Array level.
"""

import dataclasses
import math

import numpy as np

from ..errors import InputError
from ..progress import report, subrange
from .baselines import clahe, constant_order, curvature_anisotropic_diffusion, laplacian_sharpening, unsharp_mask
from .compare import MeasuredLesion, ratio
from .core import fractional_enhance_strengths

#: Sharpness gains at which :func:`sweep_table` reads every curve off (+25 % and +40 %).
READ_OFF_GAINS = (0.25, 0.40)


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
        Method name to its curve: a list of ``(strength, edge sharpness ratio, CNR
        ratio)``, the first ``(0, 1, 1)`` (the original), then one per strength.

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
        curves[name] = [(0.0, 1.0, 1.0)]
        for strength, enhanced in zip(sweep.strengths, results):
            metrics = lesion.measure(enhanced, name)
            curves[name].append((float(strength), ratio(metrics["edge_sharpness"], lesion.original["edge_sharpness"]),
                                 ratio(metrics["cnr"], lesion.original["cnr"])))
    report(progress, 1.0, "Sweep done")
    return curves


def read_off(curve, gain):
    """A curve's CNR ratio where its edge sharpness ratio first reaches ``1 + gain``.

    Linear interpolation between the two consecutive runs that bracket the sharpness;
    NaN when the curve never reaches it.
    """
    target = 1.0 + gain
    for (_, sharp_before, cnr_before), (_, sharp_after, cnr_after) in zip(curve, curve[1:]):
        if sharp_before < target <= sharp_after:
            weight = (target - sharp_before) / (sharp_after - sharp_before)
            return cnr_before + weight * (cnr_after - cnr_before)
    return math.nan


def sweep_table(curves, gains=READ_OFF_GAINS):
    """One row per method: its CNR ratio read off at each sharpness gain, and the largest gain it reaches.

    Returns
    -------
    list of dict
        ``"method"``, ``"cnr_at_+25%"``-style keys (one per gain) and
        ``"max_sharpness_gain"``.
    """
    return [{"method": name, **{_gain_key(gain): read_off(curve, gain) for gain in gains},
             "max_sharpness_gain": max(sharpness for _, sharpness, _ in curve) - 1.0}
            for name, curve in curves.items()]


def format_sweep(curves, gains=READ_OFF_GAINS):
    """The read-off table and every curve's points, as text."""
    header = f"{'method':34}" + "".join(f"{'CNR at ' + _gain_label(gain):>16}" for gain in gains) + \
        f"{'max sharpness':>16}"
    lines = [header]
    for row in sweep_table(curves, gains):
        cells = "".join(f"{'never' if math.isnan(row[_gain_key(gain)]) else format(row[_gain_key(gain)], '.3f'):>16}"
                        for gain in gains)
        lines.append(f"{row['method']:34}{cells}{row['max_sharpness_gain']:>+15.0%} ")
    lines.append("")
    lines.append("curves: strength -> (edge sharpness ratio, CNR ratio)")
    for name, curve in curves.items():
        points = ", ".join(f"{strength:g}: ({sharpness:.3f}, {cnr:.3f})" for strength, sharpness, cnr in curve[1:])
        lines.append(f"  {name} [{SWEEPS[name].strength_name}]: {points}")
    return "\n".join(lines)


def sweep_figure(curves, *, title=None, gains=READ_OFF_GAINS):
    """The curves in one figure: edge sharpness ratio across, CNR ratio up, one line per method.

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

    figure = Figure(figsize=(8.0, 6.0), dpi=120)
    axes = figure.add_subplot()
    for name, curve in curves.items():
        _, sharpness, cnr = zip(*curve)
        ours = name.startswith("FractionalEnhance")
        axes.plot(sharpness, cnr, "-" if ours else "--", marker="o", markersize=3, linewidth=2.0 if ours else 1.2,
                  label=f"{name} ({SWEEPS[name].strength_name} {curve[1][0]:g}-{curve[-1][0]:g})")
    for gain in gains:
        axes.axvline(1.0 + gain, color="0.6", linewidth=0.8, linestyle=":")
    axes.axhline(1.0, color="0.6", linewidth=0.8)
    axes.plot([1.0], [1.0], "ks", label="original")
    axes.set_xlabel("edge sharpness / original's (right: sharper)")
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
