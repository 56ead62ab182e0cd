"""Through-plane discipline: the rough segmentation may claim a slice only where the image supports it.

A level set grows in 3-D from the outlined slices. On thick slices, or where a
look-alike structure lies above or beside the target, it can jump to tissue that
only resembles it: fill most of the next slice, or slide sideways onto a neighbour.
On an outlined slice the user has drawn the boundary, so the region keeps only what
lies within a small tolerance of the outline. Walking away from each outlined slice,
slice by slice on the slices as acquired (interpolated slices carry no information of
their own), up to the next outlined slice, the region on each slice must continue the
accepted region of the slice before it (between two outlined slices, what either side
reaches is kept):

1. only its connected parts that overlap the previous region are kept (no jump
   sideways onto a neighbour);
2. it may extend beyond the previous region by at most ``slope`` times the slice
   spacing in-plane (a surface steeper than that between two slices is not resolved
   by them; ``slope`` 1.5 allows a 56 degree wall);
3. an empty region ends the structure on that side;
4. on thick slices, beyond the outermost outlines, a region that grows past 1.5
   times the slice before while lying mostly beside it (a look-alike above or below
   the lesion) ends the structure there too.

Arrays are KJI, spacing in mm in the same order. Numpy and scipy only.
"""

import numpy as np
from scipy import ndimage

from .resample import thick_slices

#: In-plane growth allowed per mm of slice spacing (1.5: up to 56 degrees from the slice axis).
DEFAULT_SLOPE = 1.5
#: On an outlined slice the region reaches at most this far (px) beyond the outline.
OUTLINE_TOLERANCE_PX = 2.0
#: On thick slices (:func:`.resample.thick_slices`), beyond the outermost outlines, a slice whose region is more
#: than GROWTH_LIMIT times the slice before and overlaps it on less than MIN_OVERLAP of its own area is another
#: structure: the walk stops there.
GROWTH_LIMIT, MIN_OVERLAP = 1.5, 0.5
_EIGHT_CONNECTED = np.ones((3, 3), bool)


def limit_through_plane(mask, outline_mask, spacing, *, slope=DEFAULT_SLOPE, tolerance_px=OUTLINE_TOLERANCE_PX):
    """The mask with each slice limited to a continuation of its neighbour towards the outline.

    Parameters
    ----------
    mask : (K, J, I) array_like
        Rough segmentation on the slices as acquired.
    outline_mask : (K, J, I) array_like
        The outline's mask (non-zero on the outlined slices only). On an outlined
        slice the region keeps only what lies within ``tolerance_px`` of it: there the
        user has drawn the boundary.
    spacing : sequence of 3 float
        mm, KJI.
    slope : float
        In-plane growth allowed per mm of slice spacing.
    tolerance_px : float
        How far the region may reach beyond the outline on an outlined slice (the
        polygon cuts the corners between its points).

    Returns
    -------
    (K, J, I) ndarray of bool
    """
    region = np.asarray(mask).astype(bool)
    outline_mask = np.asarray(outline_mask).astype(bool)
    outlined = np.flatnonzero(outline_mask.any(axis=(1, 2)))
    if not len(outlined):
        return region.copy()
    result = np.zeros_like(region)
    for k in outlined:
        result[k] = region[k] & _within(outline_mask[k], np.full(2, float(tolerance_px)))
    reach_px = slope * spacing[0] / np.asarray(spacing[1:], float)
    thick = thick_slices(spacing)
    bounds = np.r_[-1, outlined, region.shape[0]]
    for number, k in enumerate(outlined, start=1):
        for stop, step in ((bounds[number + 1], 1), (bounds[number - 1], -1)):
            # On thick slices, walking away from every outline (not towards another one), a jump ends the walk.
            stops_at_jumps = thick and stop in (-1, region.shape[0])
            previous = result[k]
            for other in range(k + step, stop, step):
                continued = _continuation(region[other], previous, reach_px)
                if stops_at_jumps and _jumps(continued, previous):
                    break
                result[other] |= continued  # between two outlined slices: what either side reaches
                previous = continued
    return result


def _jumps(region, previous):
    """Whether ``region`` grows past :data:`GROWTH_LIMIT` times ``previous`` while mostly lying beside it."""
    area = np.count_nonzero(region)
    return (area > GROWTH_LIMIT * np.count_nonzero(previous)
            and np.count_nonzero(region & previous) < MIN_OVERLAP * area)


def _continuation(region, previous, reach_px):
    """The parts of ``region`` that overlap ``previous``, within ``reach_px`` (rows, columns) of it."""
    if not previous.any() or not region.any():
        return np.zeros_like(region)
    components, count = ndimage.label(region, structure=_EIGHT_CONNECTED)
    touching = np.unique(components[previous & region])
    kept = np.isin(components, touching[touching > 0])
    return kept & _within(previous, reach_px)


def _within(previous, reach_px):
    """Pixels within an elliptical distance ``reach_px`` (rows, columns) of ``previous``."""
    distance = ndimage.distance_transform_edt(~previous, sampling=1.0 / np.maximum(reach_px, 1e-6))
    return distance <= 1.0
