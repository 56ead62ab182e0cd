"""Rough segmentation: z-resampling (images, shape-based masks), the threshold level set, morphological clean-up."""

import numpy as np
import pytest
from scipy import ndimage

from clinicalimaging import Cancelled, InputError
from clinicalimaging.metrics import dice
from clinicalimaging.phantom import make_phantom
from clinicalimaging.segment.levelset import rough_segmentation, signed_distance_to_surface
from clinicalimaging.segment.postprocess import clean_mask, fill_holes_per_slice, largest_component, open_and_close
from clinicalimaging.segment.resample import (image_back_to_grid, isotropic_spacing, mask_back_to_grid,
                                              resample_image_z, resample_mask_z)

THICK = (4.0, 1.0, 1.0)


def ellipsoid(shape, spacing, semi_axes_mm):
    """Analytic ellipsoid centred in the volume; semi-axes in mm, KJI order."""
    grids = np.meshgrid(*[(np.arange(size) - (size - 1) / 2) * step for size, step in zip(shape, spacing)],
                        indexing="ij")
    return sum((grid / axis) ** 2 for grid, axis in zip(grids, semi_axes_mm)) <= 1


# --- resample -----------------------------------------------------------------------------------------------------

def test_isotropic_spacing_divides_the_slice_spacing_and_is_capped():
    assert isotropic_spacing((2.5, 0.8, 0.8)) == pytest.approx(2.5 / 3)
    assert isotropic_spacing((8.0, 0.5, 0.5)) == pytest.approx(2.0)  # 16x capped at 4x
    assert isotropic_spacing((8.0, 0.5, 0.5), max_factor=8) == pytest.approx(1.0)
    assert isotropic_spacing((0.7, 0.8, 0.8)) == pytest.approx(0.7)  # already thin: unchanged


def test_image_interpolation_is_linear_and_exact_at_the_original_slices():
    image = np.random.default_rng(0).normal(100.0, 20.0, (5, 6, 7)).astype(np.float32)
    resampled, spacing = resample_image_z(image, THICK, 1.0)
    assert resampled.shape == (17, 6, 7)
    assert spacing == (1.0, 1.0, 1.0)
    np.testing.assert_array_equal(resampled[::4], image)
    np.testing.assert_allclose(resampled[1], 0.75 * image[0] + 0.25 * image[1], rtol=1e-6)
    np.testing.assert_allclose(resampled[6], 0.5 * image[1] + 0.5 * image[2], rtol=1e-6)
    np.testing.assert_array_equal(image_back_to_grid(resampled, spacing, image.shape, THICK), image)


def test_a_sphere_mask_goes_to_isotropic_and_back_unchanged():
    shape = (9, 40, 40)
    sphere = ellipsoid(shape, THICK, (14.0, 14.0, 14.0))
    iso, iso_spacing = resample_mask_z(sphere, THICK, 1.0)
    assert iso.dtype == np.uint8 and iso.shape == (33, 40, 40)
    np.testing.assert_array_equal(mask_back_to_grid(iso, iso_spacing, shape, THICK), sphere)
    # Between the slices the shape follows the true sphere far better than copying the nearest slice does.
    truth = ellipsoid(iso.shape, iso_spacing, (14.0, 14.0, 14.0))
    nearest = np.repeat(sphere, 4, axis=0)[2:35]
    assert dice(iso, truth) >= 0.95
    assert dice(iso, truth) > dice(nearest, truth) + 0.02


def test_interpolated_slices_of_an_ellipsoid_change_area_smoothly():
    shape = (7, 48, 48)
    mask = ellipsoid(shape, THICK, (13.0, 20.0, 16.0))
    assert mask.any(axis=(1, 2)).all()
    iso, _ = resample_mask_z(mask, THICK, 1.0)
    areas = iso.sum(axis=(1, 2)).astype(int)
    for k in range(shape[0] - 1):
        first, last = areas[4 * k], areas[4 * k + 4]
        segment = areas[4 * k: 4 * k + 5]
        assert np.all(np.diff(segment) * np.sign(last - first) >= 0), segment  # monotone between the neighbours
        if abs(last - first) > 0.2 * max(first, last):  # the edge moves several pixels: no single step
            assert min(first, last) < areas[4 * k + 2] < max(first, last), segment


def test_empty_and_full_masks_stay_so():
    empty, _ = resample_mask_z(np.zeros((3, 4, 4)), THICK, 2.0)
    full, _ = resample_mask_z(np.ones((3, 4, 4)), THICK, 2.0)
    assert empty.shape == full.shape == (5, 4, 4)
    assert not empty.any() and full.all()


