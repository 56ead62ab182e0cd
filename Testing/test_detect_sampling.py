"""Training slices: the geometric jitter of the augmentation keeps organs whole and scales them as asked."""

import numpy as np
import pytest

from clinicalimaging.detect.cases import grid_case, phantom_volumes
from clinicalimaging.detect.organs import DEFAULT_ORGANS
from clinicalimaging.detect.parameters import TrainParameters
from clinicalimaging.detect.sampling import PAD_INTENSITY, augmented_slice, jitter_geometry


@pytest.fixture(scope="module")
def phantom_case():
    return grid_case(phantom_volumes(1, shape=(24, 80, 80), spacing=(4.0, 3.0, 3.0))[0], list(DEFAULT_ORGANS), 3.0)


def middle_slice(case):
    middle = case.classes.shape[0] // 2
    return case.inputs[middle], case.classes[middle]


def areas(classes):
    return {value: int((classes == value).sum()) for value in np.unique(classes) if value > 0}


def test_a_rotation_keeps_every_organ_and_its_area(phantom_case):
    inputs, classes = middle_slice(phantom_case)
    parameters = TrainParameters(scale_jitter=0.0, aspect_jitter=0.0, rotation_jitter=45.0)
    rotated_inputs, rotated, _ = jitter_geometry(inputs, classes, None, parameters, np.random.default_rng(1))
    assert rotated_inputs.shape[:2] == rotated.shape and rotated_inputs.shape[2] == 2
    assert rotated.shape[0] > classes.shape[0]  # the frame grows to hold the rotated slice
    before, after = areas(classes), areas(rotated)
    assert before.keys() == after.keys()
    for value, area in before.items():
        assert after[value] == pytest.approx(area, rel=0.1, abs=3)
    corner = rotated_inputs[0, 0]
    assert corner[0] == PAD_INTENSITY and np.isfinite(corner[1])


def test_zoom_and_stretch_scale_the_areas(phantom_case):
    inputs, classes = middle_slice(phantom_case)
    parameters = TrainParameters(scale_jitter=0.3, aspect_jitter=0.2, rotation_jitter=0.0)
    rng = np.random.default_rng(7)
    zoom = 1.0 + np.random.default_rng(7).uniform(-0.3, 0.3)  # the jitter's first draw
    _, scaled, _ = jitter_geometry(inputs, classes, None, parameters, rng)
    liver = 1  # class index 0 + 1
    assert (scaled == liver).sum() == pytest.approx(zoom ** 2 * (classes == liver).sum(), rel=0.08)


def test_augmented_slices_have_the_training_size_and_boxes_inside(phantom_case):
    parameters = TrainParameters(crop_px=64, dihedral_probability=1.0)
    rng = np.random.default_rng(3)
    for _ in range(10):
        inputs, boxes, classes, grades, unknown, _ = augmented_slice(phantom_case, "axial", 12, parameters, {}, rng)
        assert inputs.shape == (64, 64, 2) and len(boxes) == len(classes) == len(grades) and len(unknown) == 0
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2:] <= 64).all() and (boxes[:, 2:] > boxes[:, :2]).all()
