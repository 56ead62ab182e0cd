"""The paper's preprocessing: outline ROI, manual region, lesion-mask refinement and the 8x augmentation."""

import numpy as np
import pytest

from clinicalimaging import Cancelled, InputError
from clinicalimaging.phantom import make_phantom
from clinicalimaging.preprocess import (AUGMENTATIONS, Augmentation, augment, augment_all, augment_labels, deaugment,
                                        deaugment_labels, outline_mask, outline_roi, refine_lesion_mask)

SPACING = (3.0, 0.8, 0.8)


def rectangle_outline(k, j0, j1, i0, i1):
    """The 4 corners, in drawing order, of the rectangle [j0, j1] x [i0, i1] on slice k (voxel coordinates)."""
    return np.array([(k, j0, i0), (k, j0, i1), (k, j1, i1), (k, j1, i0)], dtype=float)


def square_lesion(*, bright=True, size=64, slices=3, start=20, stop=41, noise=4.0, seed=0):
    """A square lesion [start, stop) on every slice: 200 on 100 (bright) or 50 on 150 (dark), Gaussian noise."""
    lesion = np.zeros((slices, size, size), bool)
    lesion[:, start:stop, start:stop] = True
    inside, outside = (200.0, 100.0) if bright else (50.0, 150.0)
    image = np.where(lesion, inside, outside) + np.random.default_rng(seed).normal(0.0, noise, lesion.shape)
    return image, lesion


def dice(a, b):
    return 2.0 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b))


def test_roi_is_the_bounding_rectangle_expanded_by_20_px():
    points = [(5, 30.2, 25.0), (5, 40.0, 44.6), (5, 35.0, 30.0)]
    roi = outline_roi(points, (10, 100, 120), SPACING, margin_z_mm=0.0)
    assert roi.start == (5, 10, 5) and roi.stop == (6, 61, 66)
    assert roi.shape == (1, 51, 61)
    assert roi.slices == (slice(5, 6), slice(10, 61), slice(5, 66))
    assert not roi.touches_border


def test_roi_is_clipped_to_the_image_and_flags_the_border():
    roi = outline_roi(rectangle_outline(5, 8, 30, 40, 60), (10, 100, 120), SPACING, margin_z_mm=0.0)
    assert roi.start == (5, 0, 20) and roi.stop == (6, 51, 81)
    assert roi.touches_border


def test_margin_along_z_is_converted_from_mm_with_the_slice_spacing():
    points = [(10, 30, 30), (11, 40, 30), (12, 35, 45)]
    shape = (30, 100, 100)
    assert outline_roi(points, shape, (2.5, 1.0, 1.0), margin_z_mm=6.0).slices[0] == slice(7, 16)  # ceil(6/2.5) = 3
    assert outline_roi(points, shape, (2.0, 1.0, 1.0), margin_z_mm=6.0).slices[0] == slice(7, 16)  # exactly 3
    assert outline_roi(points, shape, (2.5, 1.0, 1.0), margin_z_mm=0.0).slices[0] == slice(10, 13)


def test_outline_mask_fills_the_polygon_on_the_outlined_slices_only():
    mask = outline_mask(rectangle_outline(2, 10, 20, 10, 30), (5, 40, 40))
    assert mask.dtype == np.uint8
    assert np.all(mask[2, 10:21, 10:31] == 1)
    assert mask.sum() == 11 * 21
    triangle = outline_mask([(1, 10, 10), (1, 10, 30), (1, 30, 10)], (3, 40, 40))[1]
    assert triangle[12, 12] and triangle[19, 19] and not triangle[22, 22]


def test_component_inside_the_manual_region_keeps_the_manual_region():
    image, lesion = square_lesion()
    points = rectangle_outline(1, 17, 43, 17, 43)  # drawn a little outside the lesion
    mask, details = refine_lesion_mask(image, points, SPACING)
    assert [entry.rule for entry in details.slices] == ["manual"]
    assert details.slices[0].lesion_is_bright
    assert 100 < details.slices[0].otsu_threshold < 200
    np.testing.assert_array_equal(mask, outline_mask(points, image.shape))


def test_component_larger_than_the_manual_region_keeps_the_processed_region():
    image, lesion = square_lesion()
    points = rectangle_outline(1, 25, 35, 25, 35)  # drawn well inside the lesion
    mask, details = refine_lesion_mask(image, points, SPACING)
    assert details.slices[0].rule == "processed"
    assert mask[0].sum() == 0 and mask[2].sum() == 0
    assert dice(mask[1] > 0, lesion[1]) > 0.97  # only the square's corners are rounded by the opening
    assert mask[1].sum() > 2 * outline_mask(points, image.shape).sum()
    assert details.slices[0].lesion_pixels == mask.sum()


