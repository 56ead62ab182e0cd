"""Separable correlation within each slice of a float32 volume, by BLAS on sliding windows.

``scipy.ndimage.correlate1d`` copies every line into a float64 buffer, which makes
one pass cost about the same whatever the kernel's length, and a pass along J
(axis 1, across the rows of a slice) about twice one along I. Here a pass is a
matrix product on a view of the mirror-padded volume: along J each output row is a
weighted sum of whole input rows, along I blocks of a row are multiplied by one
banded matrix. Both stay in float32 and give ``correlate1d``'s result with
``mode="reflect"`` to float32 rounding.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

#: Samples of a row multiplied by one banded matrix: long enough for BLAS, short enough for the cache.
_BLOCK = 64


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
    (K, J, I) ndarray of float32, C-contiguous
    """
    j_radius, i_radius = len(j_weights) // 2, len(i_weights) // 2
    length = volume.shape[2]
    blocks = -(-length // _BLOCK)
    # One padding for both passes; the tail rounds each row up to whole blocks and is cut off at the end.
    tail = blocks * _BLOCK - length
    padded = np.pad(volume, ((0, 0), (j_radius, j_radius), (i_radius, i_radius + tail)), mode="symmetric")
    along_j = sliding_window_view(padded, len(j_weights), axis=1) @ j_weights
    windows = sliding_window_view(along_j, _BLOCK + 2 * i_radius, axis=2)[:, :, ::_BLOCK, :]
    result = (windows @ _band(i_weights)).reshape(volume.shape[0], volume.shape[1], blocks * _BLOCK)
    return np.ascontiguousarray(result[:, :, :length]) if tail else result


def _band(weights: np.ndarray) -> np.ndarray:
    """The banded matrix that correlates a block of :data:`_BLOCK` samples plus its margins with ``weights``.

    ``band[m + r + o, m] = weights[r + o]``: output sample ``m`` reads the block's input ``m + o``.
    """
    radius = len(weights) // 2
    band = np.zeros((_BLOCK + 2 * radius, _BLOCK), dtype=np.float32)
    for position in range(_BLOCK):
        band[position:position + 2 * radius + 1, position] = weights
    return band
