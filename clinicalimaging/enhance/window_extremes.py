"""Extremes over sliding boxes by doubling: a box is the union of two smaller boxes a step apart.

Far cheaper than ``scipy.ndimage.maximum_filter`` for the small boxes used here: a
box of side ``w`` takes about ``log2 w`` elementwise operations per axis, each a
plain ufunc on two shifted views.
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
        first = [slice(None)] * extreme.ndim
        second = [slice(None)] * extreme.ndim
        first[axis], second[axis] = slice(None, -step), slice(step, None)
        extreme = combine(extreme[tuple(first)], extreme[tuple(second)])
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
