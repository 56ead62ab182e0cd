"""Image-quality metrics: CNR (eq. 5), noise, edge sharpness and the regions they are measured on."""

import numpy as np
import pytest
from scipy import ndimage

from clinicalimaging import InputError
from clinicalimaging.metrics import (contrast_to_noise_ratio, edge_sharpness, enhancement_metrics, lesion_regions,
                                     limit_background, measured_box, noise_std, pooled_contrast_to_noise_ratio)

SPACING = (3.0, 0.8, 0.8)


def disk_phantom(*, slices=4, size=64, radius=12, noise=5.0, seed=0):
    """A disk of 150 in a background of 100 on every slice, with Gaussian noise."""
    j, i = np.mgrid[:size, :size]
    disk = (j - size / 2) ** 2 + (i - size / 2) ** 2 <= radius ** 2
    mask = np.repeat(disk[np.newaxis], slices, axis=0)
    image = np.where(mask, 150.0, 100.0) + np.random.default_rng(seed).normal(0.0, noise, mask.shape)
    return image, mask


def test_cnr_of_two_constant_regions_with_known_noise():
    image = np.zeros((1, 8, 8))
    lesion = np.zeros(image.shape, dtype=bool)
    lesion[0, :4] = True
    background = ~lesion
    image[lesion] = 5.0
    image[background] = np.resize([0.0, 2.0], background.sum())  # mean 1, std 1
    assert contrast_to_noise_ratio(image, lesion, background) == pytest.approx(4.0)
    assert pooled_contrast_to_noise_ratio(image, lesion, background) == pytest.approx(4.0 * np.sqrt(2.0))
    assert noise_std(image, background) == pytest.approx(1.0)


def test_cnr_matches_the_formula_on_noisy_samples():
    image, mask = disk_phantom()
    regions = lesion_regions(mask, SPACING)
    lesion, background = image[regions.lesion], image[regions.background]
    contrast = abs(lesion.mean() - background.mean())
    assert contrast_to_noise_ratio(image, regions.lesion, regions.background) == pytest.approx(
        contrast / background.std())
    assert pooled_contrast_to_noise_ratio(image, regions.lesion, regions.background) == pytest.approx(
        contrast / np.sqrt((lesion.var() + background.var()) / 2))
    assert contrast_to_noise_ratio(image, regions.lesion, regions.background) == pytest.approx(10.0, rel=0.1)


def test_noise_free_background_gives_infinite_cnr_and_constant_regions_are_rejected():
    image = np.where(disk_phantom(noise=0.0)[1], 150.0, 100.0)
    regions = lesion_regions(image == 150.0, SPACING)
    assert contrast_to_noise_ratio(image, regions.lesion, regions.background) == np.inf
    with pytest.raises(InputError, match="constant"):
        contrast_to_noise_ratio(np.full(image.shape, 7.0), regions.lesion, regions.background)
    with pytest.raises(InputError, match="constant"):
        enhancement_metrics(np.full(image.shape, 7.0), image == 150.0, SPACING)


def test_smoothing_raises_cnr_but_lowers_edge_sharpness():
    image, mask = disk_phantom()
    regions = lesion_regions(mask, SPACING)
    before = enhancement_metrics(image, mask, SPACING, regions=regions)
    after = enhancement_metrics(ndimage.gaussian_filter(image, (0, 2, 2)), mask, SPACING, regions=regions)
    assert after["cnr"] > 3 * before["cnr"]
    assert after["noise_std"] < before["noise_std"] / 3
    assert after["edge_sharpness"] < 0.7 * before["edge_sharpness"]
    assert set(before) == {"cnr", "cnr_pooled", "noise_std", "edge_sharpness", "lesion_mean", "background_mean"}
    assert before["lesion_mean"] == pytest.approx(150.0, abs=1.0)
    assert before["background_mean"] == pytest.approx(100.0, abs=1.0)


def test_edge_sharpness_ignores_a_linear_grey_scale_and_follows_the_spacing():
    image, mask = disk_phantom(noise=1.0)
    sharpness = edge_sharpness(image, mask, SPACING)
    assert edge_sharpness(3.0 * image - 500.0, mask, SPACING) == pytest.approx(sharpness)
    assert edge_sharpness(image, mask, (3.0, 1.6, 1.6)) == pytest.approx(sharpness / 2)


def brute_force_distance_mm(mask_slice, spacing_in_plane):
    """Distance in mm from every pixel of a slice to the nearest lesion pixel, by exhaustive search."""
    lesion_points = np.argwhere(mask_slice) * spacing_in_plane
    all_points = np.indices(mask_slice.shape).reshape(2, -1).T * spacing_in_plane
    distances = np.sqrt(((all_points[:, np.newaxis] - lesion_points[np.newaxis]) ** 2).sum(-1)).min(axis=1)
    return distances.reshape(mask_slice.shape)


def test_ring_lies_between_inner_and_outer_distance_in_plane_on_anisotropic_spacing():
    spacing = (5.0, 0.5, 1.0)  # thick slices, non-square pixels: the ring is round in mm, in px of 0.5 mm
    mask = np.zeros((4, 48, 30), dtype=bool)
    mask[1:3, 20:28, 12:17] = True
    regions = lesion_regions(mask, spacing, ring_inner_px=3, ring_outer_px=10)
    distance = brute_force_distance_mm(mask[1], np.array(spacing[1:]))
    expected_ring = (distance >= 3 * 0.5) & (distance <= 10 * 0.5)
    assert not (regions.background & mask).any()
    np.testing.assert_array_equal(regions.background[1], expected_ring)
    np.testing.assert_array_equal(regions.background[2], expected_ring)
    for empty_slice in (0, 3):
        assert not regions.background[empty_slice].any()
        assert not regions.boundary[empty_slice].any()
        assert not regions.lesion[empty_slice].any()


