"""Through-plane discipline: the rough segmentation may claim a slice only where the image supports it.

A level set grows in 3-D from the outlined slices. On thick slices, or where a
look-alike structure lies above or beside the target, it can jump to tissue that
only resembles it: fill most of the next slice, or slide sideways onto a neighbour.
Walking away from the outlined slices, slice by slice on the slices as acquired
(interpolated slices carry no information of their own), the region on each slice
must continue the accepted region of the slice before it:

1. only its connected parts that overlap the previous region are kept (no jump
   sideways onto a neighbour);
2. it may extend beyond the previous region by at most ``slope`` times the slice
   spacing in-plane (a surface steeper than that between two slices is not resolved
   by them; ``slope`` 1.5 allows a 56 degree wall);
3. an empty region ends the structure on that side.

Arrays are KJI, spacing in mm in the same order. Numpy and scipy only.
"""

import numpy as np
from scipy import ndimage

#: In-plane growth allowed per mm of slice spacing (1.5: up to 56 degrees from the slice axis).
DEFAULT_SLOPE = 1.5
_EIGHT_CONNECTED = np.ones((3, 3), bool)


def limit_through_plane(mask, outlined, spacing, *, slope=DEFAULT_SLOPE):
    """The mask with each slice beyond the outlined ones limited to a continuation of the slice before.

    Parameters
    ----------
    mask : (K, J, I) array_like
        Rough segmentation on the slices as acquired.
    outlined : (K,) array_like of bool
        The slices that hold the outline; they (and the slices between them) are kept
        as they are.
    spacing : sequence of 3 float
        mm, KJI.
    slope : float
        In-plane growth allowed per mm of slice spacing.

    Returns
    -------
    (K, J, I) ndarray of bool
    """
    result = np.asarray(mask).astype(bool, copy=True)
    outlined = np.flatnonzero(np.asarray(outlined, bool))
    if not len(outlined):
        return result
    reach_px = slope * spacing[0] / np.asarray(spacing[1:], float)
    for start, stop, step in ((outlined.max(), result.shape[0], 1), (outlined.min(), -1, -1)):
        previous = result[start]
        for k in range(start + step, stop, step):
            result[k] = _continuation(result[k], previous, reach_px)
            previous = result[k]
    return result


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