def test_a_dark_lesion_on_a_bright_background_is_found():
    image, lesion = square_lesion(bright=False)
    points = rectangle_outline(1, 25, 35, 25, 35)
    mask, details = refine_lesion_mask(image, points, SPACING)
    assert not details.slices[0].lesion_is_bright
    assert details.slices[0].rule == "processed"
    assert dice(mask[1] > 0, lesion[1]) > 0.97
    _, forced = refine_lesion_mask(image, points, SPACING, lesion_is_bright=True)
    assert forced.slices[0].lesion_is_bright and forced.slices[0].rule == "manual"  # no bright pixel in the outline


def spur_image():
    """A 40 px bright square with four 10 px spurs: 9 px wide along +I and +J, 13 px wide along -I and -J."""
    image = np.full((3, 140, 140), 100.0)
    image[1, 50:90, 50:90] = 200.0
    image[1, 66:75, 90:100] = 200.0  # thin, pointing along +I
    image[1, 90:100, 66:75] = 200.0  # thin, pointing along +J
    image[1, 64:77, 40:50] = 200.0  # thick, pointing along -I
    image[1, 40:50, 64:77] = 200.0  # thick, pointing along -J
    return image


@pytest.mark.parametrize("spacing", [(3.0, 0.5, 1.0), (3.0, 1.0, 1.0), (3.0, 2.0, 0.5)])
def test_disk_radius_is_5_px_on_both_axes_whatever_the_pixel_spacing(spacing):
    image = spur_image()
    points = rectangle_outline(1, 58, 82, 58, 82)
    mask, details = refine_lesion_mask(image, points, spacing)
    assert details.slices[0].rule == "processed"
    # An opening with a disk of diameter 11 px removes the 9 px spurs and keeps the 13 px ones, along both axes;
    # a radius of 5 mm would span 10 px along J at 0.5 mm and remove the 13 px spur pointing along -I.
    assert mask[1, 70, 98] == 0 and mask[1, 98, 70] == 0
    assert mask[1, 70, 41] == 1 and mask[1, 41, 70] == 1
    reference, _ = refine_lesion_mask(image, points, (1.0, 1.0, 1.0))
    np.testing.assert_array_equal(mask, reference)


def boundary_points(lesion_slice, k, count=12):
    """``count`` points on the lesion's boundary, at equal angles around its centroid, as a clinician would click."""
    j, i = np.nonzero(lesion_slice)
    centre = np.array([j.mean(), i.mean()])
    points = []
    for angle in np.linspace(0.0, 2.0 * np.pi, count, endpoint=False):
        direction = np.array([np.sin(angle), np.cos(angle)])
        radius = 0.0
        while lesion_slice[tuple(np.rint(centre + (radius + 0.5) * direction).astype(int))]:
            radius += 0.5
        points.append((k, *(centre + radius * direction)))
    return np.array(points)


def test_phantom_lesion_is_refined_from_12_boundary_points():
    phantom = make_phantom("mr")
    lesion = phantom.labels == phantom.lesion_label
    k = int(np.argmax(lesion.sum(axis=(1, 2))))
    points = boundary_points(lesion[k], k)
    mask, details = refine_lesion_mask(phantom.image, points, phantom.spacing)
    assert [entry.slice_index for entry in details.slices] == [k]
    assert not details.slices[0].lesion_is_bright  # the MR lesion is darker than the liver
    assert dice(mask[k] > 0, lesion[k]) >= 0.8
    assert mask.sum() == mask[k].sum()


def test_two_outlined_slices_are_refined_separately_and_report_progress():
    image, lesion = square_lesion(slices=5)
    points = np.vstack([rectangle_outline(1, 25, 35, 25, 35), rectangle_outline(3, 17, 43, 17, 43)])
    fractions = []
    mask, details = refine_lesion_mask(image, points, SPACING, progress=lambda f, m: fractions.append(f))
    assert [(entry.slice_index, entry.rule) for entry in details.slices] == [(1, "processed"), (3, "manual")]
    assert mask[[0, 2, 4]].sum() == 0
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    with pytest.raises(Cancelled):
        refine_lesion_mask(image, points, SPACING, progress=lambda f, m: False)


