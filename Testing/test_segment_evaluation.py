"""Grow from seeds as a baseline, the simulated clinician's outline and the segmentation comparison."""

import math

import numpy as np
import pytest
import SimpleITK as sitk

from clinicalimaging.errors import InputError
from clinicalimaging.phantom import make_phantom
from clinicalimaging.segment.grow_from_seeds import grow_from_seeds
from clinicalimaging.segment.evaluation import (compare_segmentations, format_segmentation_table, outlined_slices,
                                                simulate_outline)

METHODS = ["preprocessing", "level set", "plain SVM", "self-paced SVM", "grow from seeds"]


def _disk(shape=(5, 64, 64), centre=(31.0, 33.0), radius=15.0, k=2):
    rows, columns = np.mgrid[:shape[1], :shape[2]]
    mask = np.zeros(shape, np.uint8)
    mask[k] = np.hypot(rows - centre[0], columns - centre[1]) <= radius
    mask[k + 1] = np.hypot(rows - centre[0], columns - centre[1]) <= radius / 2  # smaller neighbour slice
    return mask


def test_grow_from_seeds_separates_two_regions():
    rng = np.random.default_rng(0)
    image = np.where(np.arange(40) < 20, 0.0, 100.0)[np.newaxis, np.newaxis, :] + rng.normal(0, 5, (5, 40, 40))
    seeds = np.zeros(image.shape, np.uint8)
    seeds[2, 20, 5], seeds[2, 20, 35] = 1, 2
    labels = grow_from_seeds(image, seeds, (2.0, 1.0, 1.0))
    assert labels.dtype == np.uint8 and labels.shape == image.shape
    assert np.all(labels[:, :, :20] == 1) and np.all(labels[:, :, 20:] == 2)


def test_grow_from_seeds_rejects_bad_seeds():
    image = np.arange(1000, dtype=float).reshape(10, 10, 10)
    with pytest.raises(InputError, match="two labels"):
        grow_from_seeds(image, np.ones(image.shape, np.uint8), (1, 1, 1))
    with pytest.raises(InputError, match="shape"):
        grow_from_seeds(image, np.zeros((10, 10, 9), np.uint8), (1, 1, 1))


def test_simulate_outline_on_a_disk():
    centre, radius = (31.0, 33.0), 15.0
    points = simulate_outline(_disk(centre=centre, radius=radius))
    assert points.shape == (12, 3)
    assert np.all(points[:, 0] == 2)
    distances = np.hypot(points[:, 1] - centre[0], points[:, 2] - centre[1])
    assert np.all(np.abs(distances - radius) <= 1.0)
    angles = np.unwrap(np.arctan2(points[:, 1] - centre[0], points[:, 2] - centre[1]))
    assert np.allclose(np.diff(angles), 2 * math.pi / 12, atol=0.05)  # evenly spaced, in drawing order


def test_simulate_outline_takes_the_far_crossing_of_a_non_convex_lesion():
    mask = np.zeros((1, 60, 60), np.uint8)
    rows, columns = np.mgrid[:60, :60]
    ring = np.hypot(rows - 30, columns - 30)
    mask[0] = (ring <= 20) & ~((ring <= 12) & (columns > 30))  # a disk with a bite out of its right half
    points = simulate_outline(mask, count=8)
    assert np.all(np.abs(np.hypot(points[:, 1] - 30, points[:, 2] - 30) - 20) <= 1.0)


def _stack_of_disks(radii):
    rows, columns = np.mgrid[:40, :40]
    return np.stack([np.hypot(rows - 20, columns - 20) <= radius for radius in radii])


def test_outlined_slices_start_from_the_largest_and_spread_over_the_lesion():
    lesion = _stack_of_disks([-1, -1, 3, 5, 9, 7, -1, 5, 4, 3, 2, -1])  # slices 2-10, largest 4, a gap at 6
    assert outlined_slices(lesion) == [4]
    assert outlined_slices(lesion, 3) == [4, 5, 8]  # targets 4, 6, 8: 6 is empty, its nearest lesion slice is 5
    assert outlined_slices(lesion, 20) == [2, 3, 4, 5, 7, 8, 9, 10]  # never more than the lesion's slices
    with pytest.raises(InputError, match="At least one slice"):
        outlined_slices(lesion, 0)


def test_simulate_outline_on_several_slices():
    radii = [-1, 6, 9, 12, 15, 12, 9, -1]
    points = simulate_outline(_stack_of_disks(radii), count=8, slices=3)
    assert points.shape == (24, 3)
    for k in np.unique(points[:, 0]):
        on_slice = points[points[:, 0] == k]
        assert len(on_slice) == 8
        assert np.all(np.abs(np.hypot(on_slice[:, 1] - 20, on_slice[:, 2] - 20) - radii[int(k)]) <= 1.0)
    assert sorted(set(points[:, 0])) == [2, 4, 5]


def test_compare_segmentations_on_the_mr_phantom():
    phantom = make_phantom("mr", shape=(24, 96, 96), spacing=(2.5, 0.8, 0.8))
    rows = compare_segmentations(phantom.image, phantom.labels == phantom.lesion_label, phantom.spacing)
    assert [row["method"] for row in rows] == METHODS
    assert all(0.0 <= row["dice"] <= 1.0 and row["seconds"] >= 0 for row in rows)
    assert rows[3]["dice"] >= 0.8
    table = format_segmentation_table(rows)
    assert len(table.splitlines()) == 6 and "self-paced SVM" in table


def test_compare_segmentations_on_breast1(shared_data):
    image = sitk.ReadImage(str(shared_data / "breast1_image.nrrd"), sitk.sitkFloat32)
    label = sitk.Resample(sitk.ReadImage(str(shared_data / "breast1_label.nrrd")), image,
                          sitk.Transform(), sitk.sitkNearestNeighbor, 0)
    lesion = sitk.GetArrayFromImage(label) == 1
    assert lesion.any()
    rows = compare_segmentations(sitk.GetArrayFromImage(image), lesion, image.GetSpacing()[::-1])
    assert [row["method"] for row in rows] == METHODS
    assert all(math.isfinite(row["dice"]) and math.isfinite(row["hd95_mm"]) for row in rows)
