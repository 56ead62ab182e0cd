"""From local fractal dimension (and, in adaptive mode, edge consistency) to a per-voxel fractional order."""

import numpy as np

from ..blocks import strided_sample
from .parameters import EnhanceParameters
from .sliding_boxes import window_extreme

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


def texture_order_map(fractal_dimension: np.ndarray, *, low: float, high: float,
                      order_at_low: float, order_at_high: float) -> np.ndarray:
    """Linear ramp from ``order_at_low`` at ``w <= low`` to ``order_at_high`` at ``w >= high``.

    The shape of eq. (1) (linear between two thresholds, clamped outside), with
    both end orders as parameters, so the ramp may fall as well as rise and may
    reach below zero (fractional integration).

    Returns
    -------
    order : ndarray of float32, same shape as ``fractal_dimension``
    """
    order = np.subtract(np.asarray(fractal_dimension, dtype=np.float32), np.float32(low), dtype=np.float32)
    order *= np.float32(1.0 / (high - low))
    np.clip(order, 0.0, 1.0, out=order)
    order *= np.float32(order_at_high - order_at_low)
    order += np.float32(order_at_low)
    return order


def edge_weight(consistency: np.ndarray, *, low: float, high: float) -> np.ndarray:
    """Smoothstep from 0 at edge consistency ``low`` to 1 at ``high``: how much of a voxel is edge.

    Returns
    -------
    weight : ndarray of float32, same shape as ``consistency``
    """
    t = np.subtract(np.asarray(consistency, dtype=np.float32), np.float32(low), dtype=np.float32)
    t *= np.float32(1.0 / (high - low))
    np.clip(t, 0.0, 1.0, out=t)
    weight = np.multiply(t, np.float32(-2.0))
    weight += np.float32(3.0)
    weight *= t
    weight *= t
    return weight


def adaptive_order_map(fractal_dimension: np.ndarray, consistency: np.ndarray, parameters: EnhanceParameters,
                       thresholds) -> np.ndarray:
    """Adaptive mode's orders: the texture ramp of the fractal dimension, moved towards the edge order on edges.

    ``order = texture + e (edge_order - texture)`` with ``texture`` from
    :func:`texture_order_map` and ``e`` the :func:`edge_weight` of the
    :func:`~.edge_evidence.edge_consistency` (docs/enhancement.md#adaptive-mode).

    Parameters
    ----------
    fractal_dimension, consistency : ndarray
        Maps of the same shape.
    parameters : EnhanceParameters
    thresholds : (float, float)
        ``(W_min, W_max)`` of the texture ramp.

    Returns
    -------
    order : ndarray of float32
    """
    low, high = thresholds
    order = texture_order_map(fractal_dimension, low=low, high=high, order_at_low=parameters.order_at_low_dimension,
                              order_at_high=parameters.order_at_high_dimension)
    weight = edge_weight(consistency, low=parameters.edge_consistency_low, high=parameters.edge_consistency_high)
    # order + e (edge_order - order), in place
    towards_edge = np.subtract(np.float32(parameters.edge_order), order, dtype=np.float32)
    towards_edge *= weight
    order += towards_edge
    return order


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


def order_map(fractal_dimension: np.ndarray, parameters: EnhanceParameters, thresholds=None,
              consistency: np.ndarray = None) -> np.ndarray:
    """The order map of ``parameters.mode`` ("paper" or "adaptive").

    ``thresholds`` are ``(W_min, W_max)`` from :func:`dimension_thresholds` of the
    whole volume (computed here when omitted); adaptive mode also needs the
    ``consistency`` map (:func:`~.edge_evidence.edge_consistency`).
    """
    thresholds = thresholds or dimension_thresholds(fractal_dimension, parameters)
    if parameters.mode == "paper":
        return paper_order_map(fractal_dimension, low=thresholds[0], high=thresholds[1])
    return adaptive_order_map(fractal_dimension, consistency, parameters, thresholds)


#: Grey value below which a CT voxel counts as air, in HU: halfway between air (-1000) and water (0).
AIR_HU = -500.0
#: A volume whose minimum is at or below this holds air in HU: it is taken for a CT.
CT_AIR_HU = -900.0


def holds_air_in_hu(volume_minimum: float) -> bool:
    """Whether a volume with this minimum grey value is a CT in HU with air in it (MR never goes this low)."""
    return volume_minimum <= CT_AIR_HU


def reaches_air(padded: np.ndarray, pad) -> np.ndarray:
    """Voxels whose mask reaches air: some voxel within ``pad`` voxels per axis is below :data:`AIR_HU`.

    Parameters
    ----------
    padded : (K + 2 pk, J + 2 pj, I + 2 pi) ndarray
        A block padded by the mask's reach (:func:`~.filter.filter_halo`).
    pad : 3 int

    Returns
    -------
    ndarray of bool
        The unpadded block's shape.
    """
    reaches = padded < AIR_HU
    for axis, extra in enumerate(pad):
        reaches = window_extreme(reaches, np.logical_or, 2 * extra + 1, axes=(axis,))
    return reaches
