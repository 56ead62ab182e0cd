"""Seeded competition between the outline and the background just outside it.

The rough level set grows as far as the intensities allow; where a neighbour of the
same intensity touches the structure across a thin gap (a kidney beside the bowel, a
heart beside the great vessels), it goes on into the neighbour. A user of Slicer's
"Grow from seeds" stops such a leak by painting background just outside the outline:
the neighbour is then closer to a background seed than to the lesion seed. This
module does the same from the outline alone:

- :func:`outline_seeds`: lesion seeds inside the outline polygon (eroded), background
  seeds in a shell a few pixels outside it, on the outlined slices;
- :func:`seeded_competition`: every voxel goes to the seed whose cheapest path
  reaches it, a path's cost being the sum of the absolute intensity steps along it
  (the shortest-path form of GrowCut, Vezhnevets & Konouchine 2005; Zhu et al. 2014).

Arrays are in KJI order (``array[k, j, i]``), outline points in continuous voxel
coordinates ``(k, j, i)``. Numpy and scipy only.
"""

import numpy as np
import scipy.ndimage
import scipy.sparse
import scipy.sparse.csgraph

from ..errors import InputError
from ..preprocess import RoiBox, outline_mask
from ..validation import as_scalar_volume, on_image_grid
from .result import BACKGROUND_SEED, LESION_SEED

#: Background shell of the competition, pixels outside the outline: beyond the blur of its edge.
SHELL_PX = (4, 7)
#: Cost of one step on top of the intensity step, in units of the image's typical neighbour difference: equal
#: intensities are reached by the nearer seed.
STEP_COST = 1e-3


def outline_seeds(points_kji, shape, *, box=None, faces=True, erode_px=2, shell_px=(2, 4)):
    """Lesion and background seeds from an outline, as a user of "Grow from seeds" would paint them.

    On every slice holding an outline (the polygon of
    :func:`clinicalimaging.preprocess.outline_mask`), distances in pixels within the
    slice:

    - lesion seed (:data:`~.result.LESION_SEED`, 1): the polygon eroded by
      ``erode_px`` (pixels more than ``erode_px`` from the nearest pixel outside it).
      A polygon too thin to survive the erosion is used whole;
    - background seed (:data:`~.result.BACKGROUND_SEED`, 2): the pixels outside the
      polygon at a distance in ``(shell_px[0], shell_px[1]]`` from it;

    and with ``faces`` the faces of ``box`` (its outer layer of 1 voxel on all 6 sides)
    are background seeds too, except where a lesion seed lies.

    Parameters
    ----------
    points_kji : (N, 3) array_like of float
        Outline points in continuous voxel coordinates (k, j, i), in drawing order, at
        least 3 on each slice that holds any.
    shape : tuple of 3 int
        Image shape (K, J, I).
    box : RoiBox, optional
        The box whose faces are background; default the whole array.
    faces : bool
        Whether the faces of ``box`` are background seeds.
    erode_px : int
        Erosion of the outline polygon for the lesion seeds, in pixels.
    shell_px : (float, float)
        Inner and outer distance in pixels of the background shell around the outline.

    Returns
    -------
    seeds : ndarray of uint8, shape ``shape``
        0 unlabelled, 1 lesion, 2 background.

    Raises
    ------
    InputError
        Bad points (see :func:`~clinicalimaging.preprocess.outline_mask`), a negative
        erosion, a shell with ``not 0 <= shell_px[0] < shell_px[1]``, or a box outside
        the image.
    """
    if not (isinstance(erode_px, (int, np.integer)) and erode_px >= 0):
        raise InputError(f"erode_px must be a whole number of pixels >= 0; got {erode_px!r}.")
    inner, outer = shell_px
    if not 0 <= inner < outer:
        raise InputError(f"The background shell needs 0 <= shell_px[0] < shell_px[1]; got {tuple(shell_px)}.")
    outline = outline_mask(points_kji, shape).astype(bool)
    box = box or RoiBox(start=(0, 0, 0), stop=tuple(outline.shape), touches_border=True)
    if any(begin < 0 or end > size or begin >= end for begin, end, size in zip(box.start, box.stop, outline.shape)):
        raise InputError(f"The seed box {box.start}..{box.stop} does not lie inside the image {outline.shape}.")

    seeds = np.zeros(outline.shape, np.uint8)
    if faces:
        box_faces = np.ones(box.shape, bool)
        box_faces[1:-1, 1:-1, 1:-1] = False
        seeds[box.slices][box_faces] = BACKGROUND_SEED
    for k in np.flatnonzero(outline.any(axis=(1, 2))):
        inside = scipy.ndimage.distance_transform_edt(outline[k])
        outside = scipy.ndimage.distance_transform_edt(~outline[k])
        seeds[k][(outside > inner) & (outside <= outer)] = BACKGROUND_SEED
        core = inside > erode_px
        seeds[k][core if core.any() else outline[k]] = LESION_SEED
    return seeds


