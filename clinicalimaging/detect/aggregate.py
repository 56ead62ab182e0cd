"""From per-slice 2-D detections to one 3-D box per organ: per view, then fused over views.

The paper detects organs slice by slice (2-D boxes after NMS) and says nothing on 3-D. Our
choices: in one view, the slices where a class is found are grouped into runs with small gaps
allowed and the run with the largest summed score is kept (an isolated false positive on a
far slice does not stretch the box); inside the run, boxes whose centre is an outlier (median
absolute deviation) are rejected; the box is the union of the remaining boxes
(:func:`view_boxes_3d`). The three orthogonal views are then fused coordinate by coordinate,
after Humpire-Mamani et al. 2018 (organ localisation from three orthogonal views), with a
view's slice-axis extent weighted half as much as its in-plane edges (:func:`fuse_views`).

Grid axes follow the canonical detection grid (``slices.py``): axis 0 = i (Left), 1 = j
(Posterior), 2 = k (Superior). A 3-D grid box is a float array ``(i0, j0, k0, i1, j1, k1)`` of
voxel edges (voxel i covers [i, i + 1)). 2-D boxes are ``(x0, y0, x1, y1)`` in pixels of the
slice, x = column, y = row, edges.
"""

import numpy as np

from ..errors import InputError

#: View -> (slice axis, x axis, y axis) as grid-axis numbers (i = 0, j = 1, k = 2).
VIEW_AXES = {"axial": (2, 0, 1), "coronal": (1, 0, 2), "sagittal": (0, 1, 2)}

#: Scale of the median absolute deviation to a standard deviation for normal data.
_MAD_TO_SIGMA = 1.4826
#: Centres further than this many scaled MADs from the run's median centre are outliers.
_OUTLIER_MADS = 3.0
#: Smallest outlier distance, in pixels: centres within this of the median are always kept.
_OUTLIER_FLOOR_PX = 4.0
#: In-plane edges are these quantiles of the kept boxes' edges (low for x0/y0, 1 - it for x1/y1), not their
#: extremes: the union of noisy per-slice boxes grows with every slice, the quantiles do not.
_EDGE_QUANTILE = 0.1
#: Weight of a coordinate along a view's slice axis (a run's extent), relative to an in-plane edge.
_SLICE_AXIS_WEIGHT = 0.5


def view_boxes_3d(view, slice_index, class_index, scores, boxes, *, min_slices=2, max_gap=2):
    """One 3-D grid box per class from one view's per-slice detections.

    Per class: the best-scoring box of each slice; the slices grouped into runs, a run
    bridging at most ``max_gap`` slices without a detection; the run with the largest summed
    score; inside it, boxes whose centre lies further than 3 scaled MADs (at least 4 px) from
    the run's median centre, along x or y, are rejected. The box spans the slices of the kept
    boxes along the slice axis (first slice to last slice + 1) and their union in-plane; its
    score is the mean of their scores. Classes left with fewer than ``min_slices`` boxes are
    dropped.

    Parameters
    ----------
    view : {"axial", "coronal", "sagittal"}
    slice_index : (N,) array_like of int
        Slice of each detection, along the view's slice axis of the grid.
    class_index : (N,) array_like of int
    scores : (N,) array_like of float
    boxes : (N, 4) array_like
        ``(x0, y0, x1, y1)`` in pixels of the slice (after per-slice NMS).
    min_slices : int
        Fewest slices with a kept box for a class to be reported.
    max_gap : int
        Most consecutive slices without a detection inside one run.

    Returns
    -------
    found : dict int -> (box6 ndarray, float, int)
        Class -> (``(i0, j0, k0, i1, j1, k1)`` grid box, score, number of slices with a kept box).
    """
    if view not in VIEW_AXES:
        raise InputError(f"Unknown view {view!r}; use one of {', '.join(VIEW_AXES)}.")
    if min_slices < 1 or max_gap < 0:
        raise InputError(f"min_slices must be >= 1 and max_gap >= 0; got {min_slices} and {max_gap}.")
    slices = np.asarray(slice_index).reshape(-1)
    classes = np.asarray(class_index).reshape(-1)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4) if np.size(boxes) else np.zeros((0, 4))
    if not (len(slices) == len(classes) == len(scores) == len(boxes)):
        raise InputError(f"One slice, class, score and box per detection is needed; got {len(slices)}, "
                         f"{len(classes)}, {len(scores)} and {len(boxes)}.")
    if not (np.all(np.isfinite(boxes)) and np.all(np.isfinite(scores))):
        raise InputError("Detection boxes and scores must be finite numbers.")
    slice_axis, x_axis, y_axis = VIEW_AXES[view]
    found = {}
    for cls in np.unique(classes):
        picked = _best_per_slice(np.flatnonzero(classes == cls), slices, scores)
        run = _best_run(picked, slices, scores, max_gap)
        run = run[_inliers(boxes[run])]
        if len(run) < min_slices:
            continue
        box6 = np.empty(6)
        box6[[slice_axis, slice_axis + 3]] = slices[run].min(), slices[run].max() + 1
        low, high = _EDGE_QUANTILE, 1 - _EDGE_QUANTILE
        box6[[x_axis, x_axis + 3]] = np.quantile(boxes[run, 0], low), np.quantile(boxes[run, 2], high)
        box6[[y_axis, y_axis + 3]] = np.quantile(boxes[run, 1], low), np.quantile(boxes[run, 3], high)
        found[int(cls)] = (box6, float(scores[run].mean()), int(len(run)))
    return found


