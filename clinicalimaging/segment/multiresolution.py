"""Resolutions that fit the structure: a working grid for the whole chain, and coarse-to-fine for the level set.

Working grid. The chain's cost grows with the structure's surface in voxels (the
band's features, the level set, the distance maps): an organ on thin slices (a heart
or a liver on 1.5 mm voxels) holds four to eight times the voxels of the same organ
at 3 mm, for no gain in the Dice that a boundary of a voxel or two can change. When
the outline's equivalent radius spans more than :data:`WORKING_RADIUS_VOXELS` pixels,
the chain runs on a grid coarsened by block means (:func:`working_factors`), and its
results go back to the input grid by shape-based interpolation
(:func:`upsampled_mask`).

Coarse-to-fine.
A level set's cost grows with its surface (in voxels) times the distance its front
travels (in voxels, one per iteration at most). An organ of 20-80 mm radius on
1-mm voxels costs minutes where a lesion costs a second. The structure is therefore
segmented first on a grid coarsened by an integer factor ``f`` (block means, so noise
falls and edges stay where they are), chosen so that the outline's radius spans about
:data:`TARGET_RADIUS_VOXELS` coarse voxels, and the result is refined by a short level
set on the fine grid. Arrays are KJI, spacing in mm in the same order.
"""

import math

import numpy as np
from scipy import ndimage

from .levelset import signed_distance_to_surface

#: The coarse grid holds about this many voxels across the outline's equivalent radius.
TARGET_RADIUS_VOXELS = 8
#: Largest coarsening factor.
MAX_FACTOR = 4
#: Iterations of the refinement on the fine grid (the front starts next to the boundary).
REFINE_ITERATIONS = 60
#: The whole chain runs on a grid where the outline's equivalent radius spans at most this many pixels: about the
#: abdominal CT's liver at 3 mm, the largest structure the chain is tuned on.
WORKING_RADIUS_VOXELS = 28


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


def axis_factors(factor, spacing):
    """Per-axis factors ``(f_k, f, f)`` that coarsen an anisotropic grid towards isotropy.

    The in-plane axes take ``factor``; K takes it in proportion to the pixel size over
    the slice spacing (1 on slices ``factor`` times the pixel size or thicker).
    """
    along_k = int(np.clip(round(factor * min(spacing[1:]) / spacing[0]), 1, factor))
    return along_k, factor, factor


def block_mean(volume, factor):
    """Means of blocks of ``factor`` voxels (an int, or one per axis), the volume padded by edge values."""
    factors = np.broadcast_to(factor, 3)
    volume = np.asarray(volume, np.float32)
    padded = np.pad(volume, [(0, -size % f) for size, f in zip(volume.shape, factors)], mode="edge")
    k, j, i = (size // f for size, f in zip(padded.shape, factors))
    return padded.reshape(k, factors[0], j, factors[1], i, factors[2]).mean(axis=(1, 3, 5))


def upsampled(mask, factor, shape):
    """A coarse mask repeated back onto the fine grid of ``shape``; ``factor`` an int or one per axis."""
    fine = mask
    for axis, f in enumerate(np.broadcast_to(factor, 3)):
        fine = np.repeat(fine, f, axis=axis)
    return fine[:shape[0], :shape[1], :shape[2]]


def outline_radius_px(points_kji):
    """Equivalent radius, in pixels, of the largest outline polygon (points in drawing order per slice).

    Returns 0 for points that are not an (N, 3) array of finite numbers (the chain's
    checks report those).
    """
    points = np.asarray(points_kji, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3 or not np.all(np.isfinite(points)):
        return 0.0
    largest = 0.0
    for k in np.unique(np.rint(points[:, 0])):
        j, i = points[np.rint(points[:, 0]) == k, 1:].T
        largest = max(largest, 0.5 * abs(float(np.dot(j, np.roll(i, 1)) - np.dot(i, np.roll(j, 1)))))
    return math.sqrt(largest / math.pi)


def working_factors(points_kji, spacing):
    """Per-axis factors ``(f_k, f, f)`` of the working grid; ``(1, 1, 1)`` for structures of up to
    :data:`WORKING_RADIUS_VOXELS` pixels radius.

    Parameters
    ----------
    points_kji : (N, 3) array_like of float
        The outline, continuous voxel coordinates (k, j, i).
    spacing : sequence of 3 float
        mm, KJI.
    """
    factor = int(np.clip(math.ceil(outline_radius_px(points_kji) / WORKING_RADIUS_VOXELS), 1, MAX_FACTOR))
    return axis_factors(factor, spacing)


def coarse_points(points_kji, factors):
    """Continuous voxel coordinates on the grid of :func:`block_mean` with ``factors``."""
    factors = np.asarray(factors, dtype=np.float64)
    return (np.asarray(points_kji, dtype=np.float64) - (factors - 1) / 2.0) / factors


def block_any(mask, factors):
    """Whether any voxel of each block (``factors`` per axis) is set; the edge blocks padded with False."""
    padded = np.pad(np.asarray(mask, bool), [(0, -size % f) for size, f in zip(np.shape(mask), factors)])
    k, j, i = (size // f for size, f in zip(padded.shape, factors))
    return padded.reshape(k, factors[0], j, factors[1], i, factors[2]).any(axis=(1, 3, 5))


def upsampled_image(values, factors, shape):
    """A coarse image linearly interpolated onto the fine grid of ``shape`` (block ``b`` covers fine voxels
    ``b f .. b f + f - 1``)."""
    fine = ndimage.zoom(np.asarray(values, np.float32), factors, order=1, mode="nearest", grid_mode=True)
    return fine[:shape[0], :shape[1], :shape[2]]


def upsampled_mask(mask, factors, shape, spacing):
    """A coarse mask on the fine grid of ``shape`` by shape-based interpolation of its signed distance.

    Parameters
    ----------
    mask : (K, J, I) array_like
        Non-zero inside, on the coarse grid.
    factors : tuple of 3 int
    shape : tuple of 3 int
        The fine grid's shape (at most the coarse shape times ``factors``).
    spacing : sequence of 3 float
        The coarse grid's spacing, mm.

    Returns
    -------
    ndarray of uint8, shape ``shape``
    """
    mask = np.asarray(mask).astype(bool)
    if not mask.any():
        return np.zeros(shape, np.uint8)
    distance = signed_distance_to_surface(mask, spacing)
    return (upsampled_image(distance, factors, shape) > 0).view(np.uint8)
