"""Array-level tests of the fractional enhancement: coefficients, masks, fractal dimension, order map."""

import numpy as np
import pytest
from scipy import ndimage
from scipy.special import gamma

from clinicalimaging import Cancelled, InputError
from clinicalimaging.enhance import EnhanceParameters, fractional_enhance
from clinicalimaging.enhance.filter import variable_order_filter
from clinicalimaging.enhance.fractal import local_fractal_dimension
from clinicalimaging.enhance.grunwald_letnikov import (DIRECTIONS_2D, DIRECTIONS_3D, gl_coefficients, mask_kernel_2d,
                                                       ring_sum, sample_offsets)
from clinicalimaging.enhance.core import blend, fractional_enhance_strengths
from clinicalimaging.enhance.edge_evidence import edge_consistency
from clinicalimaging.enhance.order_map import adaptive_order_map, edge_weight, paper_order_map, texture_order_map
from clinicalimaging.phantom import make_phantom


@pytest.fixture
def noisy_volume():
    rng = np.random.default_rng(7)
    volume = rng.normal(100.0, 10.0, (4, 64, 64)).astype(np.float32)
    volume[:, 20:44, 20:44] += 60.0
    return volume


@pytest.mark.parametrize("order", [0.3, 0.45, 0.65, 0.85, -0.5, -1.3])
def test_gl_coefficients_equal_gamma_closed_form(order):
    k = np.arange(8)
    closed_form = (-1.0) ** k * gamma(order + 1) / (gamma(k + 1) * gamma(order - k + 1))
    np.testing.assert_allclose(gl_coefficients(order, 8), closed_form, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("directions", [DIRECTIONS_2D, DIRECTIONS_3D])
@pytest.mark.parametrize("distance", [1, 2, 3])
def test_ring_sum_of_a_full_neighbourhood_adds_the_image_along_every_direction(directions, distance):
    pad = (3, 3, 3) if directions is DIRECTIONS_3D else (0, 3, 3)
    padded = np.random.default_rng(distance).normal(0.0, 1.0, (5 + 2 * pad[0], 9 + 2 * pad[1], 11 + 2 * pad[2]))
    padded = padded.astype(np.float32)
    # The same directions in another order take the direction-by-direction path.
    one_by_one = ring_sum(padded, directions[::-1].astype(np.float64), distance, pad, (5, 9, 11))
    ring = ring_sum(padded, directions.astype(np.float64), distance, pad, (5, 9, 11))
    assert ring.dtype == np.float32 and ring.shape == (5, 9, 11)
    np.testing.assert_allclose(ring, one_by_one, atol=1e-5)
    neighbours = sum(padded[pad[0] + 2 + distance * dk, pad[1] + 4 + distance * dj, pad[2] + 5 + distance * di]
                     for dk, dj, di in directions)
    assert ring[2, 4, 5] == pytest.approx(neighbours, abs=1e-5)


def test_gl_coefficients_follow_a_per_voxel_order_map():
    orders = np.array([[0.2, 0.5], [-0.5, 0.8]])
    coefficients = gl_coefficients(orders, 4)
    assert coefficients.shape == (4, 2, 2)
    np.testing.assert_allclose(coefficients[:, 1, 0], gl_coefficients(-0.5, 4))


def test_order_zero_is_the_identity(noisy_volume):
    response = variable_order_filter(noisy_volume, 0.0, number_of_terms=5)
    np.testing.assert_allclose(response, noisy_volume, rtol=1e-6)


def test_tiansi_mask_matches_the_published_layout():
    order = 0.45
    a1, a2 = -order, (order ** 2 - order) / 2
    kernel = mask_kernel_2d(order, 3)
    assert kernel[2, 2] == 8
    assert np.allclose(kernel[1:4, 1:4][kernel[1:4, 1:4] != 8], a1)
    assert np.allclose(kernel[::2, ::2][[0, 0, 1, 1, 2, 2], [0, 2, 0, 2, 0, 2]], a2)
    assert kernel[0, 1] == 0
    assert kernel.sum() == pytest.approx(8 - 12 * order + 4 * order ** 2)


def test_mask_is_rotation_equivariant(noisy_volume):
    kernel = mask_kernel_2d(0.6, 4)
    np.testing.assert_allclose(np.rot90(kernel), kernel)
    orders = np.random.default_rng(1).uniform(-0.5, 0.8, noisy_volume.shape).astype(np.float32)
    rotated = variable_order_filter(np.rot90(noisy_volume, axes=(1, 2)), np.rot90(orders, axes=(1, 2)))
    np.testing.assert_allclose(rotated, np.rot90(variable_order_filter(noisy_volume, orders), axes=(1, 2)),
                               rtol=1e-5, atol=1e-3)


def test_variable_order_equals_constant_order_masks_voxel_by_voxel(noisy_volume):
    """The exact per-voxel mask: each voxel gets the response of its own order's mask."""
    orders = np.where(np.arange(64)[None, None, :] < 32, 0.3, 0.7).astype(np.float32) * np.ones_like(noisy_volume)
    mixed = variable_order_filter(noisy_volume, orders)
    np.testing.assert_allclose(mixed[..., :30], variable_order_filter(noisy_volume, 0.3)[..., :30], rtol=1e-5)
    np.testing.assert_allclose(mixed[..., 34:], variable_order_filter(noisy_volume, 0.7)[..., 34:], rtol=1e-5)


def test_normalised_mask_keeps_flat_regions():
    flat = np.full((3, 20, 20), 42.0, dtype=np.float32)
    for mask in ("2d", "3d"):
        np.testing.assert_allclose(variable_order_filter(flat, 0.6, (3.0, 1.0, 1.0), mask=mask), 42.0, rtol=1e-5)


def test_three_d_mask_steps_are_equal_in_millimetres():
    offsets = sample_offsets("3d", (6.5, 0.78, 0.78))
    assert offsets.shape == (26, 3)
    assert np.abs(offsets[:, 0]).max() == pytest.approx(0.78 / 6.5)
    assert np.array_equal(np.abs(sample_offsets("3d", (1.0, 1.0, 1.0))), np.abs(np.round(sample_offsets("3d", (2, 2, 2)))))
    assert np.all(sample_offsets("2d", (6.5, 0.78, 0.78))[:, 0] == 0)


def test_three_d_mode_uses_neighbouring_slices_and_two_d_mode_does_not():
    volume = np.zeros((5, 16, 16), dtype=np.float32)
    volume[2] = 100.0  # a single bright slice
    two_d = variable_order_filter(volume, 0.5, (1.0, 1.0, 1.0), mask="2d")
    three_d = variable_order_filter(volume, 0.5, (1.0, 1.0, 1.0), mask="3d")
    np.testing.assert_allclose(two_d, volume, atol=1e-4)  # each slice is flat in-plane
    assert three_d[2].mean() > 100.0  # differentiation across slices sharpens the bright slice
    np.testing.assert_allclose(three_d, three_d[::-1], atol=1e-4)  # symmetric in z


def test_fractal_dimension_of_a_plane_is_two_and_noise_is_higher():
    j, i = np.mgrid[0:64, 0:64]
    options = dict(window=15, smoothing=0.0, value_range=(0.0, 255.0))
    flat = local_fractal_dimension(np.full((1, 64, 64), 100.0, np.float32), **options)
    np.testing.assert_allclose(flat, 2.0, atol=1e-5)
    gentle = local_fractal_dimension((0.3 * j + 0.2 * i)[np.newaxis].astype(np.float32), **options)
    assert np.median(gentle) == pytest.approx(2.0, abs=0.15)
    # Standard DBC underestimates steep ramps (docs/enhancement.md#local-fractal-dimension).
    steep = local_fractal_dimension((3.0 * j + 2.0 * i)[np.newaxis].astype(np.float32), **options)
    assert 1.6 < np.median(steep) <= np.median(gentle)
    noise = np.random.default_rng(0).uniform(0, 255, (1, 64, 64)).astype(np.float32)
    noisy = local_fractal_dimension(noise, **options)
    assert np.median(noisy) > 2.3


def test_paper_order_map_follows_equation_one_point_by_point():
    w = np.array([0.5, 1.5, 1.6, 1.9, 2.3, 2.31, 3.2])
    expected = [0.45, 0.45, 0.45 + 0.5 * 0.1, 0.45 + 0.5 * 0.4, 0.85, 0.85, 0.85]
    np.testing.assert_allclose(paper_order_map(w), expected, rtol=1e-6)
    # With W_min != 1.5 the middle branch is still anchored at 1.5, exactly as printed (and discontinuous).
    np.testing.assert_allclose(paper_order_map(np.array([1.7, 1.71]), low=1.7, high=2.3), [0.45, 0.555], rtol=1e-6)


def test_texture_order_map_is_a_clamped_ramp_in_either_direction():
    w = np.array([1.0, 2.0, 2.5, 3.0, 4.0])
    np.testing.assert_allclose(texture_order_map(w, low=2.0, high=3.0, order_at_low=-1.0, order_at_high=0.5),
                               [-1.0, -1.0, -0.25, 0.5, 0.5])
    np.testing.assert_allclose(texture_order_map(w, low=2.0, high=3.0, order_at_low=0.5, order_at_high=-1.0),
                               [0.5, 0.5, -0.25, -1.0, -1.0])


def test_adaptive_order_map_moves_the_texture_order_to_the_edge_order_on_consistent_edges():
    parameters = EnhanceParameters(order_at_low_dimension=-0.1, order_at_high_dimension=-0.5, edge_order=0.3,
                                   edge_consistency_low=0.4, edge_consistency_high=0.7)
    w = np.array([2.0, 3.0, 2.0, 3.0, 2.5])
    consistency = np.array([0.1, 0.4, 0.7, 0.9, 0.55])
    np.testing.assert_allclose(adaptive_order_map(w, consistency, parameters, (2.0, 3.0)),
                               [-0.1, -0.5, 0.3, 0.3, -0.3 + 0.5 * 0.6], rtol=1e-6)
    np.testing.assert_allclose(edge_weight(np.array([0.0, 0.4, 0.55, 0.7, 1.2]), low=0.4, high=0.7),
                               [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-7)


def test_edge_consistency_tells_an_edge_from_noise_and_ignores_contrast():
    rng = np.random.default_rng(1)
    noise = rng.normal(0.0, 1.0, (2, 64, 64)).astype(np.float32)
    step = np.zeros((2, 64, 64), dtype=np.float32)
    step[:, :, 32:] = 10.0
    edge = edge_consistency(step + noise, scale=1.5)
    pure_noise = edge_consistency(noise, scale=1.5)
    assert np.median(edge[:, 8:-8, 31:33]) > 0.8
    assert np.median(pure_noise) < 0.4
    np.testing.assert_allclose(edge_consistency(7.0 * (step + noise), scale=1.5), edge, rtol=1e-4, atol=1e-6)
    flat = edge_consistency(np.full((1, 16, 16), 3.0, dtype=np.float32))
    assert np.all(flat == 0.0)


def test_voxels_whose_mask_reaches_air_stay_unchanged_on_ct():
    rng = np.random.default_rng(5)
    ct = rng.normal(40.0, 10.0, (3, 48, 48)).astype(np.float32)
    ct[:, :, :12] = -1000.0  # air on the left
    ct[:, 20:30, 20:30] += 60.0  # a lesion
    distance_to_air = np.arange(48) - 11  # columns from the last air column
    beside_air = (distance_to_air >= 1) & (distance_to_air <= 2)
    protected = fractional_enhance(ct, parameters=EnhanceParameters(strength=2.0))
    unprotected = fractional_enhance(ct, parameters=EnhanceParameters(strength=2.0, protect_air=False))
    np.testing.assert_array_equal(protected.enhanced[..., beside_air], ct[..., beside_air])
    assert np.all(protected.order_map[..., beside_air] == 0.0)
    assert np.abs(unprotected.enhanced[..., beside_air] - ct[..., beside_air]).max() > 50.0
    np.testing.assert_array_equal(protected.enhanced[..., 16:], unprotected.enhanced[..., 16:])
    # Without air in HU (an MR-like range) the switch changes nothing.
    mr = ct + 1100.0
    np.testing.assert_array_equal(fractional_enhance(mr).enhanced,
                                  fractional_enhance(mr, parameters=EnhanceParameters(protect_air=False)).enhanced)


def test_blend_extrapolates_sharpening_but_not_smoothing():
    image = np.array([10.0, 10.0, 10.0], dtype=np.float32)
    response = np.array([14.0, 6.0, 10.0], dtype=np.float32)
    orders = np.array([0.3, -0.4, 0.0], dtype=np.float32)
    np.testing.assert_allclose(blend(image, response, orders, 2.0), [18.0, 6.0, 10.0])
    np.testing.assert_allclose(blend(image, response, orders, 0.5), [12.0, 8.0, 10.0])


def test_strengths_share_one_order_map_and_match_single_runs(noisy_volume):
    parameters = EnhanceParameters()
    box = (slice(1, 3), slice(10, 50), slice(5, 60))
    several = fractional_enhance_strengths(noisy_volume, (1.0, 1.0, 1.0), parameters, (0.5, 2.0), region=box)
    for strength, enhanced in zip((0.5, 2.0), several):
        single = fractional_enhance(noisy_volume, parameters=parameters.replace(strength=strength)).enhanced
        np.testing.assert_array_equal(enhanced, single[box])


def test_enhance_keeps_dtype_range_and_shape():
    rng = np.random.default_rng(3)
    image = rng.normal(40, 15, (3, 40, 40)).round().astype(np.int16)
    image[:, 10:20, 10:20] = 200
    for mode in ("paper", "adaptive"):
        result = fractional_enhance(image, (2.0, 0.7, 0.7), EnhanceParameters(mode=mode))
        assert result.enhanced.dtype == np.int16 and result.enhanced.shape == image.shape
        assert image.min() <= result.enhanced.min() and result.enhanced.max() <= image.max()
        assert result.order_map.dtype == np.float32 and result.fractal_dimension_map.dtype == np.float32
        assert not np.array_equal(result.enhanced, image)


def test_enhance_writes_into_a_given_output_array(noisy_volume):
    out = np.full_like(noisy_volume, np.nan)
    result = fractional_enhance(noisy_volume, out=out)
    assert result.enhanced is out
    np.testing.assert_array_equal(out, fractional_enhance(noisy_volume).enhanced)
    single = noisy_volume[0]
    out = np.empty_like(single)
    np.testing.assert_array_equal(fractional_enhance(single, out=out).enhanced, out)
    for wrong in (np.empty(noisy_volume.shape, np.float64), np.empty((4, 64, 63), np.float32),
                  np.empty((4, 64, 128), np.float32)[:, :, ::2]):
        with pytest.raises(InputError, match="output array"):
            fractional_enhance(noisy_volume, out=wrong)


def test_paper_mode_orders_lie_in_equation_one_range(noisy_volume):
    result = fractional_enhance(noisy_volume, parameters=EnhanceParameters(mode="paper"))
    assert 0.45 <= result.order_map.min() and result.order_map.max() <= 0.85


def test_paper_mode_amplifies_noise_and_default_mode_does_not():
    phantom = make_phantom("ct", shape=(10, 80, 80), seed=4)
    # The liver's interior, 3 px or more from its edges and the lesion's: noise, no edges.
    interior = ndimage.binary_erosion(phantom.labels == 2, np.ones((1, 7, 7), dtype=bool))
    original = phantom.image[interior].std()
    paper = fractional_enhance(phantom.image, phantom.spacing, EnhanceParameters(mode="paper")).enhanced
    default = fractional_enhance(phantom.image, phantom.spacing).enhanced
    assert paper[interior].std() > 2.0 * original
    assert default[interior].std() < 1.1 * original


@pytest.mark.parametrize("shape", [(1, 40, 40), (40, 40), (2, 3, 3), (1, 1, 5)])
def test_single_slices_and_images_smaller_than_the_mask_work(shape):
    image = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    for mask in ("2d", "3d"):
        result = fractional_enhance(image, parameters=EnhanceParameters(mask=mask, number_of_terms=5))
        assert result.enhanced.shape == shape
        assert np.all(np.isfinite(result.enhanced)) and np.all(np.isfinite(result.order_map))


@pytest.mark.parametrize("bad, message", [
    (np.full((2, 8, 8), np.nan, dtype=np.float32), "NaN or infinite"),
    (np.full((2, 8, 8), 5.0), "constant"),
    (np.zeros((2, 8, 8, 3)), "scalar"),
    (np.zeros(8), "scalar"),
])
def test_bad_arrays_raise_input_error(bad, message):
    if message == "NaN or infinite":
        bad = np.random.default_rng(0).normal(size=(2, 8, 8)).astype(np.float32)
        bad[0, 1, 1] = np.inf
    with pytest.raises(InputError, match=message):
        fractional_enhance(bad)


def test_bad_spacing_and_parameters_raise_input_error(noisy_volume):
    with pytest.raises(InputError, match="spacing"):
        fractional_enhance(noisy_volume, (0.0, 1.0, 1.0))
    with pytest.raises(InputError, match="number_of_terms"):
        EnhanceParameters(number_of_terms=1)
    with pytest.raises(InputError, match="mode"):
        EnhanceParameters(mode="strong")


def test_progress_is_reported_and_cancel_stops(noisy_volume):
    fractions = []
    fractional_enhance(noisy_volume, progress=lambda fraction, message: fractions.append(fraction))
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    with pytest.raises(Cancelled):
        fractional_enhance(noisy_volume, progress=lambda fraction, message: False)


def test_enhancement_is_deterministic(noisy_volume):
    first, second = fractional_enhance(noisy_volume), fractional_enhance(noisy_volume)
    np.testing.assert_array_equal(first.enhanced, second.enhanced)


@pytest.mark.parametrize("mask", ["2d", "3d"])
def test_slabs_of_one_slice_give_the_whole_volume_result(noisy_volume, monkeypatch, mask):
    from clinicalimaging.enhance import core

    parameters = EnhanceParameters(mask=mask)
    whole = fractional_enhance(noisy_volume, parameters=parameters)
    monkeypatch.setattr(core, "SLAB_VOXELS", 1)  # one slice per slab
    sliced = fractional_enhance(noisy_volume, parameters=parameters)
    for name in ("enhanced", "order_map", "fractal_dimension_map"):
        np.testing.assert_array_equal(getattr(sliced, name), getattr(whole, name))


def test_fractal_dimension_is_centred_on_its_voxel():
    """A mirror-symmetric bar gives a mirror-symmetric map: box anchors are re-centred on the voxel."""
    noise = np.random.default_rng(0).normal(0, 3, (1, 40, 41)).astype(np.float32)
    image = noise + noise[:, :, ::-1]
    image[:, :, 15:26] += 200.0
    dimension = local_fractal_dimension(image, smoothing=0.0, value_range=(-20.0, 220.0))
    profile = dimension[0].mean(axis=0)[8:33]
    assert profile.max() - profile.min() > 0.1  # the bar's edges show up
    asymmetry = np.abs(profile - profile[::-1])
    assert asymmetry.mean() < 0.03 and asymmetry.max() < 0.4  # even box sides sit half a pixel off centre
