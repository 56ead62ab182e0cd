"""Coarse-to-fine for large structures: the factor, block means and the way back to the fine grid."""

import numpy as np

from clinicalimaging.segment.multiresolution import (MAX_FACTOR, TARGET_RADIUS_VOXELS, block_mean,
                                                     coarsening_factor, upsampled)


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
