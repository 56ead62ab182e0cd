"""Benchmark of OrganDetect: CPU speed and memory on a 100x512x512 CT, training throughput, accuracy against an atlas.

Measures, each printed with its target where the project has one:

1. **Inference, file to ROI file**: ``clinicalimaging detect`` as a user runs it (a fresh
   process: imports, model loading, reading, the three views, writing) on a
   100x512x512 CT made by resampling the sample abdominal CT; wall time (target <= 10 s
   on 2 cores) and peak resident memory of the process (target <= 3 GB), median of
   ``--repeats`` runs.
2. **The peer**: atlas localisation, the classic alternative: the labelled training CT
   registered to the case by an affine transform (SimpleITK, Mattes mutual information,
   three resolutions), its organ boxes carried over. Its time on the same case gives the
   speed ratio; its boxes are compared with the detector's on the evaluation cases.
3. **Training throughput**: slices per second of ``train_detector`` once it runs
   (augmentation, synthesis, matching and the Keras step), with half the slices from
   synthetic volumes and without them.
4. **Accuracy**: per-organ 3-D IoU, wall and centroid distance (mm) of the detector and of
   the atlas on ``abdomen_ct`` (30 slices of the training patient: seen), ``abdomen_mr``
   (another patient, MR: unseen by the atlas's CT; seen by the shipped model, which
   trained on it) and phantoms the model never saw.

Not part of the test suite; needs ``../shared/data``. Usage::

    python Testing/Benchmarks/bench_detect.py [--model FILE] [--repeats 3] [--skip-training]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import SimpleITK as sitk

from clinicalimaging import mrml
from clinicalimaging.detect.cases import phantom_volumes
from clinicalimaging.detect.evaluation import evaluation_rows, format_evaluation, reference_boxes
from clinicalimaging.detect.model_files import default_model_path, load_detector
from clinicalimaging.detect.nodes import find_organ_boxes
from clinicalimaging.detect.organs import read_label_names
from clinicalimaging.detect.parameters import DetectParameters, TrainParameters

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_enhance import run_python_measuring_peak, verdict  # noqa: E402

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
ATLAS = ("abdomen_ct_full.nii.gz", "abdomen_ct_full_organs.nii.gz")
EVALUATION = (("abdomen_ct.nii.gz", "abdomen_ct_organs.nii.gz", "seen patient"),
              ("abdomen_mr.nii.gz", "abdomen_mr_organs.nii.gz", "other patient, MR"))
TARGET_SECONDS, TARGET_GIB = 10.0, 3.0


def large_ct(path):
    """The sample CT resampled onto 100 slices of 512 x 512 (its physical extent kept), written to ``path``."""
    image = sitk.ReadImage(str(DATA / ATLAS[0]))
    size = (512, 512, 100)
    extent = [n * s for n, s in zip(image.GetSize(), image.GetSpacing())]
    spacing = [e / n for e, n in zip(extent, size)]
    origin = image.TransformContinuousIndexToPhysicalPoint([-0.5 + new / (2 * old)
                                                            for new, old in zip(spacing, image.GetSpacing())])
    large = sitk.Resample(image, size, sitk.Transform(), sitk.sitkLinear, origin, spacing, image.GetDirection(), -1024)
    sitk.WriteImage(sitk.Cast(large, sitk.sitkInt16), str(path))
    return path


def run_detect(image, output, model):
    """Wall seconds and peak resident GiB of one ``clinicalimaging detect`` process."""
    seconds, peak = run_python_measuring_peak(["-m", "clinicalimaging", "detect", image, output, "--table",
                                               output.with_suffix(".csv"), "--model", model, "--quiet"])
    return seconds, peak / 2**30


def atlas_boxes(image_node, atlas_image, atlas_labels, names):
    """Organ boxes of the atlas registered to the image by an affine transform, and the registration's seconds."""
    fixed = sitk.Cast(mrml.sitk_image_from_volume(image_node), sitk.sitkFloat32)
    moving = sitk.Cast(atlas_image, sitk.sitkFloat32)
    started = time.perf_counter()
    initial = sitk.CenteredTransformInitializer(fixed, moving, sitk.AffineTransform(3),
                                                sitk.CenteredTransformInitializerFilter.MOMENTS)
    registration = sitk.ImageRegistrationMethod()
    registration.SetMetricAsMattesMutualInformation(50)
    registration.SetMetricSamplingStrategy(registration.RANDOM)
    registration.SetMetricSamplingPercentage(0.1, seed=0)
    registration.SetInterpolator(sitk.sitkLinear)
    registration.SetOptimizerAsRegularStepGradientDescent(1.0, 1e-4, 200)
    registration.SetOptimizerScalesFromPhysicalShift()
    registration.SetShrinkFactorsPerLevel([4, 2, 1])
    registration.SetSmoothingSigmasPerLevel([2, 1, 0])
    registration.SetInitialTransform(initial, inPlace=False)
    transform = registration.Execute(fixed, moving)
    warped = sitk.Resample(atlas_labels, fixed, transform, sitk.sitkNearestNeighbor, 0, atlas_labels.GetPixelID())
    seconds = time.perf_counter() - started
    label_node = mrml.volume_from_sitk_image(warped, scene=image_node.GetScene(), name="atlas", labelmap=True)
    return reference_boxes(label_node, names), seconds


