"""Segmentation metrics: Dice and HD95 on hand-computable masks."""

import numpy as np
import pytest

from clinicalimaging import InputError
from clinicalimaging.metrics import dice, hausdorff_95

SPACING = (2.5, 0.8, 0.7)


def cube(shape=(20, 20, 20), start=(5, 5, 5), size=8):
    mask = np.zeros(shape, dtype=np.uint8)
    mask[tuple(slice(first, first + size) for first in start)] = 1
    return mask


def test_dice_of_overlapping_boxes():
    a = np.zeros((1, 4, 4), dtype=bool)
    b = np.zeros_like(a)
    a[0, :2] = True  # 8 voxels
    b[0, 1:] = True  # 12 voxels, 4 shared
    assert dice(a, b) == pytest.approx(2 * 4 / 20)
    assert dice(a, a) == 1.0


def test_dice_of_empty_masks():
    empty = np.zeros((3, 4, 4))
    assert dice(empty, empty) == 1.0
    assert dice(empty, cube((3, 4, 4), (0, 0, 0), 2)) == 0.0


@pytest.mark.parametrize(("axis", "shift"), [(0, 2), (1, 1), (2, 3)])
def test_hd95_of_a_shifted_cube_is_the_shift_in_mm(axis, shift):
    start = [5, 5, 5]
    start[axis] += shift
    assert hausdorff_95(cube(), cube(start=start), SPACING) == pytest.approx(shift * SPACING[axis])


def test_hd95_is_zero_for_identical_masks_and_symmetric():
    a, b = cube(), cube(start=(5, 6, 4), size=6)
    assert hausdorff_95(a, a, SPACING) == 0.0
    assert hausdorff_95(a, b, SPACING) == pytest.approx(hausdorff_95(b, a, SPACING))


def test_hd95_ignores_a_few_outlying_surface_voxels():
    a = cube(shape=(20, 40, 40), size=10)
    b = a.copy()
    b[5, 35, 35] = 1  # one far voxel: the plain Hausdorff distance is large, HD95 is not
    assert hausdorff_95(a, b, SPACING) == 0.0


def test_metric_errors():
    with pytest.raises(InputError, match="empty"):
        hausdorff_95(np.zeros((4, 4, 4)), cube((4, 4, 4), (0, 0, 0), 2), SPACING)
    with pytest.raises(InputError, match="different shapes"):
        dice(np.zeros((4, 4, 4)), np.zeros((4, 4, 5)))
