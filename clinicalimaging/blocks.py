"""Volumes in slabs along K with halos, and strided samples: bounded temporaries, exact results.

A filter of radius ``r`` applied to a block that holds its core plus ``r`` real (or,
at the volume's edge, mirrored) neighbours on every side gives at the core exactly
what it gives on the whole volume. The enhancement, the voxel features and the GGCM
therefore work slab by slab (:func:`slab_boxes`, :func:`padded_block`,
:func:`core_slices`), each slab of about :data:`SLAB_VOXELS` voxels, halo included.
Robust ranges and percentiles of large volumes come from a strided sample of about
:data:`SAMPLE_VOXELS` voxels (:func:`strided_sample`).

Boxes are 3 pairs ``(start, stop)`` in KJI order; halos are 3 voxel counts. Numpy only.
"""

import numpy as np

#: Voxels per slab, halo included: about 10 float32 temporaries of this size stay well under 100 MB.
SLAB_VOXELS = 1 << 20
#: Voxels of a strided sample: percentiles from it are within a fraction of a percentile of the whole volume's.
SAMPLE_VOXELS = 1_000_000


def slab_boxes(bounds, halo=(0, 0, 0), slab_voxels=SLAB_VOXELS):
    """Split a box into slabs along K of about ``slab_voxels`` voxels each, the in-slice halo included.

    Parameters
    ----------
    bounds : 3 pairs (start, stop), or the shape of a volume (3 int)
        The region to cover.
    halo : 3 int
        The halo each slab will be padded with (only its in-slice part counts here).
    slab_voxels : int

    Returns
    -------
    list of boxes
        Consecutive slabs covering ``bounds``; each keeps ``bounds``' in-slice extent.
    """
    bounds = [tuple(pair) if np.ndim(pair) else (0, int(pair)) for pair in bounds]
    slice_voxels = np.prod([stop - start + 2 * extra for (start, stop), extra in zip(bounds[1:], halo[1:])])
    per_slab = max(1, int(slab_voxels // max(1, slice_voxels)))
    (first, last), rows, columns = bounds
    return [((start, min(start + per_slab, last)), rows, columns) for start in range(first, last, per_slab)]


def padded_block(volume: np.ndarray, box, halo) -> np.ndarray:
    """``volume[box]`` as float32 plus ``halo`` voxels per side: real neighbours inside, mirrored outside.

    Parameters
    ----------
    volume : (K, J, I) ndarray
    box : 3 pairs (start, stop)
        The core region, KJI order.
    halo : 3 int
        Voxels added on both sides of each axis.

    Mirroring (numpy ``"symmetric"`` = scipy ``"reflect"``) commutes with symmetric
    filters, so filters of radius up to ``halo`` give at the core exactly what they
    give on the whole volume.
    """
    slices, pads = [], []
    for (start, stop), extra, length in zip(box, halo, volume.shape):
        low, high = max(0, start - extra), min(length, stop + extra)
        slices.append(slice(low, high))
        pads.append((extra - (start - low), extra - (high - stop)))
    return np.pad(volume[tuple(slices)].astype(np.float32, copy=False), pads, mode="symmetric")


def core_slices(box, halo):
    """Where ``box`` lies inside its :func:`padded_block`."""
    return tuple(slice(extra, extra + stop - start) for (start, stop), extra in zip(box, halo))


def box_slices(box):
    """``box`` as a tuple of slices, to index a volume."""
    return tuple(slice(start, stop) for start, stop in box)


def strided_sample(array, voxels=SAMPLE_VOXELS):
    """Every n-th value of ``array`` (flattened), n chosen so that about ``voxels`` values remain."""
    flat = np.ravel(array)
    return flat[:: max(1, flat.size // voxels)]
