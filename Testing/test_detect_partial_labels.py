"""Partial labels: classes a case's label map does not name are ignored there (marginal loss), not background."""

import dataclasses
import json

import numpy as np
import pytest

from clinicalimaging.detect.cases import background_volume, grid_case, phantom_volumes
from clinicalimaging.detect.evaluation import evaluation_rows
from clinicalimaging.detect.reference import reference_boxes_in_array
from clinicalimaging.detect.inference import detect_organs_in_array
from clinicalimaging.detect.model_files import load_detector, read_metadata
from clinicalimaging.detect.organs import mirror_swaps
from clinicalimaging.detect.parameters import DetectParameters, TrainParameters
from clinicalimaging.detect.sampling import augmented_slice
from clinicalimaging.detect.targets import match_targets
from clinicalimaging.detect.training import train_detector
from test_cli import run_cli
from test_cli_detect import write_case
from test_cli_detect_finetune import QUICK

CLASSES = ["liver", "spleen", "kidney_left", "kidney_right", "aorta"]
#: The organs the partial label maps keep; the others' names are dropped (their voxels become background).
KEPT = ("liver", "spleen")
PHANTOM = {"shape": (32, 80, 80), "spacing": (4.0, 3.0, 3.0)}
#: The fine-tuning run, at the default fine-tuning rate: 32 steps, enough that teaching the unlabelled organs as
#: background makes the tiny detector lose them (mean IoU drop 0.42-0.57 with seeds 0-3; -0.01-0.02 ignored).
FINE_TUNING = {"views": "axial", "epochs": 4, "slices_per_epoch": 64, "batch_size": 8, "crop_px": 96,
               "dihedral_probability": 0.0, "synthetic_fraction": 0.0, "seed": 0}

# Two default boxes (cx, cy, w, h): one on the organ, one apart.
ANCHORS = np.array([[20, 20, 10, 10], [100, 20, 10, 10]], float)
ORGAN = np.array([[15, 15, 25, 25]], float)


def partial(volume, kept=KEPT):
    """The volume with only the ``kept`` organs (and its lesion) named in its label names."""
    names = {value: name for value, name in volume.label_names.items()
             if name in kept or name in volume.lesion_names}
    return dataclasses.replace(volume, label_names=names)


def loss_value(targets, logits):
    from keras import ops

    from clinicalimaging.detect.losses import detection_loss

    prediction = np.zeros((1, len(ANCHORS), 4 + len(logits) + 1), np.float32)
    prediction[0, :, 4:4 + len(logits)] = logits
    loss = detection_loss(len(logits) - 1, negatives_per_positive=3.0, grade_weight=0.0)
    return float(ops.convert_to_numpy(loss(targets[None], prediction))[0])


def test_with_every_class_labelled_the_loss_is_the_plain_cross_entropy():
    logits = np.array([0.3, -1.0, 2.0], np.float32)  # background, class 0, class 1
    plain = match_targets(ANCHORS, ORGAN, np.array([0]))
    labelled = match_targets(ANCHORS, ORGAN, np.array([0]), labelled=np.array([True, True]))
    assert plain.shape == (2, 6) and labelled.shape == (2, 8)
    log_softmax = logits - np.log(np.exp(logits).sum())
    expected = -log_softmax[1] - log_softmax[0]  # the organ's box, and the one background box
    assert loss_value(labelled, logits) == loss_value(plain, logits)
    np.testing.assert_allclose(loss_value(labelled, logits), expected, rtol=1e-6)


def test_an_unlabelled_class_on_a_background_box_costs_nothing():
    logits = np.array([0.0, 0.0, 8.0], np.float32)  # every box says "class 1" confidently
    only_class_0 = np.array([True, False])
    ignored = loss_value(match_targets(ANCHORS, ORGAN, np.array([0]), labelled=only_class_0), logits)
    background = loss_value(match_targets(ANCHORS, ORGAN, np.array([0]), labelled=np.ones(2, bool)), logits)
    log_softmax = logits - np.log(np.exp(logits).sum())
    organ = -log_softmax[1]  # the organ's box is wrong in both
    marginal = -np.log(np.exp(log_softmax[0]) + np.exp(log_softmax[2]))
    np.testing.assert_allclose(ignored, organ + marginal, rtol=1e-5)
    assert marginal < 1e-3 and background - ignored > 7.0


def slice_loss(targets, logits):
    """The loss of one slice with class logits per default box, shape (boxes, C + 1)."""
    from keras import ops

    from clinicalimaging.detect.losses import detection_loss

    prediction = np.zeros((1, len(ANCHORS), 4 + logits.shape[1] + 1), np.float32)
    prediction[0, :, 4:-1] = logits
    loss = detection_loss(logits.shape[1] - 1, negatives_per_positive=3.0, grade_weight=0.0)
    return float(ops.convert_to_numpy(loss(targets[None], prediction))[0])


def with_teacher(targets, teacher_logits):
    """The targets followed by a teacher's outputs: zero box offsets and these class logits."""
    return np.concatenate([targets, np.zeros((len(targets), 4), np.float32), teacher_logits], axis=1)


