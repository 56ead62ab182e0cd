"""GGCM and per-voxel features: hand-computed examples, brute force on windows, slabs, masks, the table."""

import math
import tracemalloc

import numpy as np
import pytest

from clinicalimaging.errors import InputError
from clinicalimaging.phantom import make_phantom
from clinicalimaging.segment import features as features_module
from clinicalimaging.segment.features import FEATURE_NAMES, FEATURES, local_glcm_values, voxel_features
from clinicalimaging.blocks import padded_block, slab_boxes
from clinicalimaging.segment.ggcm import GGCM_FEATURES, ggcm, ggcm_features, ggcm_levels, local_ggcm_features, quantise

# A 4x4 example with 2 grey and 2 gradient levels (0-based), worked by hand below.
GREY = np.array([[0, 0, 1, 1],
                 [0, 0, 1, 1],
                 [0, 1, 1, 1],
                 [0, 0, 0, 1]])
GRADIENT = np.array([[0, 1, 1, 0],
                     [0, 1, 1, 0],
                     [0, 1, 1, 0],
                     [0, 0, 0, 0]])


def test_ggcm_counts_the_hand_example():
    # (grey, gradient) pairs per row: r0 (0,0)(0,1)(1,1)(1,0); r1 the same; r2 (0,0)(1,1)(1,1)(1,0);
    # r3 (0,0)(0,0)(0,0)(1,0)  ->  H[0,0] = 1+1+1+3, H[0,1] = 1+1, H[1,0] = 1+1+1+1, H[1,1] = 1+1+2.
    np.testing.assert_array_equal(ggcm(GREY, GRADIENT, n_grey=2, n_gradient=2), [[6, 2], [4, 4]])
    assert ggcm(GREY, GRADIENT, n_grey=3, n_gradient=4).shape == (3, 4)


def test_ggcm_features_of_the_hand_example():
    # P = H / 16 = [[3/8, 1/8], [1/4, 1/4]], indices i, j in {1, 2}; p_g = (1/2, 1/2), p_d = (5/8, 3/8).
    expected = {
        "small_gradient_dominance": (3 / 8 + 1 / 4) / 1 + (1 / 8 + 1 / 4) / 4,
        "large_gradient_dominance": (3 / 8 + 1 / 4) * 1 + (1 / 8 + 1 / 4) * 4,
        "grey_nonuniformity": (8 ** 2 + 8 ** 2) / 16,
        "gradient_nonuniformity": (10 ** 2 + 6 ** 2) / 16,
        "angular_second_moment": (9 + 1 + 4 + 4) / 64,
        "grey_mean": 1 * 0.5 + 2 * 0.5,
        "gradient_mean": 1 * 5 / 8 + 2 * 3 / 8,
        "grey_std": 0.5,
        "gradient_std": math.sqrt((1 - 11 / 8) ** 2 * 5 / 8 + (2 - 11 / 8) ** 2 * 3 / 8),
        "correlation": (-0.5 * -3 / 8 * 3 / 8 + -0.5 * 5 / 8 * 1 / 8 + 0.5 * -3 / 8 * 1 / 4 + 0.5 * 5 / 8 * 1 / 4),
        "grey_entropy": math.log(2),
        "gradient_entropy": -(5 / 8 * math.log(5 / 8) + 3 / 8 * math.log(3 / 8)),
        "mixed_entropy": -(3 / 8 * math.log(3 / 8) + 1 / 8 * math.log(1 / 8) + 2 * 1 / 4 * math.log(1 / 4)),
        "inertia": 1 / 8 + 1 / 4,
        "inverse_difference_moment": 3 / 8 + 1 / 4 + (1 / 8 + 1 / 4) / 2,
    }
    values = ggcm_features(ggcm(GREY, GRADIENT, n_grey=2, n_gradient=2))
    assert list(values) == [key for key, _, _ in GGCM_FEATURES]
    for key, value in expected.items():
        assert values[key] == pytest.approx(value, rel=1e-12), key
    assert values["correlation"] == pytest.approx(1 / 16)


