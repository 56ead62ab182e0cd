"""The rough step's region model (intensity log-likelihood ratio), its level set, and the automatic choice."""

import numpy as np
import pytest

from clinicalimaging import InputError
from clinicalimaging.metrics import dice
from clinicalimaging.segment.core import rough_model_for
from clinicalimaging.segment.levelset import region_segmentation, rough_segmentation
from clinicalimaging.segment.parameters import SegmentParameters
from clinicalimaging.segment.region_model import LLR_LIMIT, log_likelihood_ratio, outline_samples

SPACING = (1.0, 1.0, 1.0)


def two_tissue_sphere(seed=0):
    """A sphere (radius 9 voxels) with a bright core (300) in a darker wall (110), in fat (-100), with a bright
    vessel (300) beyond a 3-voxel fat gap; CT-like noise. Returns image, target, outline mask (middle slice)."""
    rng = np.random.default_rng(seed)
    k, j, i = np.mgrid[:32, :48, :48]
    radius = np.sqrt((k - 16) ** 2 + (j - 20) ** 2 + (i - 24) ** 2)
    target = radius <= 9
    core = radius <= 5.5
    vessel = np.hypot(j - 34.5, i - 24) <= 2.5
    image = np.full(target.shape, -100.0)
    image[vessel], image[target], image[core] = 300.0, 110.0, 300.0
    image += rng.normal(0, 15, image.shape)
    outline = np.zeros_like(target)
    outline[16] = target[16]
    return image.astype(np.float32), target, outline


def test_the_ratio_favours_both_tissues_inside_and_rejects_the_surroundings_and_the_unseen():
    rng = np.random.default_rng(1)
    inside = np.r_[rng.normal(110, 15, 600), rng.normal(300, 15, 400)]
    outside = rng.normal(-100, 15, 1500)
    ratio = log_likelihood_ratio(np.array([110.0, 300.0, -100.0, 200.0, 2000.0, -1000.0]), inside, outside)
    assert ratio[0] > 2 and ratio[1] > 2
    assert ratio[2] < -2
    assert ratio[3] < 0  # between the two tissues: seen in neither sample
    assert ratio[4] == ratio[5] == -LLR_LIMIT  # far outside the range of both
    assert ratio.dtype == np.float32


def test_outline_samples_come_from_the_eroded_outline_and_a_ring_off_its_edge():
    image = np.zeros((3, 40, 40), np.float32)
    mask = np.zeros(image.shape, bool)
    mask[1, 10:30, 10:30] = True
    image[1][mask[1]] = 5.0
    image[1, 9, 10:30] = 7.0  # the outline's edge pixels: neither inside (eroded) nor in the ring
    image[1, 30, 10:30] = 7.0
    inside, outside = outline_samples(image, mask, SPACING)
    assert len(inside) == 18 * 18 and set(inside) == {5.0}
    assert 7.0 not in set(outside) and len(outside) > 0


def test_outline_samples_need_an_outline_and_room_around_it():
    with pytest.raises(InputError, match="empty"):
        outline_samples(np.zeros((2, 8, 8)), np.zeros((2, 8, 8), bool), SPACING)
    with pytest.raises(InputError, match="roi_padding_px"):
        outline_samples(np.zeros((2, 8, 8)), np.ones((2, 8, 8), bool), SPACING)


def test_the_region_level_set_segments_a_two_tissue_structure_the_threshold_speed_cannot():
    image, target, outline = two_tissue_sphere()
    inside, outside = outline_samples(image, outline, SPACING)
    region = region_segmentation(log_likelihood_ratio(image, inside, outside), outline, SPACING)
    threshold = rough_segmentation(image, outline, SPACING, iterations=600, threshold_cap=0.75)
    assert dice(region, target) > 0.9
    assert dice(threshold, target) < dice(region, target) - 0.1


def test_auto_chooses_the_region_model_for_two_tissues_and_the_threshold_for_one():
    parameters = SegmentParameters()
    image, target, outline = two_tissue_sphere()
    assert rough_model_for(image, outline, SPACING, parameters) == "region"
    uniform = (np.where(target, 110.0, -100.0) + np.random.default_rng(3).normal(0, 15, image.shape))
    uniform = uniform.astype(np.float32)
    assert rough_model_for(uniform, outline, SPACING, parameters) == "threshold"
    assert rough_model_for(image, outline, SPACING, SegmentParameters(rough_model="threshold")) == "threshold"


def test_thick_slices_widen_the_threshold_range():
    from clinicalimaging.segment.core import THICK_SLICE_SIGMAS, THRESHOLD_SIGMAS, threshold_sigmas

    assert threshold_sigmas((6.5, 0.8, 0.8)) == THICK_SLICE_SIGMAS > THRESHOLD_SIGMAS
    assert threshold_sigmas((2.5, 0.8, 0.8)) == threshold_sigmas((1.0, 1.0, 1.0)) == THRESHOLD_SIGMAS
