"""Benchmark of the anatomical rules of organ detection: each rule's effect on the shipped model's boxes.

Runs the shipped detector (or ``--model``) on the sample scans of ``../shared/data`` with
``anatomy_rules`` none, each rule alone, and all, and prints per case and setting the
organs found, the mean 3-D IoU and the fraction of organs with IoU >= 0.5 against the
label map's boxes (:mod:`clinicalimaging.detect.evaluation`), then what each rule changed
(:func:`clinicalimaging.detect.anatomy.plausible_boxes`).

A model without organ size ranges in its metadata (``organ_size_mm``) gets them here from
the training CT's label map (:func:`~clinicalimaging.detect.anatomy.organ_size_ranges`),
for this run only; the output says so.

Not part of the test suite; needs ``../shared/data``. Usage::

    python Testing/Benchmarks/bench_detect_anatomy.py [--model FILE]
"""

import argparse
from pathlib import Path

from clinicalimaging import mrml
from clinicalimaging.detect.anatomy import organ_size_ranges, plausible_boxes
from clinicalimaging.detect.cases import LabelledVolume, grid_case
from clinicalimaging.detect.evaluation import evaluation_rows, reference_boxes, summary
from clinicalimaging.detect.inference import detect_organs_in_array, fused_grid_boxes
from clinicalimaging.detect.model_files import default_model_path, load_detector
from clinicalimaging.detect.organs import read_label_names
from clinicalimaging.detect.parameters import ANATOMY_RULES, DetectParameters

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
NAMES = DATA / "organ_labels.json"
TRAINING_CT = ("abdomen_ct_full.nii.gz", "abdomen_ct_full_organs.nii.gz")
CASES = (TRAINING_CT + ("training CT, 336 mm",),
         ("abdomen_ct.nii.gz", "abdomen_ct_organs.nii.gz", "30 slices of the training patient"),
         ("abdomen_mr.nii.gz", "abdomen_mr_organs.nii.gz", "MR, another patient"))
SETTINGS = ("none", *ANATOMY_RULES, "all")


def read_case(image_file, labels_file):
    """The image's array and IJK-to-RAS matrix, its label map's node and label names."""
    image = mrml.read_volume(DATA / image_file)
    labels = mrml.read_volume(DATA / labels_file, labelmap=True)
    return (mrml.array_from_volume(image), mrml.ijk_to_ras(image)), labels, read_label_names(NAMES,
                                                                                             labels_file=labels_file)


def training_size_ranges(detector):
    """:func:`organ_size_ranges` of the training CT's label map on the model's grid."""
    (array, ijk_to_ras), labels, names = read_case(*TRAINING_CT)
    volume = LabelledVolume(array, ijk_to_ras, mrml.array_from_volume(labels), names, name=TRAINING_CT[0])
    case = grid_case(volume, detector.class_names, float(detector.metadata["pixel_mm"]))
    return organ_size_ranges([case], detector.class_names)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_model_path())
    arguments = parser.parse_args()
    detector = load_detector(arguments.model)
    if "organ_size_mm" in detector.metadata:
        print(f"organ size ranges: the model's own ({len(detector.metadata['organ_size_mm'])} organs)")
    else:
        detector.metadata["organ_size_mm"] = training_size_ranges(detector)
        print(f"organ size ranges: the model has none; computed for this run from the training CT's label map "
              f"({TRAINING_CT[1]}), organs shown whole: {', '.join(detector.metadata['organ_size_mm'])}")
    for image_file, labels_file, what in CASES:
        (array, ijk_to_ras), labels, names = read_case(image_file, labels_file)
        organs = [name for name in detector.class_names if name in set(names.values())]
        reference = reference_boxes(labels, names, organs=organs)
        print(f"\n{image_file} ({what}), {len(reference)} labelled organs of the model's classes")
        print(f"  {'rules':<10} {'found':>6} {'false +':>8} {'mean IoU':>9} {'IoU>=0.5':>9}")
        for setting in SETTINGS:
            boxes = detect_organs_in_array(array, ijk_to_ras, detector,
                                           parameters=DetectParameters(anatomy_rules=setting))
            totals = summary(evaluation_rows(boxes, reference))
            print(f"  {setting:<10} {totals['found']:>3}/{totals['organs']:<2} {totals['false_positives']:>8} "
                  f"{totals['mean_iou']:>9.3f} {100 * totals['fraction_iou_0_5']:>8.0f}%")
        fused, grid, midline_i, _ = fused_grid_boxes(array, ijk_to_ras, detector)
        _, changes = plausible_boxes(fused, detector.class_names, grid, midline_i,
                                     organ_size_mm=detector.metadata["organ_size_mm"])
        scores = {detector.class_names[cls]: score for cls, (_, score, _) in fused.items()}
        for change in changes:
            print(f"  {change['rule']}: {change['organ']} (fused score {scores[change['organ']]:.2f}) "
                  f"{change['change']} ({change['reason']})")
        if not changes:
            print("  no rule changed a box")


if __name__ == "__main__":
    main()
