"""From local fractal dimension to a per-voxel fractional order."""

import numpy as np

from ..blocks import strided_sample
from .parameters import EnhanceParameters

#: Orders of eq. (1): below W_min, the slope's origin, above W_max.
PAPER_LOWEST_ORDER = 0.45
PAPER_HIGHEST_ORDER = 0.85
PAPER_SLOPE = 0.5
PAPER_ORIGIN = 1.5


def paper_order_map(fractal_dimension: np.ndarray, *, low: float = 1.5, high: float = 2.3) -> np.ndarray:
    """The paper's eq. (1), implemented exactly as printed.

    ``y = 0.45`` for ``w <= W_min``; ``0.45 + 0.5 (w - 1.5)`` for
    ``W_min < w <= W_max``; ``0.85`` for ``w > W_max``. The middle branch is
    anchored at 1.5 whatever ``W_min`` is, so the map is continuous only for
    ``W_min = 1.5`` and ``W_max = 2.3`` (the defaults).

    Parameters
    ----------
    fractal_dimension : ndarray
        Local fractal dimension ``w``.
    low, high : float
        ``W_min`` and ``W_max``.

    Returns
    -------
    order : ndarray of float32, same shape
    """
    w = np.asarray(fractal_dimension, dtype=np.float32)
    middle = PAPER_LOWEST_ORDER + PAPER_SLOPE * (w - PAPER_ORIGIN)  # eq. (1)
    order = np.where(w <= low, PAPER_LOWEST_ORDER, np.where(w <= high, middle, PAPER_HIGHEST_ORDER))
    return order.astype(np.float32)


def adaptive_order_map(fractal_dimension: np.ndarray, *, low: float, high: float,
                       order_at_low: float, order_at_high: float) -> np.ndarray:
    """Linear ramp from ``order_at_low`` at ``w <= low`` to ``order_at_high`` at ``w >= high``.

    The shape of eq. (1) (linear between two thresholds, clamped outside), with
    both end orders as parameters, so the ramp may fall as well as rise and may
    reach below zero (fractional integration).

    Returns
    -------
    order : ndarray of float32, same shape as ``fractal_dimension``
    """
    w = np.asarray(fractal_dimension, dtype=np.float32)
    position = np.clip((w - low) / (high - low), 0.0, 1.0)
    return (order_at_low + (order_at_high - order_at_low) * position).astype(np.float32)


#: Percentiles of the volume's fractal dimension used as W_min, W_max with automatic thresholds.
AUTOMATIC_THRESHOLD_PERCENTILES = (5.0, 95.0)


def dimension_thresholds(fractal_dimension: np.ndarray, parameters: EnhanceParameters) -> tuple[float, float]:
    """``(W_min, W_max)``: the fixed parameters, or percentiles of the volume's map in adaptive automatic mode."""
    if parameters.mode == "adaptive" and parameters.automatic_thresholds:
        sample = strided_sample(fractal_dimension)
        low, high = np.percentile(sample, AUTOMATIC_THRESHOLD_PERCENTILES)
        if high > low:
            return float(low), float(high)
    return parameters.fractal_dimension_low, parameters.fractal_dimension_high


def order_map(fractal_dimension: np.ndarray, parameters: EnhanceParameters, thresholds=None) -> np.ndarray:
    """The order map of ``parameters.mode`` ("paper" or "adaptive").

    ``thresholds`` are ``(W_min, W_max)`` from :func:`dimension_thresholds` of the
    whole volume (computed here when omitted).
    """
    low, high = thresholds or dimension_thresholds(fractal_dimension, parameters)
    if parameters.mode == "paper":
        return paper_order_map(fractal_dimension, low=low, high=high)
    return adaptive_order_map(fractal_dimension, low=low, high=high, order_at_low=parameters.order_at_low_dimension,
                              order_at_high=parameters.order_at_high_dimension)
