"""Does OrganDetect tell scans it knows from scans it does not? Raw and calibrated scores and the anatomy context.

For each scan: the organs found at the raw fused score (no threshold, no context check),
the best raw and calibrated scores, the anatomy context (``model_scope``) and the organs
reported with the default parameters. In-scope scans are the abdominal CT and MR and
stretches of the CT along the body axis (an upper-abdomen slab, a mid-abdomen slab, a
pelvis slab: scans of those regions are common and must not be taken for out-of-scope
ones); out-of-scope scans are the brain MRI, the breast MRI and the prostate phantom.
The stretches are of the training patient, so their figures flatter the model.

Not part of the test suite; needs ``../shared/data``. Usage::

    python Testing/Benchmarks/bench_detect_scope.py [--model FILE]
"""

import argparse
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from clinicalimaging.detect.inference import detect_organs_in_array, fused_grid_boxes
from clinicalimaging.detect.model_files import default_model_path, load_detector
from clinicalimaging.detect.model_scope import anatomical_context, calibrated_score, organ_companions
from clinicalimaging.detect.parameters import DetectParameters
from clinicalimaging.mrml.images import ijk_to_ras_from_sitk

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
#: (file, first slice, slice count or None, what) of each scan; slices along the file's k axis.
IN_SCOPE = (("abdomen_ct_full.nii.gz", 0, None, "abdominal CT, T11 to the hips"),
            ("abdomen_ct_full.nii.gz", 72, 40, "upper-abdomen slab, 120 mm"),
            ("abdomen_ct_full.nii.gz", 40, 35, "mid-abdomen slab, 105 mm"),
            ("abdomen_ct_full.nii.gz", 0, 35, "pelvis slab, 105 mm"),
            ("abdomen_ct.nii.gz", 0, None, "abdominal CT, 90 mm"),
            ("abdomen_mr.nii.gz", 0, None, "abdominal MR, 60 mm"))
OUT_OF_SCOPE = (("brain1_image.nrrd", 0, None, "brain MRI"),
                ("breast1_image.nrrd", 0, None, "breast MRI"),
                ("prostate_phantom_subvolume.nrrd", 0, None, "prostate phantom MRI"))


def read(file, first, count):
    """The scan's array (K, J, I) and IJK-to-RAS matrix, cut to ``count`` slices from ``first``."""
    image = sitk.ReadImage(str(DATA / file))
    if count is not None:
        image = image[:, :, first:first + count]
    return sitk.GetArrayFromImage(image), ijk_to_ras_from_sitk(image)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_model_path())
    arguments = parser.parse_args()
    detector = load_detector(arguments.model)
    companions = organ_companions(detector.metadata)
    calibration = detector.metadata.get("score_calibration", {}).get("kind", "none")
    print(f"model {arguments.model.name}: calibration {calibration}; default min_context "
          f"{DetectParameters().min_context}, score threshold {DetectParameters().score_threshold}")
    print(f"{'scan':<34} {'found raw':>9} {'best raw':>9} {'best cal':>9} {'context':>8} {'reported':>9}")
    for group, scans in (("in scope", IN_SCOPE), ("out of scope", OUT_OF_SCOPE)):
        print(f"-- {group}")
        for file, first, count, what in scans:
            array, matrix = read(file, first, count)
            fused, *_ = fused_grid_boxes(array, matrix, detector)
            raw = {detector.class_names[cls]: score for cls, (_, score, _) in fused.items()}
            context = anatomical_context(raw, companions)
            best = max(raw.values(), default=float("nan"))
            reported = detect_organs_in_array(array, matrix, detector)
            print(f"{what:<34} {len(raw):>9} {best:>9.2f} "
                  f"{calibrated_score(best, detector.metadata) if raw else np.nan:>9.2f} "
                  f"{np.nan if context is None else context:>8.2f} {len(reported):>9}")


if __name__ == "__main__":
    main()
