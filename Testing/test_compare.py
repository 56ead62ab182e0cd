"""Baseline enhancements and the comparison of the fractional enhancement against them (array level)."""

import math

import numpy as np
import pytest
from scipy import ndimage

from clinicalimaging import Cancelled, InputError, mrml
from clinicalimaging.enhance import EnhanceParameters, compare, fractional_enhance
from clinicalimaging.enhance.baselines import BASELINES, clahe, constant_order, laplacian_sharpening, unsharp_mask
from clinicalimaging.enhance.compare import compare_enhancements, format_table
from clinicalimaging.metrics import edge_sharpness, enhancement_metrics, measured_box
from clinicalimaging.phantom import make_phantom

SPACING = (3.0, 0.8, 0.8)
METHODS = ["original", "constant order 0.5", "CLAHE", "unsharp mask", "Laplacian sharpening", "paper mode",
           "default mode"]
COLUMNS = ["method", "cnr", "cnr_ratio", "cnr_pooled", "noise_std", "edge_sharpness", "lesion_mean",
           "background_mean"]


def disk(*, blur=0.0, noise=5.0, seed=0):
    """A disk of 150 in 100 (3 slices of 48 x 48), optionally blurred in-plane, with Gaussian noise."""
    j, i = np.mgrid[:48, :48]
    mask = np.repeat(((j - 24) ** 2 + (i - 24) ** 2 <= 10 ** 2)[np.newaxis], 3, axis=0)
    image = ndimage.gaussian_filter(np.where(mask, 150.0, 100.0), (0, blur, blur))
    return (image + np.random.default_rng(seed).normal(0.0, noise, mask.shape)).astype(np.float32), mask


@pytest.fixture(scope="module")
def small_phantom():
    return make_phantom("mr", shape=(10, 64, 64), spacing=(3.0, 1.0, 1.0))


@pytest.mark.parametrize("name", list(BASELINES))
def test_baseline_keeps_shape_and_range_and_changes_the_image(name):
    image, _ = disk()
    enhanced = BASELINES[name](image, SPACING)
    assert enhanced.shape == image.shape
    assert enhanced.dtype == np.float32
    assert enhanced.min() >= image.min() and enhanced.max() <= image.max()
    assert np.abs(enhanced - image).mean() > 0.5
    assert BASELINES[name](image[1], SPACING).shape == image[1].shape


@pytest.mark.parametrize("sharpen", [unsharp_mask, laplacian_sharpening, constant_order])
def test_sharpening_baselines_raise_edge_sharpness_of_a_blurred_disk(sharpen):
    image, mask = disk(blur=1.5, noise=1.0)
    assert edge_sharpness(sharpen(image, SPACING), mask, SPACING) > 1.03 * edge_sharpness(image, mask, SPACING)


def test_baselines_reject_bad_options_and_images():
    image, _ = disk()
    with pytest.raises(InputError, match="below 1"):
        constant_order(image, SPACING, order=1.0)
    with pytest.raises(InputError, match="radius"):
        clahe(image, SPACING, radius_px=0)
    with pytest.raises(InputError, match="sigma"):
        unsharp_mask(image, SPACING, sigma_px=0.0)
    with pytest.raises(InputError, match="spacing"):
        laplacian_sharpening(image, (0.8, 0.8))
    image[0, 0, 0] = np.inf
    with pytest.raises(InputError, match="infinite"):
        laplacian_sharpening(image, SPACING)


@pytest.fixture(scope="module")
def ct_phantom():
    return make_phantom("ct", shape=(12, 160, 160), spacing=(2.5, 0.7, 0.7))


# Boxes (KJI) of the 12 x 160 x 160 phantom: inside the liver, at a corner, one slice almost whole, everything.
BOXES = [(slice(3, 8), slice(40, 90), slice(30, 70)), (slice(0, 4), slice(0, 30), slice(130, 160)),
         (slice(5, 6), slice(2, 150), slice(3, 157)), (slice(None), slice(None), slice(None))]


@pytest.mark.parametrize("name", list(BASELINES))
@pytest.mark.parametrize("box", BOXES)
def test_baseline_on_a_region_equals_the_whole_image_result_there(ct_phantom, name, box):
    image, spacing = ct_phantom.image, ct_phantom.spacing
    whole = BASELINES[name](image, spacing)[box]
    part = BASELINES[name](image, spacing, region=box)
    assert part.shape == whole.shape and part.dtype == whole.dtype
    # Exact but for SimpleITK's recursive Gaussian (unsharp mask, float32 resolution) and its hash-map order
    # of summation (CLAHE, see its Notes).
    np.testing.assert_allclose(part, whole, rtol=0, atol=1e-6 * np.ptp(image))