def seeded_competition(image, seeds):
    """Label every voxel with the seed whose cheapest path reaches it.

    A path runs between face neighbours (6-connectivity); one step costs the absolute
    intensity difference between its voxels, in units of the image's median
    neighbour difference along I, plus :data:`STEP_COST`. Each voxel takes the label
    of the seed with the least total cost to it (Dijkstra's algorithm from all seeds
    at once), so a structure whose only link to the lesion seed runs through a gap of
    other intensity goes to the background seed on its own side.

    Parameters
    ----------
    image : (K, J, I) array_like
        Scalar image.
    seeds : (K, J, I) array_like of int
        0 unlabelled, any other value a seed label.

    Returns
    -------
    labels : ndarray of uint8, shape (K, J, I)
        The winning seed label per voxel; 0 where no seed is connected (no seeds).

    Raises
    ------
    InputError
        Bad image, or seeds of another shape.
    """
    volume = as_scalar_volume(image, allow_constant=True).astype(np.float64)
    seeds = on_image_grid(seeds, volume.shape, name="seed label map").astype(np.uint8)
    sources = np.flatnonzero(seeds)
    labels = np.zeros(volume.size, np.uint8)
    if not sources.size:
        return labels.reshape(volume.shape)
    index = np.arange(volume.size).reshape(volume.shape)
    steps = [np.abs(np.diff(volume, axis=axis)) for axis in range(3)]
    scale = float(np.median(steps[2])) if steps[2].size else 0.0
    scale = scale if scale > 0 else float(np.mean([step.mean() for step in steps if step.size]) or 1.0)
    tails, heads, costs = [], [], []
    for axis, step in enumerate(steps):
        before = [slice(None)] * 3
        after = [slice(None)] * 3
        before[axis], after[axis] = slice(0, -1), slice(1, None)
        tails.append(index[tuple(before)].ravel())
        heads.append(index[tuple(after)].ravel())
        costs.append(step.ravel() / scale + STEP_COST)
    graph = scipy.sparse.csr_matrix((np.concatenate(costs), (np.concatenate(tails), np.concatenate(heads))),
                                    shape=(volume.size, volume.size))
    _, _, nearest = scipy.sparse.csgraph.dijkstra(graph, directed=False, indices=sources, min_only=True,
                                                   return_predecessors=True)
    reached = nearest >= 0
    labels[reached] = seeds.ravel()[nearest[reached]]
    return labels.reshape(volume.shape)


def competition_mask(image, points_kji):
    """Where the outline's lesion seeds win the competition against the background shell around it.

    Parameters
    ----------
    image : (K, J, I) array_like
        Scalar image (the region of interest).
    points_kji : (N, 3) array_like of float
        The outline points in ``image``'s voxel coordinates.

    Returns
    -------
    ndarray of bool, shape (K, J, I)
    """
    seeds = outline_seeds(points_kji, np.shape(image), faces=False, shell_px=SHELL_PX)
    return seeded_competition(image, seeds) == LESION_SEED
