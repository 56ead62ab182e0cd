"""The in-slice separable correlation against scipy.ndimage's Gaussian filters."""

import numpy as np
import pytest
from scipy import ndimage

from clinicalimaging.enhance.slice_filters import correlate_in_slices, gaussian_weights


@pytest.mark.parametrize("shape", [(3, 64, 128), (2, 37, 100), (1, 5, 3), (2, 130, 70)])
@pytest.mark.parametrize("sigma, truncate", [(0.5, 2.0), (1.0, 3.0), (1.5, 3.0), (5.0, 3.0)])
@pytest.mark.parametrize("order", [(0, 0), (1, 0), (0, 1)])
def test_correlation_in_slices_equals_scipy_gaussian_filter_with_mirror_borders(shape, sigma, truncate, order):
    volume = np.random.default_rng(3).normal(50.0, 20.0, shape).astype(np.float32)
    weights = [gaussian_weights(sigma, order=axis_order, truncate=truncate) for axis_order in order]
    expected = ndimage.gaussian_filter(volume.astype(np.float64), sigma=(0, sigma, sigma), order=(0, *order),
                                       mode="reflect", truncate=truncate)
    result = correlate_in_slices(volume, *weights)
    assert result.dtype == np.float32 and result.shape == shape
    np.testing.assert_allclose(result, expected, atol=2e-4 * np.abs(expected).max())


def test_a_box_window_gives_the_uniform_filter_and_each_slice_stays_apart():
    volume = np.zeros((3, 40, 90), dtype=np.float32)
    volume[1, 20, 45] = 225.0
    box = np.full(15, 1.0 / 15, dtype=np.float32)
    result = correlate_in_slices(volume, box, box)
    np.testing.assert_allclose(result, ndimage.uniform_filter(volume, size=(1, 15, 15), mode="reflect"), atol=1e-5)
    assert result[1, 13:28, 38:53].min() == pytest.approx(1.0) and result[[0, 2]].max() == 0.0


def test_derivative_weights_give_the_slope_of_a_ramp():
    weights = gaussian_weights(1.0, order=1)
    ramp = np.broadcast_to(3.0 * np.arange(32, dtype=np.float32), (1, 8, 32))
    slope = correlate_in_slices(np.ascontiguousarray(ramp), gaussian_weights(1.0), weights)
    np.testing.assert_allclose(slope[:, :, 4:-4], 3.0, rtol=1e-2)
    with pytest.raises(ValueError):
        gaussian_weights(1.0, order=2)
