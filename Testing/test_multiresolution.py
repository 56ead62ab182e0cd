"""Resolutions for large structures: the working grid, coarse-to-fine, block means and the way back."""

import numpy as np
import pytest

from clinicalimaging.metrics import dice
from clinicalimaging.segment.multiresolution import (MAX_FACTOR, TARGET_RADIUS_VOXELS, WORKING_RADIUS_VOXELS,
                                                     block_any, block_mean, coarse_points, coarsening_factor,
                                                     outline_radius_px, upsampled, upsampled_image, upsampled_mask,
                                                     working_factors)


def outline_of_radius(radius_voxels, size=200):
    j, i = np.ogrid[:size, :size]
    mask = np.zeros((3, size, size), bool)
    mask[1] = np.hypot(j - size / 2, i - size / 2) <= radius_voxels
    return mask


def test_lesions_stay_on_the_fine_grid_and_organs_go_coarse():
    assert coarsening_factor(outline_of_radius(TARGET_RADIUS_VOXELS - 1), (1.0, 1.0, 1.0)) == 1
    assert coarsening_factor(outline_of_radius(2.2 * TARGET_RADIUS_VOXELS), (1.0, 1.0, 1.0)) == 2
    assert coarsening_factor(outline_of_radius(90), (1.0, 1.0, 1.0)) == MAX_FACTOR
    # The same outline in mm on voxels twice as large spans half as many voxels.
    assert coarsening_factor(outline_of_radius(2.2 * TARGET_RADIUS_VOXELS), (2.0, 2.0, 2.0)) == 2
    assert coarsening_factor(np.zeros((3, 8, 8), bool), (1.0, 1.0, 1.0)) == 1


def test_block_means_pad_with_edge_values_and_keep_the_mean():
    volume = np.arange(5 * 6 * 7, dtype=np.float32).reshape(5, 6, 7)
    coarse = block_mean(volume, 2)
    assert coarse.shape == (3, 3, 4)
    assert coarse[0, 0, 0] == volume[:2, :2, :2].mean()
    assert coarse[-1, -1, -1] == volume[4, 4:6, 6].mean()  # padded along K and I by edge values


def test_upsampling_returns_the_fine_shape_and_the_blocks():
    coarse = np.zeros((3, 3, 4), np.uint8)
    coarse[1, 1, 2] = 1
    fine = upsampled(coarse, 2, (5, 6, 7))
    assert fine.shape == (5, 6, 7)
    assert fine.sum() == 8 and fine[2:4, 2:4, 4:6].all()


def square_outline(k, centre, half_side):
    """Four outline points (k, j, i) of a square, in drawing order."""
    j, i = centre
    return [(k, j - half_side, i - half_side), (k, j - half_side, i + half_side),
            (k, j + half_side, i + half_side), (k, j + half_side, i - half_side)]


def test_the_working_grid_coarsens_only_large_outlines_and_not_thick_slices():
    assert outline_radius_px(square_outline(3, (50, 50), 10)) == pytest.approx(20 / np.sqrt(np.pi))
    assert outline_radius_px([[np.nan, 0, 0]] * 3) == 0.0
    small = square_outline(3, (100, 100), 0.8 * WORKING_RADIUS_VOXELS)
    large = square_outline(3, (100, 100), 1.5 * WORKING_RADIUS_VOXELS)  # radius 1.7 x the limit
    assert working_factors(small, (1.0, 1.0, 1.0)) == (1, 1, 1)
    assert working_factors(large, (1.0, 1.0, 1.0)) == (2, 2, 2)
    assert working_factors(large, (5.0, 1.0, 1.0)) == (1, 2, 2)  # thick slices stay as they are


def test_coarse_points_and_block_any_match_block_means():
    fine = np.zeros((4, 8, 8))
    fine[2, 5, 3] = 1.0
    coarse = block_mean(fine, (2, 2, 2))
    k, j, i = np.rint(coarse_points([(2, 5, 3)], (2, 2, 2))[0]).astype(int)
    assert coarse[k, j, i] > 0 and np.count_nonzero(coarse) == 1
    marked = block_any(fine > 0, (2, 2, 2))
    assert marked.shape == (2, 4, 4) and marked[k, j, i] and marked.sum() == 1


def test_a_coarse_ball_goes_back_to_the_fine_grid_smoothly():
    k, j, i = np.ogrid[:41, :50, :50]
    fine = np.hypot(np.hypot(k - 20.0, j - 24.5), i - 24.5) <= 15
    coarse = block_mean(fine, (2, 2, 2)) >= 0.5
    back = upsampled_mask(coarse, (2, 2, 2), fine.shape, (2.0, 2.0, 2.0))
    assert back.shape == fine.shape and back.dtype == np.uint8
    assert dice(back, fine) > max(0.96, dice(upsampled(coarse, 2, fine.shape), fine))  # better than blocks
    assert not upsampled_mask(np.zeros((3, 3, 3)), (2, 2, 2), (5, 6, 6), (2.0, 2.0, 2.0)).any()
    ramp = upsampled_image(np.arange(4, dtype=np.float32)[None, None, :].repeat(2, 0).repeat(2, 1), (1, 1, 2),
                           (2, 2, 8))
    assert np.all(np.diff(ramp[0, 0]) >= 0) and ramp[0, 0, 0] == 0 and ramp[0, 0, -1] == 3
