"""Coarse-to-fine for large structures: the rough level set first on a coarser grid, then refined.

A level set's cost grows with its surface (in voxels) times the distance its front
travels (in voxels, one per iteration at most). An organ of 20-80 mm radius on
1-mm voxels costs minutes where a lesion costs a second. The structure is therefore
segmented first on a grid coarsened by an integer factor ``f`` (block means, so noise
falls and edges stay where they are), chosen so that the outline's radius spans about
:data:`TARGET_RADIUS_VOXELS` coarse voxels, and the result is refined by a short level
set on the fine grid. Arrays are KJI, spacing in mm in the same order.
"""

import numpy as np

#: The coarse grid holds about this many voxels across the outline's equivalent radius.
TARGET_RADIUS_VOXELS = 8
#: Largest coarsening factor.
MAX_FACTOR = 4
#: Iterations of the refinement on the fine grid (the front starts next to the boundary).
REFINE_ITERATIONS = 60


def coarsening_factor(initial_mask, spacing):
    """The integer factor for the coarse grid: 1 (none) for structures of up to ``2 x TARGET_RADIUS_VOXELS``.

    Parameters
    ----------
    initial_mask : (K, J, I) ndarray of bool
        The outline's mask.
    spacing : sequence of 3 float
        mm, KJI.

    Returns
    -------
    int
        In ``1 .. MAX_FACTOR``.
    """
    areas = initial_mask.reshape(initial_mask.shape[0], -1).sum(axis=1)
    radius_mm = np.sqrt(areas.max(initial=0) * spacing[1] * spacing[2] / np.pi)
    radius_voxels = radius_mm / min(spacing)
    return int(np.clip(radius_voxels // TARGET_RADIUS_VOXELS, 1, MAX_FACTOR))


def block_mean(volume, factor):
    """Means of ``factor``-cubed blocks, the volume padded by edge values to a multiple of ``factor``."""
    volume = np.asarray(volume, np.float32)
    padded = np.pad(volume, [(0, -size % factor) for size in volume.shape], mode="edge")
    k, j, i = (size // factor for size in padded.shape)
    return padded.reshape(k, factor, j, factor, i, factor).mean(axis=(1, 3, 5))


def upsampled(mask, factor, shape):
    """A coarse mask repeated back onto the fine grid of ``shape``."""
    fine = mask
    for axis in range(3):
        fine = np.repeat(fine, factor, axis=axis)
    return fine[:shape[0], :shape[1], :shape[2]]
