"""Fine-tuning OrganDetect on a few labelled organs of another patient: better there, nothing forgotten elsewhere.

A user fine-tunes a detector on their own scans, labelled for a few organs only. This
script does it as the user would: ``train-detector --init MODEL`` on the MR patient with a
label-names file that names only ``--organs`` (liver, spleen and kidneys by default), a
short run; then ``evaluate-detection`` of the model before and after on the MR (the
fine-tuned organs should improve) and on the CT patient (every organ, the others should
lose at most 0.05 IoU). The organs the label names leave out are ignored during the
fine-tune (``--absent-classes ignored``); ``--absent-classes background`` shows what
teaching them as background does, and ``--distillation-weight 0`` what the model loses
without the distillation from its state before fine-tuning.

Not part of the test suite; needs ``../shared/data``. Usage::

    python Testing/Benchmarks/finetune_partial_detect.py MODEL.keras OUTDIR [--absent-classes background]
        [--distillation-weight W]
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cross_patient_detect import DATA, PATIENTS, clinicalimaging, evaluate  # noqa: E402

TUNED = ("liver", "spleen", "kidney_left", "kidney_right")


def mean_iou(rows, organs):
    """Mean IoU (missed = 0) over the reference organs among ``organs``, and how many there are."""
    ious = [float(row["iou"] or 0.0) for row in rows if row["in_reference"] == "yes" and row["organ"] in organs]
    return (sum(ious) / len(ious) if ious else float("nan")), len(ious)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--organs", default=",".join(TUNED))
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--slices-per-epoch", type=int, default=128)
    parser.add_argument("--absent-classes", default="ignored", choices=("ignored", "background"))
    parser.add_argument("--distillation-weight", type=float, default=1.0)
    arguments = parser.parse_args()
    arguments.outdir.mkdir(parents=True, exist_ok=True)
    tuned = arguments.organs.split(",")
    image, labels = PATIENTS["mr"]
    names = json.loads((DATA / "organ_labels.json").read_text())[labels]
    partial = arguments.outdir / "partial_label_names.json"
    partial.write_text(json.dumps({value: name for value, name in names.items() if name in tuned}))
    tuned_model = arguments.outdir / f"fine-tuned-{arguments.absent_classes}-{arguments.distillation_weight:g}.keras"
    clinicalimaging("train-detector", "--init", arguments.model, "--images", DATA / image, "--labels", DATA / labels,
                    "--label-names", partial, "--epochs", arguments.epochs, "--slices-per-epoch",
                    arguments.slices_per_epoch, "--absent-classes", arguments.absent_classes, "--distillation-weight",
                    arguments.distillation_weight, "--out", tuned_model,
                    "--quiet")
    print(f"fine-tuned on the MR's {', '.join(tuned)} ({arguments.epochs} epochs of {arguments.slices_per_epoch} "
          f"slices, absent classes {arguments.absent_classes}, distillation weight {arguments.distillation_weight:g}): "
          f"{tuned_model}")
    for patient in ("mr", "ct"):
        before = evaluate(arguments.model, patient, arguments.outdir / f"before-on-{patient}.csv")
        after = evaluate(tuned_model, patient, arguments.outdir / f"after-on-{patient}.csv")
        others = {row["organ"] for row in before} - set(tuned)
        for label, organs in (("fine-tuned organs", tuned), ("other organs", others)):
            (was, count), (now, _) = mean_iou(before, organs), mean_iou(after, organs)
            print(f"{patient.upper()}, {label} ({count}): mean IoU {was:.3f} -> {now:.3f} ({now - was:+.3f})")
        for old, new in zip(before, after):
            if old["in_reference"] == "yes":
                print(f"  {old['organ']}: {float(old['iou'] or 0):.3f} -> {float(new['iou'] or 0):.3f}")


if __name__ == "__main__":
    main()
