"""Local fractal dimension by differential box counting (DBC) over a sliding window.

Sarkar & Chaudhuri's DBC (docs/enhancement.md#local-fractal-dimension) counts, for box side ``s``, the
number of grey-level boxes of height ``h_s`` needed to cover the intensity
surface above each ``s x s`` cell: ``n_s = l - k + 1`` with ``l`` and ``k`` the
indices of the boxes holding the maximum and the minimum. Boxes are numbered from
0 on half-open intervals, ``floor(v / h_s)`` (the paper's ``ceil`` numbers them
from 1; the counts differ only for values exactly on a box border). Grey levels
keep 1/256 of a level: rounding them to whole levels changes the counts on smooth
tissue, where a box often spans less than one level.
The fractal dimension is the slope of ``log N_s`` against ``log(1 / r)``,
``r = s / M``. Per voxel, the cells are the sliding ``s x s`` neighbourhoods
(max/min filters) and ``N_s`` averages them over a ``W x W`` window, so the slope
is one fixed linear combination of ``log N_s`` maps. As in standard DBC a box
of side ``s`` spans ``s`` samples: a flat plane gives exactly 2 and a tilted one
a little less (about 1.8 for a steep ramp), DBC's known underestimate.
"""

import functools

import numpy as np

from ..blocks import strided_sample
from ..errors import InputError
from .slice_filters import correlate_in_slices, gaussian_weights
from .sliding_boxes import grow_window, window_sum

#: Grey levels the image is rescaled to before box counting (G of DBC).
GREY_LEVELS = 256
#: Fixed-point steps per grey level.
SUBLEVELS = 256
#: Box sides in pixels, used up to half the window. Odd sides centre every box on a voxel; even ones
#: (the usual 2, 3, 4, 5, 7) sit half a pixel off and make the map lopsided at edges.
BOX_SIDES = (3, 5, 7, 9, 11, 13, 15)


def intensity_range(image: np.ndarray) -> tuple[float, float]:
    """Robust intensity range (0.5th and 99.5th percentiles) used to rescale to grey levels.

    Percentiles of a strided subsample keep this cheap on large volumes and stop
    a few extreme voxels (metal, air) from flattening the grey axis.
    """
    sample = strided_sample(image)
    low, high = np.percentile(sample, (0.5, 99.5))
    if high <= low:
        low, high = float(image.min()), float(image.max())
    return float(low), float(high)


def box_sides(window: int) -> tuple[int, ...]:
    """The box sides used for a window: ``s`` in :data:`BOX_SIDES` with ``s <= window / 2``.

    Raises
    ------
    InputError
        When the window leaves fewer than two sides, too few for a slope.
    """
    sides = tuple(s for s in BOX_SIDES if s <= window / 2)
    if len(sides) < 2:
        raise InputError(f"The fractal window ({window} px) must be at least {2 * BOX_SIDES[1]} px so that two box "
                         f"sizes ({BOX_SIDES[0]} and {BOX_SIDES[1]} px) fit in it.")
    return sides


