"""Baseline enhancements and the comparison table of the fractional enhancement against them."""

import math

import numpy as np
import pytest
from scipy import ndimage

from clinicalimaging import Cancelled, InputError, mrml
from clinicalimaging.enhance import EnhanceParameters
from clinicalimaging.enhance.baselines import BASELINES, clahe, constant_order, laplacian_sharpening, unsharp_mask
from clinicalimaging.enhance.compare import compare_enhancements, comparison_table, format_table
from clinicalimaging.metrics import edge_sharpness
from clinicalimaging.phantom import make_phantom, phantom_volume

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
    assert len(format_table(rows).splitlines()) == len(METHODS) + 1


def test_compare_enhancements_stops_on_cancel_and_rejects_a_wrong_mask(small_phantom):
    mask = small_phantom.labels == small_phantom.lesion_label
    with pytest.raises(Cancelled):
        compare_enhancements(small_phantom.image, mask, small_phantom.spacing, progress=lambda fraction, message: False)
    with pytest.raises(InputError, match="does not match"):
        compare_enhancements(small_phantom.image, mask[:-1], small_phantom.spacing)


def test_comparison_table_on_phantom_nodes(small_phantom):
    volume, labels = phantom_volume(small_phantom, name="compare_phantom")
    before = mrml.array_from_volume(volume)
    mask = mrml.label_mask_like(labels, volume, small_phantom.lesion_label)
    parameters = EnhanceParameters(strength=0.5)
    table = comparison_table(volume, mask, parameters=parameters)
    assert table.IsA("vtkMRMLTableNode") and table.GetScene() is volume.GetScene()
    assert table.GetNumberOfRows() == len(METHODS)
    assert [table.GetColumnName(index) for index in range(table.GetNumberOfColumns())] == COLUMNS
    assert [table.GetCellText(row, 0) for row in range(len(METHODS))] == METHODS
    assert float(table.GetCellText(0, COLUMNS.index("cnr_ratio"))) == 1.0
    np.testing.assert_array_equal(mrml.array_from_volume(volume), before)
    assert comparison_table(volume, mask, parameters=parameters.to_dict(), table_node=table) is table
    assert table.GetNumberOfRows() == len(METHODS)


def test_compare_enhancements_on_real_breast_mri(shared_data):
    volume = mrml.read_volume(shared_data / "breast1_image.nrrd")
    mask = mrml.label_mask_like(mrml.read_volume(shared_data / "breast1_label.nrrd", labelmap=True), volume)
    rows = compare_enhancements(mrml.array_from_volume(volume), mask, mrml.spacing_kji(volume))
    assert [row["method"] for row in rows] == METHODS
    assert all(math.isfinite(value) and value >= 0 for row in rows for key, value in row.items() if key != "method")
    assert rows[0]["cnr"] > 2.0  # the lesion is visible in the original