def as_organ_boxes(boxes):
    from clinicalimaging.detect.detections import OrganBox

    return [OrganBox(organ, 1.0, tuple(low), tuple(high)) for organ, (low, high) in boxes.items()]


def accuracy(detector, atlas, names_file):
    """Per-organ tables of the detector and the atlas on each evaluation case (and unseen phantoms)."""
    atlas_image = sitk.ReadImage(str(DATA / atlas[0]))
    atlas_labels = sitk.ReadImage(str(DATA / atlas[1]))
    atlas_names = read_label_names(names_file, labels_file=atlas[1])
    classes = set(detector.class_names)
    for image_file, labels_file, what in EVALUATION:
        image = mrml.read_volume(DATA / image_file)
        labels = mrml.read_volume(DATA / labels_file, labelmap=True)
        names = read_label_names(names_file, labels_file=labels_file)
        organs = [name for name in detector.class_names if name in set(names.values())]
        reference = reference_boxes(labels, names, organs=organs)
        for views in ("axial", "all"):
            boxes, _ = find_organ_boxes(image, model=detector, parameters=DetectParameters(views=views))
            rows = evaluation_rows(boxes, reference)
            print(f"\n{image_file} ({what}), detector, views {views}:\n{format_evaluation(rows)}")
        found, seconds = atlas_boxes(image, atlas_image, atlas_labels, atlas_names)
        found = {organ: box for organ, box in found.items() if organ in classes and organ in reference}
        rows = evaluation_rows(as_organ_boxes(found), reference)
        print(f"\n{image_file} ({what}), atlas (affine registration, {seconds:.1f} s):\n{format_evaluation(rows)}")
    for volume in phantom_volumes(2, seed=900):
        node = mrml.volume_from_array(volume.image, ijk_to_ras=volume.ijk_to_ras, name=volume.name)
        labels = mrml.volume_from_array(volume.labels, ijk_to_ras=volume.ijk_to_ras, labelmap=True)
        organs = [name for name in detector.class_names if name in set(volume.label_names.values())]
        boxes, _ = find_organ_boxes(node, model=detector)
        rows = evaluation_rows(boxes, reference_boxes(labels, volume.label_names, organs=organs))
        print(f"\n{volume.name} (phantom the model never saw), detector, views all:\n{format_evaluation(rows)}")


def training_throughput(synthetic_fraction):
    """Slices per second of training on phantoms, once the run is going (default parameters otherwise).

    The steady rate is the difference of a three-epoch and a one-epoch run, so the start
    (the synthetic pool, the k-means, building the network) does not count; no calibration.
    """
    from clinicalimaging.detect.organs import PHANTOM_NAMES
    from clinicalimaging.detect.training import train_detector

    volumes = phantom_volumes(2)
    seconds = {}
    for epochs in (1, 3):
        parameters = TrainParameters(epochs=epochs, slices_per_epoch=128, synthetic_fraction=synthetic_fraction,
                                     calibration_volumes=0)
        started = time.perf_counter()
        result = train_detector(volumes, list(PHANTOM_NAMES), parameters)
        seconds[epochs] = time.perf_counter() - started
    return 2 * 128 / (seconds[3] - seconds[1]), result.metadata["training"]["device"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_model_path())
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-training", action="store_true")
    arguments = parser.parse_args()
    detector = load_detector(arguments.model)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        image = large_ct(folder / "ct-100x512x512.nii.gz")
        runs = [run_detect(image, folder / f"organs{n}.mrk.json", arguments.model) for n in range(arguments.repeats)]
        seconds = statistics.median(run[0] for run in runs)
        memory = max(run[1] for run in runs)
        image_node = mrml.read_volume(image)
        _, atlas_seconds = atlas_boxes(image_node, sitk.ReadImage(str(DATA / ATLAS[0])),
                                       sitk.ReadImage(str(DATA / ATLAS[1])),
                                       read_label_names(DATA / "organ_labels.json", labels_file=ATLAS[1]))
    print(f"detect, 100x512x512 CT, file to ROI file, all views: {seconds:.2f} s (median of {arguments.repeats}; "
          f"{verdict(seconds, TARGET_SECONDS)}), peak memory {memory:.2f} GiB ({verdict(memory, TARGET_GIB)})")
    print(f"peer: atlas affine registration on the same CT {atlas_seconds:.1f} s; detector / atlas time "
          f"= {seconds / atlas_seconds:.2f}")
    if not arguments.skip_training:
        plain, device = training_throughput(0.0)
        synthetic, _ = training_throughput(0.5)
        print(f"training throughput ({device}, {TrainParameters().crop_px} px crops, width {TrainParameters().width}): "
              f"{synthetic:.1f} slices/s with half the slices synthetic, {plain:.1f} slices/s on the images only; "
              f"ratio {synthetic / plain:.2f}")
    accuracy(detector, ATLAS, DATA / "organ_labels.json")


if __name__ == "__main__":
    main()