def test_a_teacher_detection_of_an_unlabelled_class_stays_a_target():
    targets = match_targets(ANCHORS, ORGAN, np.array([0]), labelled=np.array([True, False]))
    organ_box = [0.0, 8.0, 0.0]  # background, class 0, class 1
    keeps = np.array([organ_box, [0.0, 0.0, 8.0]], np.float32)  # the second box says class 1
    forgets = np.array([organ_box, [8.0, 0.0, 0.0]], np.float32)  # the second box says background
    assert slice_loss(targets, forgets) < 0.1  # the marginal loss alone allows either
    teacher = with_teacher(targets, keeps)
    assert slice_loss(teacher, forgets) > slice_loss(teacher, keeps) + 3.0  # the teacher's class 1 box is taught
    unsure = with_teacher(targets, np.array([organ_box, [0.5, 0.0, 0.0]], np.float32))  # class 1 below 0.5
    assert slice_loss(unsure, forgets) == pytest.approx(slice_loss(targets, forgets), abs=1e-5)


def test_a_case_labels_the_classes_its_label_names_name():
    volume = phantom_volumes(1, seed=3, **PHANTOM)[0]
    case = grid_case(partial(volume), CLASSES, 4.0)
    assert case.labelled.tolist() == [True, True, False, False, False]
    assert set(np.unique(case.classes)) <= {0, 1, 2}  # the kidneys' and aorta's voxels are background
    empty = grid_case(background_volume(volume.image, volume.ijk_to_ras), CLASSES, 4.0)
    assert empty.labelled.all() and not empty.classes.any()


def test_a_mirrored_slice_trades_the_labelled_left_and_right():
    volume = phantom_volumes(1, seed=3, **PHANTOM)[0]
    case = grid_case(partial(volume, ("liver", "kidney_left")), CLASSES, 4.0)
    parameters = TrainParameters(crop_px=64, dihedral_probability=1.0)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(12):
        *_, labelled = augmented_slice(case, "axial", 16, parameters, mirror_swaps(CLASSES, offset=1), rng)
        seen.add(tuple(labelled.tolist()))
    assert seen == {(True, False, True, False, False), (True, False, False, True, False)}


def organ_ious(detector, volumes):
    """Each organ's 3-D IoU, averaged over the volumes (0 where it is not found)."""
    found = {}
    for volume in volumes:
        reference = reference_boxes_in_array(volume.labels, volume.ijk_to_ras, volume.label_names,
                                             organs=detector.class_names)
        boxes = detect_organs_in_array(volume.image, volume.ijk_to_ras, detector,
                                       parameters=DetectParameters(views="axial"))
        for row in evaluation_rows(boxes, reference):
            if row["in_reference"] == "yes":
                found.setdefault(row["organ"], []).append(row["iou"])
    return {organ: float(np.mean(values)) for organ, values in found.items()}


@pytest.fixture(scope="module")
def held_out(tiny_detector):
    """Two unseen phantoms (CT, MR) and the tiny detector's per-organ IoU on them."""
    volumes = phantom_volumes(2, seed=900, **PHANTOM)
    return volumes, organ_ious(load_detector(tiny_detector[1]), volumes)


@pytest.mark.parametrize("absent_classes", ["ignored", "background"])
def test_fine_tuning_on_some_organs_keeps_the_others_only_when_they_are_ignored(tiny_detector, held_out,
                                                                                 absent_classes):
    volumes, before = held_out
    training = [partial(volume) for volume in phantom_volumes(2, seed=300, **PHANTOM)]
    parameters = TrainParameters(**FINE_TUNING, absent_classes=absent_classes)
    result = train_detector(training, None, parameters, init=load_detector(tiny_detector[1]))
    after = organ_ious(result.detector, volumes)

    assert [case["labelled_organs"] for case in result.metadata["training"]["cases"]] == [list(KEPT)] * 2
    unlabelled = [organ for organ in CLASSES if organ not in KEPT]
    assert min(before[organ] for organ in unlabelled) > 0.6
    drop = np.mean([before[organ] - after[organ] for organ in unlabelled])
    if absent_classes == "ignored":
        assert drop <= 0.05, (before, after)
    else:
        assert drop > 0.2, (before, after)  # taught as background, they are lost
    assert all(after[organ] > 0.6 for organ in KEPT), after


def test_train_detector_init_fine_tunes_on_label_names_of_some_organs(tmp_path, tiny_detector):
    case = write_case(tmp_path)
    names = json.loads(case["names"].read_text())
    case["names"].write_text(json.dumps({value: name for value, name in names.items() if name in KEPT}))
    out = tmp_path / "tuned.keras"
    result = run_cli("train-detector", "--images", case["image"], "--labels", case["labels"], "--label-names",
                     case["names"], "--init", tiny_detector[1], "--out", out, *QUICK)

    assert result.returncode == 0 and result.stderr == "", result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("on the training volumes:"))
    assert "before fine-tuning mean IoU 0." in line and line.count(" of 2 organs") == 2  # the labelled ones
    training = read_metadata(out)["training"]
    assert training["parameters"]["absent_classes"] == "ignored"
    assert training["cases"][0]["labelled_organs"] == list(KEPT)