def test_resample_rejects_bad_grids():
    with pytest.raises(InputError, match="whole number"):
        resample_image_z(np.zeros((3, 4, 4)), THICK, 1.5)
    with pytest.raises(InputError, match="was not made from"):
        mask_back_to_grid(np.zeros((8, 4, 4)), (1.0, 1.0, 1.0), (3, 4, 4), THICK)


# --- level set ----------------------------------------------------------------------------------------------------

def test_signed_distance_is_positive_inside_in_mm():
    mask = np.zeros((9, 9, 9), dtype=bool)
    mask[2:7, 2:7, 2:7] = True
    distance = signed_distance_to_surface(mask, (2.0, 1.0, 1.0))
    assert distance.dtype == np.float32
    assert distance[4, 4, 4] == pytest.approx(3.0)  # 3 voxels to the nearest outside voxel in-plane
    assert distance[4, 4, 0] == pytest.approx(-2.0)
    assert distance[0, 4, 4] == pytest.approx(-4.0)  # 2 slices of 2 mm
    assert np.all((distance > 0) == mask)
    with pytest.raises(InputError, match="empty"):
        signed_distance_to_surface(np.zeros((3, 3, 3)), (1.0, 1.0, 1.0))


@pytest.fixture(scope="module")
def lesion_crop():
    """The MR phantom's lesion with a margin, at near-isotropic spacing, as the pipeline feeds the level set."""
    phantom = make_phantom("mr")
    lesion = phantom.labels == phantom.lesion_label
    corners = np.argwhere(lesion)
    crop = tuple(slice(max(low - margin, 0), high + margin + 1)
                 for low, high, margin in zip(corners.min(0), corners.max(0), (3, 10, 10)))
    target = isotropic_spacing(phantom.spacing)
    image, spacing = resample_image_z(phantom.image[crop], phantom.spacing, target)
    mask, _ = resample_mask_z(lesion[crop], phantom.spacing, target)
    return image, mask.astype(bool), spacing


@pytest.mark.parametrize("change", ["eroded", "dilated"])
def test_level_set_recovers_the_lesion_from_a_wrong_initial_mask(lesion_crop, change):
    image, lesion, spacing = lesion_crop
    ball = ndimage.iterate_structure(ndimage.generate_binary_structure(3, 1), 2)
    initial = (ndimage.binary_erosion if change == "eroded" else ndimage.binary_dilation)(lesion, ball)
    fractions = []
    result = rough_segmentation(image, initial, spacing, progress=lambda fraction, message: fractions.append(fraction))
    assert result.dtype == np.uint8 and result.shape == image.shape
    assert dice(result, lesion) >= 0.85
    assert dice(result, lesion) > dice(initial, lesion) + 0.1
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)


def test_level_set_can_be_cancelled(lesion_crop):
    image, lesion, spacing = lesion_crop

    def cancel_at_third_iteration(fraction, message):
        if fraction > 0.01:
            raise Cancelled(message)

    with pytest.raises(Cancelled):
        rough_segmentation(image, lesion, spacing, progress=cancel_at_third_iteration)


def test_level_set_rejects_bad_inputs(lesion_crop):
    image, lesion, spacing = lesion_crop
    with pytest.raises(InputError, match="empty"):
        rough_segmentation(image, np.zeros_like(lesion), spacing)
    with pytest.raises(InputError, match="constant"):
        rough_segmentation(np.full(image.shape, 7.0), lesion, spacing)
    with pytest.raises(InputError, match="does not match"):
        rough_segmentation(image, lesion[1:], spacing)


def test_an_outline_on_one_slice_grows_along_k():
    """A one-voxel-thick initial front (one outlined slice, no interpolation needed) must still move along K."""
    rng = np.random.default_rng(0)
    image = rng.normal(0.0, 5.0, (30, 40, 40)).astype(np.float32)
    image[5:25, 8:32, 8:32] += 100.0
    initial = np.zeros(image.shape, bool)
    initial[15, 12:28, 12:28] = True
    result = rough_segmentation(image, initial, (3.0, 3.0, 3.0))
    assert np.array_equal(np.flatnonzero(result.any(axis=(1, 2))), np.arange(5, 25))


def _bar_through_the_crop():
    """A bright bar through every slice that leaves the crop at J = 29, and its cross-section on slices 4-7."""
    rng = np.random.default_rng(1)
    image = rng.normal(0.0, 5.0, (12, 30, 30)).astype(np.float32)
    bar = np.zeros(image.shape, bool)
    bar[:, 5:30, 8:22] = True
    image[bar] += 100.0
    initial = bar.copy()
    initial[:4] = initial[8:] = False
    return image, bar, initial


