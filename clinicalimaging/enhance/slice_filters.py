"""Separable correlation within each slice of a float32 volume: BLAS across rows, np.correlate along them.

``scipy.ndimage.correlate1d`` copies every line into a float64 buffer, which makes
one pass cost about the same whatever the kernel's length, and a pass along J
(axis 1, across the rows of a slice) about twice one along I. Here the pass along J
is a matrix product on a sliding-window view of the mirror-padded volume (each
output row a weighted sum of whole input rows), and the pass along I runs
``np.correlate`` once over all the padded rows laid end to end, whose unrolled
loop for short kernels stays in float32. Both give ``correlate1d``'s result with
``mode="reflect"`` to float32 rounding.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

#: Longest kernel ``np.correlate`` runs in its unrolled loop; longer ones are split into pieces this long.
_UNROLLED_TAPS = 11


def gaussian_weights(sigma: float, *, order: int = 0, truncate: float = 3.0) -> np.ndarray:
    """Correlation weights of a sampled Gaussian (``order`` 0) or of its first derivative (``order`` 1).

    As ``scipy.ndimage.gaussian_filter1d``: radius ``int(truncate * sigma + 0.5)``
    samples, the Gaussian normalised to sum 1, the derivative ``x / sigma²`` times
    it, so that a rising ramp of slope 1 per pixel gives about 1 (0.4 % less at
    sigma 1 px, from sampling and truncation).

    Parameters
    ----------
    sigma : float
        Standard deviation in pixels (> 0).
    order : {0, 1}
    truncate : float
        Radius in standard deviations.

    Returns
    -------
    weights : (2 r + 1,) ndarray of float32
        Weight of the sample at offset ``-r .. r``.
    """
    radius = int(truncate * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    weights = np.exp(-0.5 * (offsets / sigma) ** 2)
    weights /= weights.sum()
    if order == 1:
        weights *= offsets / sigma ** 2
    elif order != 0:
        raise ValueError(f"order must be 0 or 1; got {order!r}.")
    return weights.astype(np.float32)


def correlate_in_slices(volume: np.ndarray, j_weights: np.ndarray, i_weights: np.ndarray) -> np.ndarray:
    """Correlate each slice with ``j_weights`` along J (axis 1), then with ``i_weights`` along I (axis 2).

    Parameters
    ----------
    volume : (K, J, I) ndarray of float32
    j_weights, i_weights : (odd,) ndarray of float32
        Weights of the samples at offsets ``-r .. r`` along their axis (see
        :func:`gaussian_weights`); mirror boundaries (``d c b a | a b c d``).

    Returns
    -------
    (K, J, I) ndarray of float32
        A view into a buffer with ``2 r`` more samples per row.
    """
    j_radius, i_radius = len(j_weights) // 2, len(i_weights) // 2
    # One padding for both passes.
    padded = np.pad(volume, ((0, 0), (j_radius, j_radius), (i_radius, i_radius)), mode="symmetric")
    along_j = sliding_window_view(padded, len(j_weights), axis=1) @ j_weights
    return _correlate_rows(along_j, i_weights)[:, :, :volume.shape[2]]


def _correlate_rows(rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Correlate the C-contiguous rows of ``rows`` (last axis) with ``weights``, rows end to end.

    Returns
    -------
    ndarray of ``rows``' shape
        Sample ``m`` of a row is ``sum_o weights[o] row[m + o]`` for the first
        ``len - 2 r`` samples; the last ``2 r`` mix the row with the next one.
    """
    flat = rows.reshape(-1)
    count = flat.size - len(weights) + 1
    # "full" puts the first valid sample at index taps - 1 and pads the end, so the result keeps the rows' length.
    first = weights[:_UNROLLED_TAPS]
    result = np.correlate(flat, first, mode="full")[len(first) - 1:len(first) - 1 + flat.size]
    for start in range(_UNROLLED_TAPS, len(weights), _UNROLLED_TAPS):
        piece = weights[start:start + _UNROLLED_TAPS]
        result[:count] += np.correlate(flat[start:start + count + len(piece) - 1], piece, mode="valid")
    return result.reshape(rows.shape)
