"""Parameters of the variable-order fractional differential enhancement."""

import dataclasses

from ..parameters import ParameterError, Parameters, parameter


#: Adaptive mode's fields beside its orders, which paper mode ignores.
ADAPTIVE_FIELDS = ("edge_order", "edge_scale", "edge_consistency_low", "edge_consistency_high", "protect_air")


@dataclasses.dataclass(frozen=True)
class EnhanceParameters(Parameters):
    """Everything that controls :func:`clinicalimaging.enhance.fractional_enhance`.

    ``mode="paper"`` is the method of the paper: eq. (1) maps the local fractal
    dimension onto orders 0.45..0.85 of a Grünwald–Letnikov differential mask.
    ``mode="adaptive"`` (the default) keeps the same machinery with an order map
    that sharpens only edges and smooths the rest: voxels whose gradient holds at a
    coarser scale (edge consistency, :mod:`.edge_evidence`) get ``edge_order``; the
    rest get an order that falls from ``order_at_low_dimension`` to
    ``order_at_high_dimension`` as the fractal dimension (roughness) rises, below
    zero by default (fractional integration, i.e. smoothing;
    docs/enhancement.md#adaptive-mode).
    """

    mode: str = parameter("adaptive", choices=("adaptive", "paper"),
                          help="'paper': eq. (1), orders 0.45-0.85; 'adaptive': orders from the adaptive-mode "
                               "parameters, smoothing noisy tissue and sharpening edges.")
    mask: str = parameter("2d", choices=("2d", "3d"),
                          help="'2d': the 8-direction mask in each slice; '3d': 26 directions with steps in mm "
                               "that honour anisotropic voxel spacing.")
    number_of_terms: int = parameter(3, minimum=2, maximum=16,
                                     help="Grünwald-Letnikov terms per direction (3 gives the 5x5 Tiansi mask).")
    fractal_window: int = parameter(15, unit="px", minimum=11, maximum=63,
                                    help="Side of the sliding window for the local fractal dimension.")
    fractal_smoothing: float = parameter(0.5, unit="px", minimum=0.0, maximum=5.0,
                                         help="Gaussian sigma of the light pre-smoothing before box counting.")
    fractal_dimension_low: float = parameter(1.5, minimum=0.0, maximum=4.0,
                                             help="W_min of eq. (1): fractal dimension at or below which "
                                                  "the lowest order is used.")
    fractal_dimension_high: float = parameter(2.3, minimum=0.0, maximum=4.0,
                                              help="W_max of eq. (1): fractal dimension above which "
                                                   "the highest order is used.")
    automatic_thresholds: bool = parameter(True,
                                           help="Adaptive mode: use the 5th and 95th percentiles of the volume's "
                                                "fractal dimension as W_min and W_max (robust to scanner scaling) "
                                                "instead of the fixed values.")
    order_at_low_dimension: float = parameter(-0.1, minimum=-2.0, maximum=0.95,
                                              help="Adaptive mode: order away from edges where the fractal dimension "
                                                   "is at or below W_min (smooth tissue; negative = fractional "
                                                   "integration, i.e. smoothing).")
    order_at_high_dimension: float = parameter(-0.5, minimum=-2.0, maximum=0.95,
                                               help="Adaptive mode: order away from edges where the fractal dimension "
                                                    "is at or above W_max (rough, noisy texture: smoothed hardest).")
    edge_order: float = parameter(0.3, minimum=-2.0, maximum=0.95,
                                  help="Adaptive mode: order on consistent edges such as a lesion boundary "
                                       "(positive = fractional derivative, i.e. sharpening).")
    edge_scale: float = parameter(1.5, unit="px", minimum=1.2, maximum=5.0,
                                  help="Adaptive mode: Gaussian sigma of the coarse gradient that tells a consistent "
                                       "edge from texture and noise (the fine gradient has a sigma of 1 px).")
    edge_consistency_low: float = parameter(0.4, minimum=0.0, maximum=1.0,
                                            help="Adaptive mode: edge consistency at or below which a voxel gets the "
                                                 "texture order only.")
    edge_consistency_high: float = parameter(0.7, minimum=0.0, maximum=1.5,
                                             help="Adaptive mode: edge consistency at or above which a voxel gets "
                                                  "the edge order only.")
    protect_air: bool = parameter(True,
                                  help="Adaptive mode, CT: leave voxels whose mask reaches air (below -500 HU) "
                                       "unchanged, so that air-tissue edges (lungs, bowel gas, skin) get no bright "
                                       "halo. Applies when the volume's minimum is -900 or below (air in HU).")
    strength: float = parameter(1.0, minimum=0.0, maximum=4.0,
                                help="Blend between the input (0) and the full fractional response (1). Above 1 "
                                     "the sharpening grows on; smoothing (negative orders) stays at its full "
                                     "response.")

    def check(self) -> None:
        """Reject threshold and order ranges that are empty or reversed."""
        if self.fractal_dimension_low >= self.fractal_dimension_high:
            raise ParameterError(f"{{0}} ({self.fractal_dimension_low}) must be below {{1}} "
                                 f"({self.fractal_dimension_high}).", "fractal_dimension_low", "fractal_dimension_high")
        if self.edge_consistency_low >= self.edge_consistency_high:
            raise ParameterError(f"{{0}} ({self.edge_consistency_low}) must be below {{1}} "
                                 f"({self.edge_consistency_high}).", "edge_consistency_low", "edge_consistency_high")
        if self.fractal_window % 2 == 0:
            raise ParameterError(f"{{0}} must be odd (a window centred on the voxel); got {self.fractal_window}.",
                                 "fractal_window")

    def not_applicable(self) -> dict:
        """Paper mode ignores the adaptive-mode fields; automatic thresholds ignore the fixed ones."""
        if self.mode == "paper":
            orders = "{0} does not apply in paper mode (eq. (1) fixes the orders); use {1:=adaptive} to set it, " \
                     "or leave {0} out."
            thresholds = ("{0} does not apply in paper mode, which always uses the fixed thresholds {2} and {3}; "
                          "use {1:=adaptive} for automatic thresholds, or leave {0} out.")
            return {"automatic_thresholds": ParameterError(thresholds, "automatic_thresholds", "mode",
                                                           "fractal_dimension_low", "fractal_dimension_high"),
                    **{name: ParameterError(orders, name, "mode")
                       for name in ("order_at_low_dimension", "order_at_high_dimension", *ADAPTIVE_FIELDS)}}
        if self.automatic_thresholds:
            fixed = ("{0} does not apply with automatic thresholds (adaptive mode's default: W_min and W_max come "
                     "from the volume's own fractal dimension); use {1:=False} to set it, or leave {0} out.")
            return {name: ParameterError(fixed, name, "automatic_thresholds")
                    for name in ("fractal_dimension_low", "fractal_dimension_high")}
        return {}