def test_clahe_region_sees_the_slice_range():
    # The box and its halo hold neither the slice's minimum nor its maximum: CLAHE still sees the slice's range.
    image = np.random.default_rng(5).normal(100.0, 10.0, (2, 64, 64)).astype(np.float32)
    image[:, 0, 0], image[:, -1, -1] = -1000.0, 1000.0
    box = (slice(None), slice(20, 40), slice(24, 44))
    np.testing.assert_allclose(clahe(image, SPACING, region=box), clahe(image, SPACING)[box], rtol=0, atol=1e-3)
    np.testing.assert_allclose(clahe(image[0], SPACING, region=box[1:]), clahe(image[0], SPACING)[box[1:]],
                               rtol=0, atol=1e-3)


@pytest.mark.parametrize("name", list(BASELINES))
def test_baseline_returns_a_constant_slice_unchanged(name):
    # SimpleITK's CLAHE divides by the slice's grey-value range and its Laplacian sharpening by the range of the
    # Laplacian: both gave NaN for a whole constant (blank, zero-filled) slice.
    image, _ = disk()
    image[1] = 100.0
    box = (slice(None), slice(10, 40), slice(8, 38))
    whole, part = BASELINES[name](image, SPACING), BASELINES[name](image, SPACING, region=box)
    assert np.isfinite(whole).all() and np.isfinite(part).all()
    assert (whole[1] == 100.0).all() and (part[1] == 100.0).all()
    np.testing.assert_array_equal(BASELINES[name](image[1], SPACING), image[1])


@pytest.mark.parametrize("name", list(BASELINES))
def test_baseline_reports_each_slice_and_stops_between_slices(name):
    image = disk()[0]
    updates = []
    BASELINES[name](image, SPACING, progress=lambda fraction, message: updates.append((fraction, message)))
    label = updates[0][1].split(":")[0]
    assert updates == [(0.0, f"{label}: slice 1 of 3"), (pytest.approx(1 / 3), f"{label}: slice 2 of 3"),
                       (pytest.approx(2 / 3), f"{label}: slice 3 of 3"), (1.0, f"{label}: done")]
    seen = []
    with pytest.raises(Cancelled):
        BASELINES[name](image, SPACING, progress=lambda fraction, message: seen.append(message) or len(seen) < 2)
    assert seen == [f"{label}: slice 1 of 3", f"{label}: slice 2 of 3"]


def test_baselines_reject_bad_regions():
    image = disk()[0]
    for region in [(slice(0, 2), slice(0, 4)), (slice(0, 2), slice(4, 4), slice(None)),
                   (slice(0, 3, 2), slice(None), slice(None)), (0, slice(None), slice(None))]:
        with pytest.raises(InputError, match="region"):
            clahe(image, SPACING, region=region)


def _full_volume_rows(image, mask, spacing, parameters):
    """The comparison as it is defined: every method on the whole volume, measured on the whole volume."""
    original = enhancement_metrics(image, mask, spacing)
    results = [original] + [enhancement_metrics(baseline(image, spacing), mask, spacing)
                            for baseline in BASELINES.values()]
    results += [enhancement_metrics(fractional_enhance(image, spacing, parameters.replace(mode=mode)).enhanced,
                                    mask, spacing) for mode in ("paper", "adaptive")]
    return results


def test_compare_enhancements_filters_only_the_lesion_box_and_equals_the_whole_volume_comparison(ct_phantom,
                                                                                                monkeypatch):
    mask = np.zeros(ct_phantom.image.shape, bool)
    mask[5:8, 60:72, 40:50] = ct_phantom.labels[5:8, 60:72, 40:50] == 2  # a small "lesion" in the liver
    mask[6, 66, 45] = True
    image, spacing, parameters = ct_phantom.image, ct_phantom.spacing, EnhanceParameters()
    regions_seen = []

    def recording(baseline):
        def run(image, spacing, *, region=None, progress=None):
            regions_seen.append(region)
            return baseline(image, spacing, region=region, progress=progress)
        return run

    monkeypatch.setattr(compare, "BASELINES", {name: recording(baseline) for name, baseline in BASELINES.items()})
    rows = compare_enhancements(image, mask, spacing, parameters=parameters)
    box = measured_box(mask)
    assert regions_seen == [box] * len(BASELINES)
    assert box == (slice(5, 8), slice(49, 83), slice(29, 61))  # the lesion's slices, in-plane 11 px around it
    monkeypatch.undo()
    for row, expected in zip(rows, _full_volume_rows(image, mask, spacing, parameters)):
        for key, value in expected.items():
            assert row[key] == pytest.approx(value, rel=1e-5), (row["method"], key)


