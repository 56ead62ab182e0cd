"""The segmentation table: every sample case and phantom family, every method, one and three outlined slices.

Each case is segmented from a simulated clinician's outline
(:func:`clinicalimaging.segment.evaluation.simulate_outline`: 12 points on the largest
axial slice, or on three slices) by every row of
:func:`clinicalimaging.segment.evaluation.compare_segmentations`: preprocessing, level
set, plain SVM, self-paced SVM (the default) and Slicer's Grow from seeds; Dice, HD95
(mm) and seconds. Cases:

- the four sample cases (``../shared/data``): brain1's tumour, breast1's lesion, the
  prostate phantom's tube (component 2 of label 9), the abdominal CT's liver (label 5);
- four organs of the whole-scan CT (``abdomen_ct_full``, TotalSegmentator's labels):
  spleen, right kidney, stomach, aorta. Held out: added as a check after the method
  was tuned on the cases above;
- the abdominal phantoms (:func:`clinicalimaging.phantom.make_phantom`, CT and MR);
- the stress phantoms (:mod:`clinicalimaging.stress_phantoms`).

Phantom seeds are split: ``--split tune`` runs seeds 0 and 1 (used to tune the
method), ``--split check`` seeds 2 and 3 (looked at only to check), ``--split all``
both. Not part of the test suite. Usage::

    python Testing/Benchmarks/evaluate_segmentation_cases.py [--slices 1 3] [--split tune|check|all]
        [--cases brain1,liver,thick_small,...]
"""

import argparse
import statistics

from clinicalimaging.phantom import make_phantom
from clinicalimaging.segment.evaluation import compare_segmentations, simulate_outline
from clinicalimaging.stress_phantoms import FAMILIES, make_stress_phantom
from sample_cases import SAMPLES, sample_case

SEGMENTATION_SAMPLES = ("brain1", "breast1", "tube", "liver", "spleen", "kidney", "stomach", "aorta")
SEEDS = {"tune": (0, 1), "check": (2, 3), "all": (0, 1, 2, 3)}
METHODS = ("preprocessing", "level set", "plain SVM", "self-paced SVM", "grow from seeds")


def cases(names, split):
    """(name, image, reference, spacing) of every case asked for."""
    for name in names:
        if name in SAMPLES:
            yield (name, *sample_case(name))
            continue
        for seed in SEEDS[split]:
            if name in FAMILIES:
                phantom = make_stress_phantom(name, seed=seed)
            else:
                phantom = make_phantom(name.removeprefix("phantom_"), shape=(24, 96, 96), spacing=(2.5, 0.8, 0.8),
                                       seed=seed)
            yield f"{name} {seed}", phantom.image, phantom.labels == phantom.lesion_label, phantom.spacing


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--split", choices=tuple(SEEDS), default="all")
    parser.add_argument("--cases", default=",".join([*SEGMENTATION_SAMPLES, "phantom_ct", "phantom_mr", *FAMILIES]))
    arguments = parser.parse_args()
    print("case | slices | " + " | ".join(METHODS) + "  (Dice / HD95 mm / s)")
    gains = {slices: [] for slices in arguments.slices}
    for name, image, reference, spacing in cases(arguments.cases.split(","), arguments.split):
        for slices in arguments.slices:
            rows = {row["method"]: row for row in compare_segmentations(
                image, reference, spacing, points=simulate_outline(reference, slices=slices))}
            cells = [f"{rows[m]['dice']:.3f} / {rows[m]['hd95_mm']:.1f} / {rows[m]['seconds']:.1f}" for m in METHODS]
            print(f"{name} | {slices} | " + " | ".join(cells), flush=True)
            gains[slices].append(rows["self-paced SVM"]["dice"] - rows["grow from seeds"]["dice"])
    for slices, values in gains.items():
        print(f"{slices} outlined slice(s): self-paced minus Grow from seeds, mean {statistics.mean(values):+.3f}, "
              f"lowest {min(values):+.3f}")


if __name__ == "__main__":
    main()
