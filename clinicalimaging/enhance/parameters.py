"""Parameters of the variable-order fractional differential enhancement."""

import dataclasses

from ..parameters import ParameterError, Parameters, parameter


@dataclasses.dataclass(frozen=True)
class EnhanceParameters(Parameters):
    """Everything that controls :func:`clinicalimaging.enhance.fractional_enhance`.

    ``mode="paper"`` is the method of the paper: eq. (1) maps the local fractal
    dimension onto orders 0.45..0.85 of a Grünwald–Letnikov differential mask.
    ``mode="adaptive"`` (the default) keeps the same machinery but maps the
    fractal dimension linearly from ``order_at_low_dimension`` to
    ``order_at_high_dimension``. The defaults reverse the paper's direction:
    box counting rates pixel noise as rough (high dimension) and clean edges as
    smooth, so noisy tissue gets a negative order (fractional integration,
    smoothing) and edges a positive one (docs/enhancement.md#adaptive-mode).
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
    order_at_low_dimension: float = parameter(0.3, minimum=-2.0, maximum=0.95,
                                              help="Adaptive mode: order where the fractal dimension is at or below "
                                                   "W_min (smooth tissue and clean edges: positive = sharpen).")
    order_at_high_dimension: float = parameter(-0.25, minimum=-2.0, maximum=0.95,
                                               help="Adaptive mode: order where the fractal dimension is at or above "
                                                    "W_max (rough, noisy texture: negative = fractional integration, "
                                                    "i.e. smoothing).")
    strength: float = parameter(1.0, minimum=0.0, maximum=4.0,
                                help="Blend between the input (0) and the full fractional response (1).")

    def check(self) -> None:
        """Reject threshold and order ranges that are empty or reversed."""
        if self.fractal_dimension_low >= self.fractal_dimension_high:
            raise ParameterError(f"{{0}} ({self.fractal_dimension_low}) must be below {{1}} "
                                 f"({self.fractal_dimension_high}).", "fractal_dimension_low", "fractal_dimension_high")
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
                       for name in ("order_at_low_dimension", "order_at_high_dimension")}}
        if self.automatic_thresholds:
            fixed = ("{0} does not apply with automatic thresholds (adaptive mode's default: W_min and W_max come "
                     "from the volume's own fractal dimension); use {1:=False} to set it, or leave {0} out.")
            return {name: ParameterError(fixed, name, "automatic_thresholds")
                    for name in ("fractal_dimension_low", "fractal_dimension_high")}
        return {}
