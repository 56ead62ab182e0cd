"""Calibrate a trained OrganDetect model's scores on held-apart volumes and check it on real scans.

The score calibration (``clinicalimaging.detect.calibration``, Platt scaling) is fitted
on volumes the model was not trained on: synthetic volumes drawn from the two patients'
label maps with seeds no training pool draws (``held_apart_volumes``, every fourth of
them random shapes with no organ) and generated phantoms of seeds apart from the
training phantoms'. The real CT and MR are not part of the fit: the script reports the
expected calibration error of the raw and of the calibrated scores on their boxes, and
how many boxes at calibrated score 0.5 or more are right. It then writes the model with
its calibration to OUT (the input file is left as it is).

Not part of the test suite; needs ``../shared/data``. Usage::

    python Testing/Benchmarks/calibrate_detector.py MODEL.keras OUT.keras [--synthetic 12] [--phantoms 4]
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cross_patient_detect import DATA, PATIENTS  # noqa: E402

from clinicalimaging import mrml  # noqa: E402
from clinicalimaging.detect.calibration import (calibration_records, expected_calibration_error,  # noqa: E402
                                                fit_score_calibration)
from clinicalimaging.detect.cases import phantom_volumes  # noqa: E402
from clinicalimaging.detect.model_files import load_detector, save_detector  # noqa: E402
from clinicalimaging.detect.model_scope import platt_probability  # noqa: E402
from clinicalimaging.detect.nodes import labelled_volume  # noqa: E402
from clinicalimaging.detect.organs import read_label_names  # noqa: E402
from clinicalimaging.detect.synthesis import synthesis_source  # noqa: E402
from clinicalimaging.detect.synthetic_pool import held_apart_volumes  # noqa: E402

#: Seeds apart from those of any training run in the project's commands (0-3) and its phantom checks (900).
SYNTHETIC_SEED, PHANTOM_SEED = 23, 700


def patient(name):
    """The patient's image and label map as a LabelledVolume."""
    image, labels = PATIENTS[name]
    names = read_label_names(DATA / "organ_labels.json", labels_file=labels)
    return labelled_volume(mrml.read_volume(DATA / image), mrml.read_volume(DATA / labels, labelmap=True), names)


def reliability(label, records, calibration):
    """One line: records, right, ECE raw and calibrated, and the boxes at calibrated score >= 0.5."""
    scores = np.array([record["score"] for record in records])
    right = np.array([record["right"] for record in records], bool)
    parameters = calibration["parameters"]
    probabilities = platt_probability(scores, parameters["slope"], parameters["intercept"])
    above = probabilities >= 0.5
    share = f"{right[above].mean():.2f}" if above.any() else "-"
    raw_error, error = (expected_calibration_error(values, right) for values in (scores, probabilities))
    return (f"{label}: {len(records)} boxes, {right.sum()} right; expected calibration error raw {raw_error:.3f}, "
            f"calibrated {error:.3f}; calibrated score >= 0.5: {above.sum()} boxes, {share} of them right")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--synthetic", type=int, default=12)
    parser.add_argument("--phantoms", type=int, default=4)
    arguments = parser.parse_args()
    detector = load_detector(arguments.model)
    pixel_mm = float(detector.metadata["pixel_mm"])
    real = [patient("ct"), patient("mr")]
    sources = [synthesis_source(volume, pixel_mm) for volume in real]
    held_apart = (held_apart_volumes(sources, pixel_mm, arguments.synthetic, SYNTHETIC_SEED)
                  + phantom_volumes(arguments.phantoms, seed=PHANTOM_SEED))
    records = calibration_records(detector, held_apart)
    calibration = {**fit_score_calibration(records), "volumes": len(held_apart),
                   "fitted_on": f"{arguments.synthetic} held-apart synthetic volumes (seed {SYNTHETIC_SEED}) and "
                                f"{arguments.phantoms} phantoms (seed {PHANTOM_SEED})"}
    if calibration["kind"] == "none":
        sys.exit("no box on the held-apart volumes: nothing to calibrate")
    print(f"fitted on {calibration['fitted_on']}: slope {calibration['parameters']['slope']:.3f}, intercept "
          f"{calibration['parameters']['intercept']:.3f}; raw score {calibration['raw_at_0_5']:.3f} maps to 0.5")
    print(reliability("held-apart volumes (the fit)", records, calibration))
    print(reliability("real CT and MR (not in the fit)", calibration_records(detector, real), calibration))
    save_detector(detector.model, {**detector.metadata, "score_calibration": calibration}, arguments.out)
    print(f"written: {arguments.out}")


if __name__ == "__main__":
    main()