def test_compare_enhancements_reports_baseline_slices_and_cancels_inside_clahe(ct_phantom):
    mask = ct_phantom.labels == ct_phantom.lesion_label
    slices = np.count_nonzero(mask.any(axis=(1, 2)))
    messages = []

    def cancel_on_the_second_clahe_slice(fraction, message):
        messages.append(message)
        return message != f"CLAHE: slice 2 of {slices}"

    with pytest.raises(Cancelled):
        compare_enhancements(ct_phantom.image, mask, ct_phantom.spacing, progress=cancel_on_the_second_clahe_slice)
    assert [message for message in messages if message.startswith("CLAHE")] == \
        [f"CLAHE: slice 1 of {slices}", f"CLAHE: slice 2 of {slices}"]
    assert messages[-1] == f"CLAHE: slice 2 of {slices}"


def test_compare_enhancements_on_a_phantom(small_phantom):
    fractions = []
    rows = compare_enhancements(small_phantom.image, small_phantom.labels == small_phantom.lesion_label,
                                small_phantom.spacing, progress=lambda fraction, message: fractions.append(fraction))
    assert [row["method"] for row in rows] == METHODS
    assert all(list(row) == COLUMNS for row in rows)
    assert all(math.isfinite(value) for row in rows for key, value in row.items() if key != "method")
    assert rows[0]["cnr_ratio"] == 1.0
    assert rows[1]["cnr_ratio"] == pytest.approx(rows[1]["cnr"] / rows[0]["cnr"])
    assert rows[-1]["cnr"] != rows[-2]["cnr"]  # the two fractional modes really differ
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    lines = format_table(rows).splitlines()  # this lesion barely stands out of its ring: some methods lose it
    assert len(lines) == len(METHODS) + 2 and lines[-1].startswith("contrast lost") and "CLAHE -" in lines[-1]


def test_compare_enhancements_stops_on_cancel_and_rejects_a_wrong_mask(small_phantom):
    mask = small_phantom.labels == small_phantom.lesion_label
    with pytest.raises(Cancelled):
        compare_enhancements(small_phantom.image, mask, small_phantom.spacing, progress=lambda fraction, message: False)
    with pytest.raises(InputError, match="lesion mask has shape"):
        compare_enhancements(small_phantom.image, mask[:-1], small_phantom.spacing)


def test_compare_enhancements_with_a_blank_slice_among_the_lesion_slices():
    # E.g. a zero-filled slice after resampling that the lesion's segmentation still reaches. CLAHE and Laplacian
    # sharpening returned NaN there, reported as "The image has 1024 NaN or infinite voxel(s)" for a finite image.
    phantom = make_phantom("ct", shape=(8, 64, 64), oblique=True)
    mask = phantom.labels == phantom.lesion_label
    image = phantom.image.copy()
    image[np.flatnonzero(mask.any(axis=(1, 2)))[0]] = -1000.0
    rows = compare_enhancements(image, mask, phantom.spacing)
    assert [row["method"] for row in rows] == METHODS
    assert all(math.isfinite(row[key]) for row in rows for key in ("noise_std", "lesion_mean", "background_mean"))


def test_compare_enhancements_names_a_method_that_returns_nan(small_phantom, monkeypatch):
    def broken(image, spacing, *, region=None, progress=None):
        enhanced = BASELINES["CLAHE"](image, spacing, region=region, progress=progress)
        enhanced[0, :2, :3] = np.nan
        return enhanced

    monkeypatch.setattr(compare, "BASELINES", {**BASELINES, "CLAHE": broken})
    with pytest.raises(RuntimeError, match="The CLAHE result has 6 NaN or infinite voxel"):
        compare_enhancements(small_phantom.image, small_phantom.labels == small_phantom.lesion_label,
                             small_phantom.spacing)


def test_compare_enhancements_on_real_breast_mri(shared_data):
    volume = mrml.read_volume(shared_data / "breast1_image.nrrd")
    mask = mrml.label_mask_like(mrml.read_volume(shared_data / "breast1_label.nrrd", labelmap=True), volume)
    rows = compare_enhancements(mrml.array_from_volume(volume), mask, mrml.spacing_kji(volume))
    assert [row["method"] for row in rows] == METHODS
    assert all(math.isfinite(value) and value >= 0 for row in rows for key, value in row.items() if key != "method")
    assert rows[0]["cnr"] > 2.0  # the lesion is visible in the original


def test_the_table_names_the_methods_that_lost_the_lesions_contrast():
    def row(method, lesion_mean):
        return {"method": method, "cnr": 1.0, "cnr_ratio": 1.0, "cnr_pooled": 1.0, "noise_std": 10.0,
                "edge_sharpness": 0.3, "lesion_mean": lesion_mean, "background_mean": 100.0}

    rows = [row("original", 150.0), row("flattened", 110.0), row("inverted", 60.0), row("sharpened", 140.0)]
    lines = format_table(rows).splitlines()
    assert len(lines) == len(rows) + 2
    assert lines[-1].startswith("contrast lost (below 50% of the original's lesion contrast")
    assert lines[-1].endswith(": flattened 0.2x, inverted -0.8x")
    assert len(format_table([rows[0], rows[3]]).splitlines()) == 3
