"""Extremes and sums over sliding boxes by doubling, with plain ufuncs on shifted views.

An extreme over a box is the extreme of two smaller boxes a step apart; a sum over
``2 s`` samples is the sum of two sums over ``s``, and a sum over ``w`` samples adds
the power-of-two sums of ``w``'s binary digits. A box of side ``w`` thus takes about
``log2 w`` (extremes) or ``2 log2 w`` (sums) operations per axis, in the input's own
dtype: far cheaper than ``scipy.ndimage``'s max/min and uniform filters for the small
integer boxes used here.
"""

import numpy as np


def grow_window(extreme: np.ndarray, combine, step: int, axes) -> np.ndarray:
    """From extremes over boxes of side ``s`` anchored at each index to side ``s + step``, ``step <= s``.

    Parameters
    ----------
    extreme : ndarray
        ``combine`` over the box of side ``s`` that starts at each index along ``axes``.
    combine : ufunc
        ``np.maximum``, ``np.minimum``, ``np.logical_or``, ...: associative and idempotent.
    step : int
        Must not exceed ``s``, so that the two boxes ``step`` apart overlap or touch.
    axes : sequence of int

    Returns
    -------
    ndarray
        ``step`` fewer samples along each of ``axes``.
    """
    for axis in axes:
        extreme = combine(_shifted(extreme, axis, 0, -step), _shifted(extreme, axis, step, None))
    return extreme


def window_extreme(values: np.ndarray, combine, width: int, axes) -> np.ndarray:
    """``combine`` over the box of side ``width`` that starts at each index along ``axes``.

    Returns
    -------
    ndarray
        ``width - 1`` fewer samples along each of ``axes`` (only boxes inside ``values``).
    """
    extreme, side = values, 1
    while side < width:
        step = min(width - side, side)
        extreme = grow_window(extreme, combine, step, axes)
        side += step
    return extreme


def window_sum(values: np.ndarray, width: int, axes) -> np.ndarray:
    """Sum over the box of side ``width`` that starts at each index along ``axes``, in ``values``' dtype.

    Integer inputs give exact sums; the caller picks a dtype that holds ``width ** len(axes)``
    times the largest value.

    Returns
    -------
    ndarray
        ``width - 1`` fewer samples along each of ``axes`` (only boxes inside ``values``).
    """
    for axis in axes:
        values = _sum_along(values, width, axis)
    return values


def _sum_along(values: np.ndarray, width: int, axis: int) -> np.ndarray:
    """Sums over ``width`` consecutive samples along ``axis``."""
    length = values.shape[axis] - width + 1
    total, offset, power, size = None, 0, values, 1
    while True:
        # ``power`` holds the sums over ``size`` samples; add them where the binary digit of ``width`` is 1.
        if width & size:
            part = _shifted(power, axis, offset, offset + length)
            total = part.copy() if total is None else np.add(total, part, out=total)
            offset += size
        if 2 * size > width:
            return total
        power = _shifted(power, axis, 0, -size) + _shifted(power, axis, size, None)
        size *= 2


def _shifted(array: np.ndarray, axis: int, start: int, stop) -> np.ndarray:
    """The view ``array[..., start:stop, ...]`` along ``axis``."""
    index = [slice(None)] * array.ndim
    index[axis] = slice(start, stop)
    return array[tuple(index)]
