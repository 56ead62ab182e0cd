"""The enhancement trade-off table: every sample case and phantom, every method over its strength.

For each case, :func:`clinicalimaging.enhance.sweep.sweep_enhancements` runs every method
of the strength sweep and reads each curve off at +25 % and +40 % edge sharpness (CNR
ratio to the original's). The script then prints, per case, FractionalEnhance's default
and paper mode against the best classic sharpening peer (unsharp mask, Laplacian,
Tiansi and CLAHE blends) and whether the target holds: CNR ≥ 1.0 × the original's and
≥ the best peer's + 0.05 at +25 %, and a curve that reaches +40 %.

CT cases measure the background ring on soft tissue only (−150…250 HU,
``ring_range``) unless ``--whole-ring``. Cases:

- tune: brain1's tumour, breast1's lesion, the abdominal CT's liver, and the abdominal
  phantoms (:func:`clinicalimaging.phantom.make_phantom`, CT and MR) of seeds 0 and 1;
- check (looked at only after tuning): the whole-scan CT's spleen, right kidney and
  aorta, the abdominal MRI's liver, and the phantoms of seeds 2 and 3.

Not part of the test suite. Usage::

    python Testing/Benchmarks/evaluate_enhancement_cases.py [--split tune|check|all] [--whole-ring]
        [--cases brain1,liver,phantom_ct,...]
"""

import argparse
import math
import statistics

from clinicalimaging.enhance.sweep import READ_OFF_GAINS, sweep_enhancements, sweep_table
from clinicalimaging.phantom import make_phantom
from sample_cases import CT_SAMPLES, sample_case

SPLITS = {
    "tune": (("brain1", "breast1", "liver"), (0, 1)),
    "check": (("spleen", "kidney", "aorta", "liver_mr"), (2, 3)),
}
SPLITS["all"] = (SPLITS["tune"][0] + SPLITS["check"][0], SPLITS["tune"][1] + SPLITS["check"][1])
#: The soft-tissue window of the CT rings, in HU.
CT_RING_RANGE = (-150.0, 250.0)
PEERS = ("unsharp mask", "Laplacian (blended)", "Tiansi ν=0.5 (blended)", "CLAHE (blended)")
OURS = ("FractionalEnhance (default)", "FractionalEnhance, paper mode")
#: Target at +25 % sharpness: CNR ratio at least this, and at least the best peer's plus the margin.
TARGET_CNR, TARGET_MARGIN = 1.0, 0.05


def cases(names, seeds):
    """(name, image, reference, spacing, is CT) of every case asked for."""
    for name in names:
        if name.startswith("phantom_"):
            kind = name.removeprefix("phantom_")
            for seed in seeds:
                phantom = make_phantom(kind, seed=seed)
                yield (f"{name} {seed}", phantom.image, phantom.labels == phantom.lesion_label, phantom.spacing,
                       kind == "ct")
        else:
            yield (name, *sample_case(name), name in CT_SAMPLES)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=sorted(SPLITS), default="all")
    parser.add_argument("--whole-ring", action="store_true", help="CT rings without the soft-tissue window.")
    parser.add_argument("--cases", help="Comma-separated case names (default: the split's samples and both "
                                        "phantoms).")
    arguments = parser.parse_args()
    samples, seeds = SPLITS[arguments.split]
    names = arguments.cases.split(",") if arguments.cases else [*samples, "phantom_ct", "phantom_mr"]
    low, high = (f"cnr_at_+{round(100 * gain)}%" for gain in READ_OFF_GAINS)
    margins = {method: [] for method in OURS}
    print(f"{'case':16}{'best peer':>22}{'+25%':>7}" + "".join(f"{method[18:] or 'default':>28}" for method in OURS))
    for name, image, reference, spacing, is_ct in cases(names, seeds):
        ring_range = CT_RING_RANGE if is_ct and not arguments.whole_ring else None
        table = {row["method"]: row for row in sweep_table(sweep_enhancements(image, reference, spacing,
                                                                              ring_range=ring_range))}
        peer = max(PEERS, key=lambda method: _or_zero(table[method][low]))
        best = table[peer][low]
        cells = []
        for method in OURS:
            row = table[method]
            margin = row[low] - best
            margins[method].append(margin)
            met = row[low] >= TARGET_CNR and margin >= TARGET_MARGIN and row["max_sharpness_gain"] >= 0.40
            cells.append(f"{_cell(row[low])} / {_cell(row[high])} ({margin:+.3f}){' met' if met else '    '}")
        print(f"{name:16}{peer[:22]:>22}{_cell(best):>7}" + "".join(f"{cell:>28}" for cell in cells), flush=True)
    for method, values in margins.items():
        finite = [value for value in values if not math.isnan(value)]
        print(f"{method}: margin over the best peer at +25 %: mean {statistics.mean(finite):+.3f}, lowest "
              f"{min(finite):+.3f} ({len(values) - len(finite)} case(s) never reach +25 %)" if finite else
              f"{method}: never reaches +25 %")


def _or_zero(value):
    return 0.0 if math.isnan(value) else value


def _cell(value):
    return "never" if math.isnan(value) else f"{value:.3f}"


if __name__ == "__main__":
    main()