def fuse_views(per_view, *, views_expected):
    """Fuse the 3-D boxes of several views into one box per class.

    Each of the six coordinates is the mean over the views that found the class, weighted by
    the view's score times 1 for a coordinate in the view's slice plane and 0.5 for one along
    its slice axis (a run's extent depends on where the detector gives up on small end
    sections, so it is less precise than an in-plane edge). The fused score is the sum of the
    views' scores divided by ``len(views_expected)``: an organ seen by one of three views
    scores a third of what three agreeing views give.

    Parameters
    ----------
    per_view : dict str -> dict int -> (box6, score, ...)
        View name -> the result of :func:`view_boxes_3d` for that view.
    views_expected : sequence of str
        The views that were run, found something or not.

    Returns
    -------
    fused : dict int -> (box6 ndarray, float, tuple of str)
        Class -> (grid box, score, the views that found it, in the order of ``views_expected``).
    """
    views_expected = tuple(views_expected)
    if not views_expected or len(set(views_expected)) != len(views_expected):
        raise InputError(f"views_expected must name each view that was run once; got {views_expected}.")
    for view in set(views_expected) | set(per_view):
        if view not in VIEW_AXES:
            raise InputError(f"Unknown view {view!r}; use one of {', '.join(VIEW_AXES)}.")
        if view not in views_expected:
            raise InputError(f"Boxes for view {view!r}, which is not among the views run {views_expected}.")
    classes = sorted({int(cls) for found in per_view.values() for cls in found})
    fused = {}
    for cls in classes:
        views = tuple(view for view in views_expected if cls in per_view.get(view, {}))
        boxes = np.array([np.asarray(per_view[view][cls][0], dtype=np.float64).reshape(6) for view in views])
        view_scores = np.array([float(per_view[view][cls][1]) for view in views])
        weights = np.ones((len(views), 6))
        for row, view in enumerate(views):
            slice_axis = VIEW_AXES[view][0]
            weights[row, [slice_axis, slice_axis + 3]] = _SLICE_AXIS_WEIGHT
        weights *= view_scores[:, None]
        if np.any(weights.sum(axis=0) <= 0):  # every view scored 0: plain mean
            weights = np.ones_like(weights)
        box6 = (weights * boxes).sum(axis=0) / weights.sum(axis=0)
        fused[cls] = (box6, float(view_scores.sum() / len(views_expected)), views)
    return fused


def _best_per_slice(members, slices, scores):
    """Indices of the best-scoring detection of each slice among ``members``, by slice."""
    order = members[np.lexsort((-scores[members], slices[members]))]
    _, first = np.unique(slices[order], return_index=True)
    return order[first]


def _best_run(picked, slices, scores, max_gap):
    """The run (gaps of at most ``max_gap`` missing slices) of ``picked`` with the largest summed score."""
    breaks = np.flatnonzero(np.diff(slices[picked]) > max_gap + 1) + 1
    runs = np.split(picked, breaks)
    return runs[int(np.argmax([scores[run].sum() for run in runs]))]


def _inliers(boxes):
    """Boolean mask of the boxes whose centre is within 3 scaled MADs (at least 4 px) of the median centre."""
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    deviation = np.abs(centres - np.median(centres, axis=0))
    limit = np.maximum(_OUTLIER_MADS * _MAD_TO_SIGMA * np.median(deviation, axis=0), _OUTLIER_FLOOR_PX)
    return np.all(deviation <= limit, axis=1)