def test_core_is_the_eroded_lesion_and_boundary_straddles_the_edge():
    mask = np.zeros((1, 40, 40), dtype=bool)
    mask[0, 10:30, 10:30] = True
    regions = lesion_regions(mask, SPACING, erosion_px=2)
    expected_core = np.zeros_like(mask)
    expected_core[0, 12:28, 12:28] = True
    np.testing.assert_array_equal(regions.lesion, expected_core)
    expected_boundary = np.zeros_like(mask)
    expected_boundary[0, 9:31, 9:31] = True
    expected_boundary[0, 11:29, 11:29] = False
    expected_boundary[0, [9, 9, 30, 30], [9, 30, 9, 30]] = False  # corners are not 4-connected to the lesion
    np.testing.assert_array_equal(regions.boundary, expected_boundary)


def test_a_lesion_too_small_to_erode_keeps_its_mask_as_core():
    mask = np.zeros((2, 30, 30), dtype=np.uint8)
    mask[0, 15, 15] = 1
    regions = lesion_regions(mask, SPACING)
    np.testing.assert_array_equal(regions.lesion, mask.astype(bool))


def test_a_2d_image_is_one_slice():
    image, mask = disk_phantom(slices=1)
    assert enhancement_metrics(image[0], mask[0], SPACING) == pytest.approx(enhancement_metrics(image, mask, SPACING))


@pytest.mark.parametrize("spacing", [SPACING, (2.0, 0.6, 1.1)])
@pytest.mark.parametrize("where", [(slice(3, 6), slice(20, 31), slice(30, 38)),
                                   (slice(0, 2), slice(0, 9), slice(55, 64))])
def test_regions_and_metrics_of_the_measured_box_equal_those_of_the_whole_image(spacing, where):
    # An irregular lesion inside the image and one touching its border, on square and non-square pixels.
    rng = np.random.default_rng(7)
    image = rng.normal(100.0, 5.0, (8, 64, 64))
    mask = np.zeros(image.shape, bool)
    mask[where] = rng.random(mask[where].shape) < 0.8
    image[mask] += 40.0
    box = measured_box(mask)
    assert box[0] == slice(where[0].start, where[0].stop)
    whole, part = lesion_regions(mask, spacing), lesion_regions(mask[box], spacing)
    for name in ("lesion", "background", "boundary"):
        region = getattr(whole, name)
        np.testing.assert_array_equal(getattr(part, name), region[box])
        assert np.count_nonzero(region[box]) == np.count_nonzero(region)  # nothing measured outside the box
    assert enhancement_metrics(image[box], mask[box], spacing) == \
        pytest.approx(enhancement_metrics(image, mask, spacing), rel=1e-12)


def test_measured_box_is_the_lesion_slices_and_the_ring_in_plane():
    mask = np.zeros((6, 80, 90), bool)
    mask[2:4, 30:40, 50:55] = True
    assert measured_box(mask) == (slice(2, 4), slice(19, 51), slice(39, 66))
    assert measured_box(mask, ring_outer_px=3.5) == (slice(2, 4), slice(25, 45), slice(45, 60))
    assert measured_box(mask[2]) == (slice(19, 51), slice(39, 66))
    with pytest.raises(InputError, match="empty"):
        measured_box(np.zeros((2, 9, 9)))


@pytest.mark.parametrize("mask, spacing, message", [
    (np.zeros((2, 20, 20)), SPACING, "empty"),
    (np.ones((2, 20, 20)), SPACING, "background ring"),
    (np.ones((2, 2, 20, 20)), SPACING, "2-D or 3-D"),
    (disk_phantom(slices=2, size=30, radius=5)[1], (1.0, 1.0), "spacing"),
    (disk_phantom(slices=2, size=30, radius=5)[1], (1.0, -1.0, 1.0), "spacing"),
])
def test_bad_lesion_masks_are_rejected(mask, spacing, message):
    with pytest.raises(InputError, match=message):
        lesion_regions(mask, spacing)


def test_bad_images_are_rejected():
    image, mask = disk_phantom(slices=2)
    with pytest.raises(InputError, match="does not match"):
        enhancement_metrics(image, mask[:, :-1], SPACING)
    image[0, 32, 32] = np.nan
    with pytest.raises(InputError, match="NaN"):
        enhancement_metrics(image, mask, SPACING)
    with pytest.raises(InputError, match="ring_inner_px"):
        lesion_regions(mask, SPACING, ring_inner_px=5, ring_outer_px=2)


def test_limit_background_keeps_only_ring_voxels_in_the_range_of_the_original():
    mask = np.zeros((1, 40, 40), dtype=bool)
    mask[0, 15:25, 15:25] = True
    image = np.full(mask.shape, 40.0)
    image[0, :, :12] = -900.0  # air on the left, inside the ring's reach
    regions = lesion_regions(mask, SPACING)
    limited = limit_background(regions, image, (-150, 250))
    assert limited.background.sum() < regions.background.sum()
    assert np.all(image[limited.background] == 40.0)
    np.testing.assert_array_equal(limited.lesion, regions.lesion)
    with pytest.raises(InputError, match="No voxel of the background ring"):
        limit_background(regions, image, (300, 400))
    with pytest.raises(InputError, match="LOW < HIGH"):
        limit_background(regions, image, (250, -150))
