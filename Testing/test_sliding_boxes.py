"""Sliding-box extremes and sums by doubling against scipy.ndimage's max/min and uniform filters."""

import numpy as np
import pytest
from scipy import ndimage

from clinicalimaging.enhance.order_map import AIR_HU, reaches_air
from clinicalimaging.enhance.sliding_boxes import window_extreme, window_sum


@pytest.mark.parametrize("width", [1, 2, 3, 5, 7, 8, 15])
def test_window_extreme_equals_the_max_and_min_filters_inside_the_image(width):
    values = np.random.default_rng(width).integers(0, 1000, (3, 40, 33)).astype(np.uint16)
    lead = width // 2  # scipy starts each box width // 2 samples before its voxel
    inside = (slice(None), slice(lead, lead + 41 - width), slice(lead, lead + 34 - width))
    for combine, scipy_filter in ((np.maximum, ndimage.maximum_filter), (np.minimum, ndimage.minimum_filter)):
        expected = scipy_filter(values, size=(1, width, width))[inside]
        np.testing.assert_array_equal(window_extreme(values, combine, width, axes=(1, 2)), expected)


def test_reaches_air_marks_the_voxels_within_the_mask_reach_of_air():
    padded = np.zeros((5, 30, 30), dtype=np.float32)
    padded[2, 10, 20] = -1000.0
    near = reaches_air(padded, (1, 2, 3))
    expected = ndimage.minimum_filter(padded, size=(3, 5, 7))[1:-1, 2:-2, 3:-3] < AIR_HU
    assert near.shape == (3, 26, 24) and near.sum() == 3 * 5 * 7
    np.testing.assert_array_equal(near, expected)


@pytest.mark.parametrize("width", [1, 2, 3, 7, 8, 15, 16, 63])
def test_window_sum_equals_the_uniform_filter_times_the_box_size_exactly(width):
    values = np.random.default_rng(width).integers(0, 86, (2, 70, 80)).astype(np.uint32)
    lead = width // 2
    inside = (slice(None), slice(lead, lead + 71 - width), slice(lead, lead + 81 - width))
    expected = ndimage.uniform_filter(values.astype(np.float64), size=(1, width, width))[inside] * width ** 2
    summed = window_sum(values, width, axes=(1, 2))
    assert summed.dtype == np.uint32
    np.testing.assert_array_equal(summed, np.rint(expected).astype(np.uint32))
