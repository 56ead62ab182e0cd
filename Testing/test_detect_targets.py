"""Training targets: SSD matching, regions of unknown class (a coarse label), and the loss that ignores them."""

import numpy as np
import pytest

from clinicalimaging import InputError
from clinicalimaging.detect.boxes import encode
from clinicalimaging.detect.cases import UNKNOWN_CLASS, LabelledVolume, case_slice_boxes, grid_case
from clinicalimaging.detect.organs import covered_classes
from clinicalimaging.detect.targets import IGNORED_CLASS, UNKNOWN_GRADE, match_targets

VERTEBRAE = ["liver", "vertebrae_L1", "vertebrae_L2", "kidney_left"]

# Four default boxes (cx, cy, w, h): one on the organ, one inside the unknown region, one half in it, one apart.
ANCHORS = np.array([[20, 20, 10, 10], [60, 60, 10, 10], [75, 60, 10, 10], [100, 20, 10, 10]], float)
ORGAN = np.array([[15, 15, 25, 25]], float)
UNKNOWN = np.array([[50, 50, 76, 70]], float)


def test_covered_classes_are_the_finer_names_of_a_coarse_label():
    assert covered_classes("vertebrae", VERTEBRAE) == ["vertebrae_L1", "vertebrae_L2"]
    assert covered_classes("kidney", VERTEBRAE) == ["kidney_left"]
    assert covered_classes("liver", VERTEBRAE) == []
    assert covered_classes("lung", VERTEBRAE) == []


def test_matching_gives_offsets_class_and_grade_of_the_best_ground_truth():
    targets = match_targets(ANCHORS, ORGAN, np.array([2]), np.array([1.0]))
    assert targets.shape == (4, 6)
    np.testing.assert_allclose(targets[0, :4], encode(ORGAN, ANCHORS[:1])[0])
    assert targets[0, 4] == 3 and targets[0, 5] == 1.0
    assert (targets[1:, 4] == 0).all() and (targets[1:, 5] == UNKNOWN_GRADE).all()


def test_default_boxes_mostly_inside_an_unknown_region_are_ignored_not_background():
    targets = match_targets(ANCHORS, ORGAN, np.array([0]), unknown_boxes=UNKNOWN)
    assert targets[:, 4].tolist() == [1, IGNORED_CLASS, IGNORED_CLASS, 0]  # the third lies 60 % inside
    alone = match_targets(ANCHORS, np.zeros((0, 4)), np.zeros(0, int), unknown_boxes=UNKNOWN)
    assert alone[:, 4].tolist() == [0, IGNORED_CLASS, IGNORED_CLASS, 0]


def test_a_matched_organ_wins_over_an_unknown_region():
    organ_in_region = np.array([[55, 55, 65, 65]], float)
    targets = match_targets(ANCHORS, organ_in_region, np.array([1]), unknown_boxes=UNKNOWN)
    assert targets[1, 4] == 2


def test_the_loss_neither_learns_nor_mines_ignored_boxes():
    from keras import ops

    from clinicalimaging.detect.losses import detection_loss

    loss = detection_loss(2, negatives_per_positive=3.0, grade_weight=0.0)
    targets = match_targets(ANCHORS, ORGAN, np.array([0]), unknown_boxes=UNKNOWN)
    prediction = np.zeros((1, 4, 4 + 3 + 1), np.float32)
    prediction[0, :, 4:7] = [0.0, 5.0, 0.0]  # every box says "class 0" confidently
    with_ignored = float(ops.convert_to_numpy(loss(targets[None], prediction))[0])
    as_background = targets.copy()
    as_background[as_background[:, 4] == IGNORED_CLASS, 4] = 0
    with_background = float(ops.convert_to_numpy(loss(as_background[None], prediction))[0])
    log_softmax = np.log(np.exp([0.0, 5.0, 0.0]) / np.exp([0.0, 5.0, 0.0]).sum())
    # The positive box is right; only the one background box apart counts as a negative.
    np.testing.assert_allclose(with_ignored, -log_softmax[1] - log_softmax[0], rtol=1e-5)
    np.testing.assert_allclose(with_background, -log_softmax[1] - 3 * log_softmax[0], rtol=1e-5)


def test_a_coarse_label_becomes_the_unknown_class_on_the_grid():
    labels = np.zeros((6, 20, 20), np.int16)
    labels[1:5, 2:8, 2:8] = 1  # liver
    labels[1:5, 10:16, 9:12] = 7  # the whole column as "vertebrae"
    volume = LabelledVolume(np.zeros(labels.shape, np.float32), np.diag([3.0, 3.0, 3.0, 1.0]), labels,
                            {1: "liver", 7: "vertebrae"}, name="coarse")
    case = grid_case(volume, VERTEBRAE, pixel_mm=3.0, modality="ct")
    assert set(np.unique(case.classes)) == {0, 1, UNKNOWN_CLASS}
    boxes, classes, unknown = case_slice_boxes(case.classes[2])
    assert classes.tolist() == [0] and len(unknown) == 1
    assert (unknown[0, 2:] - unknown[0, :2]).tolist() == [3, 6]


def test_a_label_map_with_only_coarse_labels_is_refused():
    labels = np.zeros((4, 8, 8), np.int16)
    labels[1:3, 2:6, 2:6] = 7
    volume = LabelledVolume(np.zeros(labels.shape, np.float32), np.eye(4), labels, {7: "vertebrae"}, name="coarse")
    with pytest.raises(InputError, match="holds none of the organs"):
        grid_case(volume, VERTEBRAE, pixel_mm=1.0, modality="ct")