def test_ggcm_rejects_bad_levels():
    with pytest.raises(InputError, match="0..1"):
        ggcm(GREY * 2, GRADIENT, n_grey=2, n_gradient=2)
    with pytest.raises(InputError, match="same shape"):
        ggcm(GREY, GRADIENT[:3], n_grey=2, n_gradient=2)
    with pytest.raises(InputError, match="gradient"):
        local_ggcm_features(np.zeros((4, 4)), (1, 1, 1), gradient="4d")


def test_quantise_uses_equal_bins_and_clips():
    levels = quantise([-1.0, 0.0, 0.49, 0.5, 1.0, 2.0], 2, (0.0, 1.0))
    np.testing.assert_array_equal(levels, [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(quantise([3.0, 3.0], 4, (3.0, 3.0)), [0, 0])


@pytest.mark.parametrize("gradient, size", [("2d", (1, 5, 5)), ("3d", (5, 5, 5)), ("3d", (3, 5, 3))])
def test_local_ggcm_equals_the_ggcm_of_each_window(gradient, size):
    image = np.random.default_rng(1).normal(size=(9, 11, 12)).cumsum(axis=2)
    spacing = (2.0, 0.7, 0.9)
    maps = local_ggcm_features(image, spacing, gradient=gradient, size=size, n_grey=6, n_gradient=5)
    grey, gradient_levels = ggcm_levels(image, spacing, gradient=gradient, n_grey=6, n_gradient=5)
    assert maps.shape == (15,) + image.shape and maps.dtype == np.float32
    for k, j, i in [(4, 5, 6), (3, 2, 2), (6, 8, 9), (4, 2, 9)]:
        window = tuple(slice(c - s // 2, c + s // 2 + 1) for c, s in zip((k, j, i), size))
        expected = ggcm_features(ggcm(grey[window], gradient_levels[window], n_grey=6, n_gradient=5))
        np.testing.assert_allclose(maps[:, k, j, i], list(expected.values()), rtol=2e-5, atol=2e-6)


def test_local_glcm_equals_the_glcm_of_each_window():
    levels = np.random.default_rng(2).integers(0, 4, size=(9, 10, 10)).astype(np.uint8)
    levels[2:8, :7, :7] = 2  # a uniform region: correlation 1 by convention
    offsets = ((0, 0, 1), (0, 1, 0), (1, 1, -1))
    size = (3, 5, 5)
    where = np.zeros(levels.shape, bool)
    voxels = [(4, 5, 5), (3, 4, 6), (4, 3, 3)]
    for voxel in voxels:
        where[voxel] = True
    values = local_glcm_values(levels, where, n_levels=4, offsets=offsets, size=size)
    for column, (k, j, i) in enumerate(sorted(voxels)):
        matrix = np.zeros((4, 4))
        for dk in range(-1, 2):
            for dj in range(-2, 3):
                for di in range(-2, 3):
                    for ok, oj, oi in offsets:
                        a = levels[k + dk, j + dj, i + di]
                        b = levels[k + dk + ok, j + dj + oj, i + di + oi]
                        matrix[a, b] += 1
                        matrix[b, a] += 1
        p = matrix / matrix.sum()
        a, b = np.indices(p.shape)
        mean = (a * p).sum()
        variance = ((a - mean) ** 2 * p).sum()
        correlation = ((a - mean) * (b - mean) * p).sum() / variance if variance > 0 else 1.0
        expected = [((a - b) ** 2 * p).sum(), correlation, (p ** 2).sum(), (p / (1 + (a - b) ** 2)).sum(),
                    -(p[p > 0] * np.log(p[p > 0])).sum()]
        np.testing.assert_allclose(values[:, column], expected, rtol=1e-10, atol=1e-12)
    assert values[1, 1] == 1.0 and values[2, 1] == 1.0  # (4, 3, 3): its pairs all lie in the uniform region


def test_sum_of_squared_probabilities_is_named_angular_second_moment():
    # Haralick et al. (1973) call sum P**2 the angular second moment; scikit-image's "energy" is its square root.
    assert not [name for name in FEATURE_NAMES if "energy" in name]
    assert {f"{matrix}{dimension}_angular_second_moment" for matrix in ("glcm", "ggcm") for dimension in ("2d", "3d")} \
        <= set(FEATURE_NAMES)


def test_feature_table_and_feature_count_agree():
    assert len(FEATURES) == len(FEATURE_NAMES) == 61
    assert len(set(FEATURE_NAMES)) == 61
    assert sum(dimension == "2d" for _, _, dimension, _ in FEATURES) == 32
    assert {dimension for _, _, dimension, _ in FEATURES} == {"2d", "3d"}
    image = np.random.default_rng(3).normal(size=(6, 12, 12))
    values, names = voxel_features(image, (1.0, 1.0, 1.0))
    assert values.shape == (image.size, len(FEATURES)) and names == FEATURE_NAMES
    # The module docstring documents every column, in order.
    rows = [line.split() for line in features_module.__doc__.splitlines() if line[:6].strip().isdigit()]
    assert [(int(row[0]), row[1], row[2], row[-1]) for row in rows] == \
        [(n, name, dimension, unit) for n, (name, _, dimension, unit) in enumerate(FEATURES)]


@pytest.fixture(scope="module")
def phantom():
    return make_phantom("ct", shape=(16, 64, 64), spacing=(2.5, 0.8, 0.8), seed=4)


def test_phantom_features_are_finite_and_separate_lesion_from_liver(phantom):
    lesion, liver = phantom.labels == phantom.lesion_label, phantom.labels == 2
    centre = np.array([8.0, 30.0, 20.5])
    values, names = voxel_features(phantom.image, phantom.spacing, mask=lesion | liver, centre=centre)
    assert values.dtype == np.float32 and values.shape == (np.count_nonzero(lesion | liver), 61)
    assert np.all(np.isfinite(values))
    is_lesion = lesion[lesion | liver]
    column = {name: n for n, name in enumerate(names)}
    for name in ("intensity", "mean_3x3", "mean_5x5", "mean_3x3x3", "ggcm2d_grey_mean"):
        lesion_median = np.median(values[is_lesion, column[name]])
        liver_median = np.median(values[~is_lesion, column[name]])
        assert lesion_median < liver_median, name  # lesion 70 HU, liver 100 HU
    distance_mm = np.linalg.norm((np.argwhere(lesion | liver) - centre) * phantom.spacing, axis=1)
    np.testing.assert_allclose(values[:, column["distance_to_centre"]], distance_mm, rtol=1e-6)
    np.testing.assert_array_equal(values[:, column["intensity"]], phantom.image[lesion | liver])
    assert np.all(values[:, column["glcm3d_correlation"]] <= 1 + 1e-9)
    second_moment = values[:, column["ggcm2d_angular_second_moment"]]
    assert np.all((second_moment > 0) & (second_moment <= 1))


def test_mask_selects_the_voxels(phantom):
    mask = np.zeros(phantom.image.shape, bool)
    mask[8, 30:34, 20:26] = True
    mask[3, 40, 41] = True
    everywhere, _ = voxel_features(phantom.image, phantom.spacing)
    selected, _ = voxel_features(phantom.image, phantom.spacing, mask=mask)
    assert selected.shape == (mask.sum(), 61)
    # Columns that do not quantise (intensity statistics, gradients, LoG, Hessian) are independent of the mask;
    # texture columns quantise over the mask's intensity range, so they may differ.
    plain = [n for n, name in enumerate(FEATURE_NAMES) if not name.startswith(("glcm", "ggcm", "distance"))]
    np.testing.assert_allclose(selected[:, plain], everywhere[mask.ravel()][:, plain], rtol=1e-5, atol=1e-3)
    empty, names = voxel_features(phantom.image, phantom.spacing, mask=np.zeros(mask.shape, bool))
    assert empty.shape == (0, 61) and names == FEATURE_NAMES


def test_a_single_slice_is_accepted():
    image = np.random.default_rng(5).normal(size=(20, 20))
    values, _ = voxel_features(image, (1.0, 0.5, 0.5))
    assert values.shape == (400, 61) and np.all(np.isfinite(values))


def test_bad_inputs_are_rejected(phantom):
    with pytest.raises(InputError, match="mask"):
        voxel_features(phantom.image, phantom.spacing, mask=np.ones((3, 3, 3), bool))
    for centre in (np.zeros(5), (1.0, np.nan, 2.0)):
        with pytest.raises(InputError, match="centre"):
            voxel_features(phantom.image, phantom.spacing, centre=centre)
    with pytest.raises(InputError, match="spacing"):
        voxel_features(phantom.image, (1.0, 0.0, 1.0))


def test_padded_blocks_equal_windows_of_the_mirrored_volume():
    # A filter of radius <= halo gives at a block's core what it gives on the whole volume, because every block is
    # exactly the matching window of the whole volume mirrored once: checked at the border and inside.
    volume = np.random.default_rng(6).normal(size=(10, 7, 8)).astype(np.float32)
    halo = (3, 2, 4)
    mirrored = np.pad(volume, [(h, h) for h in halo], mode="symmetric")
    for box in [((0, 4), (0, 7), (0, 8)), ((4, 9), (2, 5), (1, 3)), ((9, 10), (6, 7), (7, 8))]:
        window = tuple(slice(start, stop + 2 * h) for (start, stop), h in zip(box, halo))
        np.testing.assert_array_equal(padded_block(volume, box, halo), mirrored[window])
    slabs = [box[0] for box in slab_boxes([(3, 50), (0, 30), (0, 30)], (2, 1, 1), slab_voxels=7200)]
    assert slabs[0][0] == 3 and slabs[-1][1] == 50 and all(a[1] == b[0] for a, b in zip(slabs, slabs[1:]))
    assert max(stop - start for start, stop in slabs) == 7  # 32 x 32 voxels per slice with the in-slice halo


def test_memory_is_bounded_by_slabs():
    # A 1.3 M-voxel volume with a band of voxels around a sphere: the features take a small fraction of what
    # whole-volume feature maps would (61 float32 maps = 310 MB).
    shape = (32, 200, 200)
    image = np.random.default_rng(7).normal(100, 10, size=shape).astype(np.float32)
    k, j, i = np.indices(shape, sparse=True)
    radius = np.sqrt(((k - 16) * 2.0) ** 2 + (j - 100) ** 2 + (i - 100) ** 2)
    mask = np.abs(radius - 30) < 1.5
    image[radius < 30] += 40
    tracemalloc.start()
    try:
        values, _ = voxel_features(image, (2.0, 1.0, 1.0), mask=mask)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert values.shape == (mask.sum(), 61) and np.all(np.isfinite(values))
    assert peak < 150e6, f"peak {peak / 1e6:.0f} MB"


def test_voxels_described_later_on_shared_ranges_match_one_call(phantom):
    from clinicalimaging.segment.features import texture_ranges

    lesion, liver = phantom.labels == phantom.lesion_label, phantom.labels == 2
    both = lesion | liver
    centre = np.array([8.0, 30.0, 20.5])
    together, _ = voxel_features(phantom.image, phantom.spacing, mask=both, centre=centre)
    ranges = texture_ranges(phantom.image, phantom.spacing, both)
    first, _ = voxel_features(phantom.image, phantom.spacing, mask=lesion, centre=centre, ranges=ranges)
    later, _ = voxel_features(phantom.image, phantom.spacing, mask=liver, centre=centre, ranges=ranges)
    np.testing.assert_allclose(together[lesion[both]], first, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(together[liver[both]], later, rtol=1e-5, atol=1e-5)
    alone, _ = voxel_features(phantom.image, phantom.spacing, mask=liver, centre=centre)
    assert not np.allclose(alone, later)  # on its own ranges the quantised textures differ
