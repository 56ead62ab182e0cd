"""The cross-patient check of OrganDetect: train on one labelled patient, detect on the other.

The project has two organ-labelled patients: an abdominal CT (``abdomen_ct_full``) and an
abdominal MR of another patient (``abdomen_mr``). A detector trained on one (with
synthetic volumes from its label map and phantoms) and measured on the other is the
nearest this project comes to a patient it has never seen. The two directions have
separate roles: **MR to CT is the tuning split** (settings such as the synthetic
fraction are chosen on it), **CT to MR is the check split**, looked at once per design.

Each run is what a user types: ``clinicalimaging train-detector`` then
``clinicalimaging evaluate-detection`` in fresh processes; the per-organ tables are
printed with a summary line (organs in view, found, mean IoU, IoU >= 0.5).

Not part of the test suite; needs ``../shared/data``. Usage::

    python Testing/Benchmarks/cross_patient_detect.py ct-to-mr OUTDIR [--epochs 60] [--synthetic-fraction 0.5]
    python Testing/Benchmarks/cross_patient_detect.py mr-to-ct OUTDIR --model OUTDIR/mr-to-ct.keras  # measure only
"""

import argparse
import csv
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
PATIENTS = {"ct": ("abdomen_ct_full.nii.gz", "abdomen_ct_full_organs.nii.gz"),
            "mr": ("abdomen_mr.nii.gz", "abdomen_mr_organs.nii.gz")}


def clinicalimaging(*arguments):
    """Run the command line in a fresh process; its stdout, or exit with its stderr."""
    done = subprocess.run([sys.executable, "-m", "clinicalimaging", *map(str, arguments)], capture_output=True,
                          text=True)
    if done.returncode:
        sys.exit(f"clinicalimaging {arguments[0]} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def train(source, model, options):
    """Train a detector on one patient (plus ``options``: phantoms, synthesis, epochs); seconds taken."""
    image, labels = PATIENTS[source]
    started = time.perf_counter()
    clinicalimaging("train-detector", "--images", DATA / image, "--labels", DATA / labels, "--label-names",
                    DATA / "organ_labels.json", "--out", model, *options)
    return time.perf_counter() - started


def evaluate(model, target, table):
    """Per-organ rows of the model on one patient, as ``evaluate-detection`` writes them."""
    image, labels = PATIENTS[target]
    clinicalimaging("evaluate-detection", DATA / image, DATA / labels, "--label-names", DATA / "organ_labels.json",
                    "--model", model, "--table", table)
    with open(table, newline="") as handle:
        return list(csv.DictReader(handle))


def summary(rows):
    """One line: organs in view, found, mean IoU (missed = 0), fraction with IoU >= 0.5, false positives."""
    organs = [row for row in rows if row["in_reference"] == "yes"]
    ious = [float(row["iou"] or 0.0) for row in organs]
    found = sum(row["found"] == "yes" for row in organs)
    false = sum(row["found"] == "yes" and row["in_reference"] == "no" for row in rows)
    good = sum(iou >= 0.5 for iou in ious)
    mean = sum(ious) / len(ious) if ious else float("nan")
    return (f"{len(organs)} organs in view, {found} found, mean IoU {mean:.3f}, IoU >= 0.5 for {good} "
            f"({100 * good / max(len(organs), 1):.0f} %), {false} false positives")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("direction", choices=("ct-to-mr", "mr-to-ct"))
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--model", type=Path, help="Measure this model instead of training one.")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--slices-per-epoch", type=int, default=512)
    parser.add_argument("--synthetic-fraction", type=float, default=0.5)
    parser.add_argument("--phantoms", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    source, target = arguments.direction.split("-to-")
    arguments.outdir.mkdir(parents=True, exist_ok=True)
    model = arguments.model or arguments.outdir / f"{arguments.direction}.keras"
    if arguments.model is None:
        options = ["--phantoms", arguments.phantoms, "--epochs", arguments.epochs, "--slices-per-epoch",
                   arguments.slices_per_epoch, "--synthetic-fraction", arguments.synthetic_fraction,
                   "--seed", arguments.seed, "--quiet"]
        seconds = train(source, model, options)
        print(f"trained on the {source.upper()} patient in {seconds / 60:.1f} min: {model}")
    for patient, role in ((source, "training patient"), (target, "other patient")):
        rows = evaluate(model, patient, arguments.outdir / f"{model.stem}-on-{patient}.csv")
        print(f"\n{patient.upper()} ({role}): {summary(rows)}")
        for row in rows:
            print("  " + ", ".join(f"{key} {value}" for key, value in row.items()))


if __name__ == "__main__":
    main()