@pytest.mark.parametrize("points, message", [
    (np.zeros((0, 3)), "No outline points"),
    ([(1, 20, 20), (1, 30, 30)], "at least 3 points; got 2"),
    ([(1, 20, 20), (1, np.nan, 30), (1, 30, 20)], "point(s) 1 have NaN"),
    ([(1, 20, 20), (1, -3.0, 30), (1, 30, 20)], "point 1 (k=1.0, j=-3.0, i=30.0) by 2.5 voxel(s) along J"),
    ([(1, 20, 20), (1, 20, 30), (2, 30, 20)], "slice 2: 1 point(s)"),
    ([(1, 20, 20), (1, 25, 25), (1, 30, 30)], "encloses no area"),
    ([(1, 20, 20, 0), (1, 20, 30, 0), (1, 30, 20, 0)], "(N, 3)"),
])
def test_bad_outline_points_are_refused_with_a_clear_message(points, message):
    image, _ = square_lesion()
    with pytest.raises(InputError) as error:
        refine_lesion_mask(image, points, SPACING)
    assert message in str(error.value)


def test_constant_roi_and_bad_sizes_are_refused():
    image = np.full((3, 64, 64), 7.0)
    image[0, 0, 0] = 8.0  # the volume has contrast, the ROI on slice 1 has none
    points = rectangle_outline(1, 25, 35, 25, 35)
    with pytest.raises(InputError, match="constant .* on slice 1"):
        refine_lesion_mask(image, points, SPACING)
    with pytest.raises(InputError, match="radius_px"):
        refine_lesion_mask(square_lesion()[0], points, SPACING, radius_px=2.5)
    with pytest.raises(InputError, match="margin"):
        outline_roi(points, image.shape, SPACING, margin_px=-1)


def asymmetric_image():
    return np.arange(2 * 5 * 7, dtype=np.int32).reshape(2, 5, 7) ** 2


def test_augmentation_gives_8_distinct_copies_each_inverted_exactly():
    image = asymmetric_image()
    copies = augment_all(image)
    assert len(copies) == len(AUGMENTATIONS) == 8
    assert len({augmentation.name for augmentation in AUGMENTATIONS}) == 8
    assert len({(copy.shape, copy.tobytes()) for copy in copies}) == 8
    np.testing.assert_array_equal(copies[0], image)
    assert copies[0] is not image
    for transform, copy in zip(AUGMENTATIONS, copies):
        assert copy.shape == ((2, 7, 5) if transform.quarter_turns % 2 else image.shape)
        np.testing.assert_array_equal(deaugment(copy, transform), image)
        np.testing.assert_array_equal(augment(image, transform.name), copy)
    np.testing.assert_array_equal(augment(image, (0, True)), image[..., ::-1])
    np.testing.assert_array_equal(augment(image, Augmentation(1, False), axes=(0, 1)), np.rot90(image, 1, (0, 1)))


def test_label_augmentation_swaps_left_and_right_only_under_mirroring():
    labels = np.array([[[4, 0, 5, 1], [4, 4, 0, 5]]], dtype=np.uint8)  # kidney_left 4, kidney_right 5
    mirrored = augment_labels(labels, "rot0-mirror", mirror_swaps={4: 5})
    np.testing.assert_array_equal(mirrored, [[[1, 4, 0, 5], [4, 0, 5, 5]]])
    for transform in AUGMENTATIONS:
        augmented = augment_labels(labels, transform, mirror_swaps={4: 5})
        plain = augment(labels, transform)
        swapped = np.choose(plain, [0, 1, 2, 3, 5, 4])
        np.testing.assert_array_equal(augmented, swapped if transform.mirrored else plain)
        np.testing.assert_array_equal(deaugment_labels(augmented, transform, mirror_swaps={4: 5}), labels)
        assert augmented.dtype == labels.dtype


def test_bad_augmentation_arguments_are_refused():
    with pytest.raises(InputError, match="both"):
        augment_labels(np.zeros((4, 4), int), "rot0", mirror_swaps={4: 5, 6: 4})
    with pytest.raises(InputError, match="Unknown augmentation"):
        augment(np.zeros((4, 4)), "rot45")
    with pytest.raises(InputError, match="quarter_turns"):
        augment(np.zeros((4, 4)), (4, False))
    with pytest.raises(InputError, match="two distinct axes"):
        augment(np.zeros(4), "rot90")


def test_a_processed_region_that_reaches_the_roi_edge_is_not_kept():
    image, lesion = square_lesion()
    image[1, 24:37, :] += 100.0 * ~lesion[1, 24:37, :]  # a bright band through the lesion, across the whole image
    points = rectangle_outline(1, 25, 35, 25, 35)
    mask, details = refine_lesion_mask(image, points, SPACING)
    assert details.slices[0].rule == "leaked"
    np.testing.assert_array_equal(mask, outline_mask(points, image.shape))