def test_a_lesion_cut_by_the_crop_keeps_its_outermost_voxels():
    """The front reaches the crop's first and last slices and its side face (ITK's front alone stops short)."""
    image, bar, initial = _bar_through_the_crop()
    result = rough_segmentation(image, initial, (1.0, 1.0, 1.0), iterations=600)
    assert result[0, 20, 15] and result[-1, 20, 15] and result[6, 29, 15]
    assert dice(result, bar) > 0.95


def test_the_result_does_not_depend_on_the_intensity_scale():
    image, bar, initial = _bar_through_the_crop()
    results = [rough_segmentation(image * scale + offset, initial, (1.0, 1.0, 1.0))
               for scale, offset in ((1.0, 0.0), (1e-3, 0.0), (40.0, -1000.0))]
    assert dice(results[0], bar) > 0.9
    for other in results[1:]:
        assert np.count_nonzero(other != results[0]) <= 0.001 * bar.sum()


def test_a_mask_filling_most_of_its_crop_still_evolves():
    """Too little room beside the mask for the usual ring (a structure cut by the crop): its border is used."""
    rng = np.random.default_rng(0)
    image = rng.normal(100.0, 5.0, (6, 14, 14))
    lesion = np.zeros(image.shape, bool)
    lesion[1:5, 1:13, 1:13] = True
    image[lesion] += 60.0
    result = rough_segmentation(image, lesion, (1.0, 1.0, 1.0))
    assert dice(result, lesion) > 0.9


# --- post-processing ----------------------------------------------------------------------------------------------

ANISOTROPIC = (2.5, 0.5, 0.5)


def test_opening_removes_a_thin_spur_and_keeps_a_thin_slab():
    mask = np.zeros((6, 40, 40), dtype=bool)
    mask[2:4, 10:30, 10:30] = True  # two slices thick: the ball is flat along K (radius 0 slices)
    mask[2:4, 19:21, 30:38] = True  # a spur 2 px wide
    cleaned = open_and_close(mask, ANISOTROPIC, radius_mm=1.0)
    assert not cleaned[:, 19:21, 32:38].any()
    assert cleaned[2:4, 12:28, 12:28].all()


def test_closing_bridges_a_narrow_gap():
    mask = np.zeros((3, 30, 40), dtype=bool)
    mask[:, 5:25, 5:19] = True
    mask[:, 5:25, 20:35] = True  # a gap of one column
    assert open_and_close(mask, (1.0, 0.5, 0.5), radius_mm=1.0)[1, 10:20, 19].all()


def test_clean_mask_keeps_the_largest_or_the_seeded_component():
    mask = np.zeros((5, 40, 40), dtype=np.uint8)
    mask[1:4, 5:20, 5:20] = 1   # large
    mask[1:4, 25:33, 25:33] = 1  # small
    largest = clean_mask(mask, ANISOTROPIC)
    assert largest[2, 10, 10] == 1 and not largest[:, 25:, 25:].any()
    seed = np.zeros_like(mask)
    seed[2, 28, 28] = 1
    seeded = clean_mask(mask, ANISOTROPIC, keep="touching_seed", seed_mask=seed)
    assert seeded[2, 28, 28] == 1 and not seeded[:, :20, :20].any()
    seed[:] = 0
    seed[2, 0, 0] = 1
    with pytest.raises(InputError, match="touches the seed"):
        clean_mask(mask, ANISOTROPIC, keep="touching_seed", seed_mask=seed)
    with pytest.raises(InputError, match="needs a seed"):
        clean_mask(mask, ANISOTROPIC, keep="touching_seed")
    assert not clean_mask(np.zeros((3, 8, 8)), ANISOTROPIC).any()


def test_holes_are_filled_on_every_slice_including_the_first_and_last():
    ring = np.zeros((3, 20, 20), dtype=bool)
    ring[:, 4:16, 4:16] = True
    ring[:, 8:12, 8:12] = False  # a hole through the whole stack: open in 3-D, closed in each slice
    filled = fill_holes_per_slice(ring)
    assert filled[:, 4:16, 4:16].all() and filled.sum() == 3 * 144
    assert clean_mask(ring, ANISOTROPIC, radius_mm=0.0)[:, 8:12, 8:12].all()


def test_components_by_size():
    mask = np.zeros((3, 20, 20), dtype=bool)
    mask[1, 2:10, 2:10] = True  # 64 voxels
    mask[:, 12:15, 12:15] = True  # 27 voxels, across slices
    mask[0, 0, 19] = True  # a single voxel
    assert largest_component(mask).sum() == 64
    assert largest_component(mask, 2).sum() == 27 and largest_component(mask, 2)[2, 13, 13]
    assert largest_component(mask, 3).sum() == 1
    with pytest.raises(InputError, match="3 connected component"):
        largest_component(mask, 4)