def local_fractal_dimension(image: np.ndarray, *, window: int = 15, smoothing: float = 0.5,
                            value_range: tuple[float, float] = None) -> np.ndarray:
    """Per-voxel 2-D fractal dimension of each slice.

    Parameters
    ----------
    image : (K, J, I) ndarray
        Volume in KJI order; each slice (fixed K) is analysed on its own, so the
        dimension lies in the 2-D surface range (about 2..3) whatever the slice
        thickness.
    window : int
        Side of the sliding window in pixels (odd; the usual 15).
    smoothing : float
        Gaussian sigma in pixels of the in-plane pre-smoothing (0 = none). Box
        counting responds to pixel noise more than to texture; light smoothing
        moves noisy flat tissue towards 2.
    value_range : (float, float), optional
        Intensities mapped to grey levels 0 and 255 (defaults to
        :func:`intensity_range` of ``image``; pass the whole volume's range when
        calling on a slab).

    Returns
    -------
    dimension : (K, J, I) ndarray of float32

    Notes
    -----
    Box height is ``h_s = s G / M`` with ``G = M = 256``, i.e. ``h_s = s`` grey
    levels, independent of the image's size so a crop gives the same map (using
    the window side as ``M`` would flatten the grey axis and give 2 everywhere).
    The regression uses ``log(1/r)``, not ``log s``: the latter returns ``-D``.
    """
    low, high = value_range if value_range is not None else intensity_range(image)
    grey = image.astype(np.float32)
    if smoothing > 0:
        # Two sigmas hold 95 % of the kernel; the default four sigmas add two taps weighing < 3e-4 at sigma 0.5.
        weights = gaussian_weights(smoothing, truncate=2.0)
        grey = correlate_in_slices(grey, weights, weights)
    scale = (GREY_LEVELS - 1) / max(high - low, np.finfo(np.float32).tiny)
    # 16-bit fixed point with 1/256 of a grey level: exact enough for sub-level variations on smooth
    # tissue, and half the memory traffic of float32 in the max/min passes that dominate the cost.
    grey = np.rint(np.clip((grey - low) * scale, 0, GREY_LEVELS - 1) * SUBLEVELS).astype(np.uint16)

    sides = box_sides(window)
    log_inverse_ratio = -np.log(np.array(sides, dtype=np.float64))  # log(1/r) up to a constant
    centred = log_inverse_ratio - log_inverse_ratio.mean()
    slopes = dict(zip(sides, centred / np.sum(centred ** 2)))

    dimension = np.full(image.shape, 2.0, dtype=np.float32)  # (W/s)^2 in N_s contributes exactly 2
    # Window sums of the counts n_s - 1 <= (G - 1) / s: exact in 16 bits for the usual windows.
    sum_type = np.uint16 if window ** 2 * (GREY_LEVELS - 1) // min(sides) < 1 << 16 else np.uint32
    margin = ((0, 0), (window // 2, window // 2), (window // 2, window // 2))
    rows, columns = image.shape[1:]
    # Extremes over s x s boxes anchored at each pixel, grown from one side to the next (far cheaper
    # than a max filter per size). Mirror padding lets every box be centred on its voxel, also at the border.
    before, after = (max(sides) - 1) // 2, max(sides) // 2
    highest = lowest = np.pad(grey, ((0, 0), (before, after), (before, after)), mode="symmetric")
    grown = 1
    for side in sides:
        while grown < side:
            step = min(side - grown, grown)
            highest = grow_window(highest, np.maximum, step, axes=(1, 2))
            lowest = grow_window(lowest, np.minimum, step, axes=(1, 2))
            grown += step
        centred = (slice(None), slice(before - (side - 1) // 2, before - (side - 1) // 2 + rows),
                   slice(before - (side - 1) // 2, before - (side - 1) // 2 + columns))
        # The box index is monotone in the grey level, so the boxes spanned are those holding the extremes.
        boxes = highest[centred] // np.uint16(SUBLEVELS * side)
        boxes -= lowest[centred] // np.uint16(SUBLEVELS * side)
        total = window_sum(np.pad(boxes.astype(sum_type, copy=False), margin, mode="symmetric"), window, axes=(1, 2))
        dimension += np.take(_weighted_log_mean_count(window, side, slopes[side]), total)
    return dimension


@functools.lru_cache(maxsize=32)
def _weighted_log_mean_count(window: int, side: int, slope: float) -> np.ndarray:
    """``slope * log(mean n_s)`` for every window sum of ``n_s - 1`` that boxes of ``side`` can give.

    A window sum is an integer from 0 to ``window² (G - 1) // side``, so a table of
    its terms replaces a logarithm per voxel by a lookup.

    Returns
    -------
    table : ndarray of float32, read-only
        Entry ``t`` is ``slope * log(1 + t / window²)``; built once per window and side, as every slab
        of a volume uses the same tables.
    """
    totals = np.arange(window ** 2 * ((GREY_LEVELS - 1) // side) + 1, dtype=np.float64)
    table = (slope * np.log1p(totals / window ** 2)).astype(np.float32)
    table.flags.writeable = False
    return table
