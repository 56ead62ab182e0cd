"""2-D boxes of the detector: IoU, default-box sizes from k-means, output layers, SSD coding and NMS.

A box is a float array ``(x0, y0, x1, y1)`` in pixels of a slice at the network input, x =
column, y = row, edges: a region covering columns 3..5 has ``x0 = 3, x1 = 6``. A default box
(anchor) is ``(cx, cy, w, h)`` in the same pixels. Sizes ``(w, h)`` come in (N, 2) arrays.

The paper sets its default boxes from k-means on the training boxes' sizes with the distance
1 - IoU (YOLOv2) and places them on VGG16 output layers chosen by receptive field
(:func:`kmeans_sizes`, :func:`choose_output_layers`, :func:`layer_box_sizes`). Offsets use
SSD's coding with variances (0.1, 0.2) (:func:`encode`, :func:`decode`).
"""

import math
from typing import NamedTuple

import numpy as np

from ..errors import InputError

#: Largest log-size offset (after the variance) :func:`decode` exponentiates: 1000/16 times an anchor.
_MAX_LOG_SCALE = math.log(1000.0 / 16.0)
#: Largest centre shift :func:`decode` applies, in anchor widths/heights.
_MAX_CENTRE_SHIFT = 1000.0


class LayerCandidate(NamedTuple):
    """A network layer that can carry default boxes.

    Attributes
    ----------
    name : str
    stride : int
        Pixels at the network input between neighbouring feature-map cells.
    receptive_field : int
        Theoretical receptive field of one cell, in pixels at the network input.
    """

    name: str
    stride: int
    receptive_field: int


#: VGG16 layers in depth order; fc7 is SSD's: fc6 a 3x3 conv after pool5 (212 + 2*32 px), fc7 a 1x1 conv.
OUTPUT_LAYER_CANDIDATES = (LayerCandidate("conv3_3", 4, 40), LayerCandidate("conv4_3", 8, 92),
                           LayerCandidate("conv5_3", 16, 196), LayerCandidate("fc7", 32, 276))


def xyxy_to_cxcywh(boxes):
    """(N, 4) boxes ``(x0, y0, x1, y1)`` as ``(cx, cy, w, h)``."""
    boxes = _as_boxes(boxes, "boxes")
    return np.concatenate([(boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]], axis=1)


def cxcywh_to_xyxy(boxes):
    """(N, 4) boxes ``(cx, cy, w, h)`` as ``(x0, y0, x1, y1)``."""
    boxes = _as_boxes(boxes, "boxes")
    return np.concatenate([boxes[:, :2] - boxes[:, 2:] / 2, boxes[:, :2] + boxes[:, 2:] / 2], axis=1)


def box_iou(a, b):
    """Intersection over union of every box of ``a`` with every box of ``b``.

    Parameters
    ----------
    a : (N, 4) array_like, b : (M, 4) array_like
        Boxes ``(x0, y0, x1, y1)``.

    Returns
    -------
    iou : (N, M) ndarray of float64
        0 where both boxes are empty.
    """
    a, b = _as_boxes(a, "a"), _as_boxes(b, "b")
    low = np.maximum(a[:, None, :2], b[None, :, :2])
    high = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(high - low, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    return _ratio(inter, area_a[:, None] + area_b[None, :] - inter)


def size_iou(wh, centroids):
    """IoU of sizes aligned at a common centre: (N, 2) x (K, 2) ``(w, h)`` -> (N, K)."""
    wh, centroids = _as_sizes(wh, "wh"), _as_sizes(centroids, "centroids")
    inter = np.minimum(wh[:, None, 0], centroids[None, :, 0]) * np.minimum(wh[:, None, 1], centroids[None, :, 1])
    union = np.prod(wh, axis=1)[:, None] + np.prod(centroids, axis=1)[None, :] - inter
    return _ratio(inter, union)


def kmeans_sizes(wh, k, *, distance="iou", seed=0, restarts=5, iterations=100):
    """Cluster box sizes into ``k`` default-box sizes (the paper's k-means, YOLOv2's distance).

    Each restart starts from k-means++ seeds drawn with the chosen distance and alternates
    assignment and update until the assignment stops changing (at most ``iterations`` times);
    the restart with the lowest total distance of the boxes to their centroids is kept. The
    update is the mean (w, h) of a cluster, with either distance: it is YOLOv2's update, and
    keeping it fixed makes the two distances differ in the assignment only. (The median,
    k-medians, resists outliers better but is no more the exact minimiser of 1 - IoU than the
    mean is.) A cluster that empties is re-seeded with the box farthest from its centroid.

    Parameters
    ----------
    wh : (N, 2) array_like
        Box sizes ``(w, h)`` in pixels, all > 0.
    k : int
        Number of clusters, 1 <= k <= number of distinct sizes.
    distance : {"iou", "euclidean"}
        ``1 - size_iou`` (YOLOv2: large boxes do not dominate) or the plain distance in pixels.
    seed : int
    restarts, iterations : int

    Returns
    -------
    centroids : (k, 2) ndarray of float64
        ``(w, h)`` sorted by area, smallest first.
    """
    wh = _as_sizes(wh, "wh")
    if distance not in ("iou", "euclidean"):
        raise InputError(f"The k-means distance must be 'iou' or 'euclidean'; got {distance!r}.")
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"The number of default-box sizes k must be a whole number >= 1; got {k!r}.")
    distinct = len(np.unique(wh, axis=0))
    if distinct < k:
        raise InputError(f"k-means needs at least k = {k} distinct box sizes; the training labels give {len(wh)} "
                         f"box(es) with {distinct} distinct size(s). Use a smaller k or more training cases.")
    if restarts < 1 or iterations < 1:
        raise InputError(f"k-means needs restarts >= 1 and iterations >= 1; got {restarts} and {iterations}.")

    def cost(points, centres):
        if distance == "iou":
            return 1.0 - size_iou(points, centres)
        return np.linalg.norm(points[:, None, :] - centres[None, :, :], axis=2)

    rng = np.random.default_rng(seed)
    best, best_total = None, np.inf
    for _ in range(restarts):
        centres = wh[[rng.integers(len(wh))]]
        while len(centres) < k:  # k-means++ seeding, with probability proportional to distance squared
            weight = cost(wh, centres).min(axis=1) ** 2
            centres = np.vstack([centres, wh[rng.choice(len(wh), p=weight / weight.sum())]])
        labels = None
        for _ in range(iterations):
            dist = cost(wh, centres)
            new_labels = dist.argmin(axis=1)
            if labels is not None and np.array_equal(new_labels, labels):
                break
            labels = new_labels
            for cluster in range(k):
                members = labels == cluster
                if members.any():
                    centres[cluster] = wh[members].mean(axis=0)
                else:
                    centres[cluster] = wh[dist[np.arange(len(wh)), labels].argmax()]
        total = cost(wh, centres).min(axis=1).sum()
        if total < best_total:
            best, best_total = centres.copy(), total
    return best[np.argsort(np.prod(best, axis=1), kind="stable")]


def mean_best_iou(wh, centroids):
    """Mean over the boxes of the IoU with their best centroid (YOLOv2's "Avg IOU"), in [0, 1]."""
    return float(size_iou(wh, centroids).max(axis=1).mean())


def choose_output_layers(centroid_wh, candidates=OUTPUT_LAYER_CANDIDATES, *, anchors_across=4, field_factor=1.5):
    """Assign each default-box cluster to the output layer that carries it.

    THE RULE. For each cluster of scale ``s = sqrt(w * h)`` (pixels at the network input)
    choose the shallowest layer whose stride <= ``s / anchors_across`` (the box spans that many
    cells, so neighbouring anchors overlap enough to match it) and whose theoretical receptive
    field >= ``field_factor * s`` (a cell sees the whole box and some context); if no layer
    meets both, the deepest layer with stride <= ``s / anchors_across``; if no layer has a small
    enough stride, the shallowest layer. With the VGG16 candidates and the defaults: 20 px ->
    conv3_3, 40 px -> conv4_3, 100 px -> conv5_3, 300 px -> fc7, 8 px -> conv3_3.

    Parameters
    ----------
    centroid_wh : (K, 2) array_like of ``(w, h)``, or (K,) array_like of scales ``s``
        Pixels at the network input.
    candidates : sequence of LayerCandidate
        In depth order (shallowest first).
    anchors_across, field_factor : float

    Returns
    -------
    assignment : dict str -> list of int
        Layer name -> indices of its clusters; only layers that got a cluster, in depth order.
    """
    scales = np.asarray(centroid_wh, dtype=np.float64)
    scales = np.sqrt(np.prod(_as_sizes(scales, "centroid_wh"), axis=1)) if scales.ndim == 2 else scales
    if scales.ndim != 1 or not np.all(np.isfinite(scales) & (scales > 0)):
        raise InputError("Cluster scales must be positive finite numbers of pixels.")
    if not candidates:
        raise InputError("At least one candidate output layer is needed.")
    if not (anchors_across > 0 and field_factor > 0):
        raise InputError(f"anchors_across and field_factor must be > 0; got {anchors_across} and {field_factor}.")
    chosen = {}
    for index, scale in enumerate(scales):
        fine = [n for n, layer in enumerate(candidates) if layer.stride <= scale / anchors_across]
        seeing = [n for n in fine if candidates[n].receptive_field >= field_factor * scale]
        layer = seeing[0] if seeing else (fine[-1] if fine else 0)
        chosen.setdefault(layer, []).append(index)
    return {candidates[n].name: chosen[n] for n in sorted(chosen)}


def layer_box_sizes(centroid_wh, assignment):
    """Default box sizes ``(w, h)`` of each chosen layer.

    Every layer gets all the clusters' aspect ratios ``a = w / h`` (the paper: "the default
    boxes for different output layers have the same aspect ratio but different widths") at
    the layer's scale ``s_l``, the geometric mean of the scales of its clusters:
    ``w = s_l * sqrt(a)``, ``h = s_l / sqrt(a)``. Deeper layers, with larger receptive fields,
    thus carry larger boxes ("width set from large to small according to the receptive field").
    The layer's own clusters follow at their exact k-means sizes, so a layer that hosts
    clusters of different scales covers each of them (with one output layer, the shared
    scale alone would reduce every box to one size).

    Parameters
    ----------
    centroid_wh : (K, 2) array_like
        Cluster sizes from :func:`kmeans_sizes`, pixels.
    assignment : dict str -> list of int
        From :func:`choose_output_layers`.

    Returns
    -------
    sizes : dict str -> (K + n_l, 2) ndarray
        Same keys and order as ``assignment``; the K shared aspect ratios in the order of
        the clusters, then the layer's own ``n_l`` clusters.
    """
    wh = _as_sizes(centroid_wh, "centroid_wh")
    root_ratio = np.sqrt(wh[:, 0] / wh[:, 1])
    log_scales = 0.5 * np.log(np.prod(wh, axis=1))
    sizes = {}
    for name, members in assignment.items():
        members = np.asarray(members, dtype=int)
        if members.size == 0 or members.min() < 0 or members.max() >= len(wh):
            raise InputError(f"Layer {name!r} is assigned clusters {members.tolist()}; there are {len(wh)}.")
        scale = math.exp(log_scales[members].mean())
        sizes[name] = np.concatenate([np.stack([scale * root_ratio, scale / root_ratio], axis=1), wh[members]])
    return sizes


def default_boxes(feature_shapes, strides, sizes_per_layer):
    """All default boxes ``(cx, cy, w, h)`` of a network, in pixels at the input.

    Parameters
    ----------
    feature_shapes : sequence of (h, w)
        Feature-map rows and columns of each output layer.
    strides : sequence of float
        Input pixels per feature-map cell of each layer; cell (y, x) is centred at
        ``((x + 0.5) * stride, (y + 0.5) * stride)``.
    sizes_per_layer : sequence of (A, 2) array_like
        Box sizes ``(w, h)`` of each layer (the values of :func:`layer_box_sizes`).

    Returns
    -------
    anchors : (sum(h * w * A), 4) ndarray
        Layer by layer, then row y, column x, size: the order of a head output
        (B, h, w, A * 4) reshaped to (B, h * w * A, 4).
    """
    if not (len(feature_shapes) == len(strides) == len(sizes_per_layer)):
        raise InputError(f"One feature shape, stride and size list per layer is needed; got {len(feature_shapes)}, "
                         f"{len(strides)} and {len(sizes_per_layer)}.")
    layers = []
    for (rows, cols), stride, sizes in zip(feature_shapes, strides, sizes_per_layer):
        sizes = _as_sizes(sizes, "sizes_per_layer")
        cy, cx = np.meshgrid((np.arange(rows) + 0.5) * stride, (np.arange(cols) + 0.5) * stride, indexing="ij")
        grid = np.empty((rows, cols, len(sizes), 4))
        grid[..., 0], grid[..., 1] = cx[..., None], cy[..., None]
        grid[..., 2:] = sizes
        layers.append(grid.reshape(-1, 4))
    return np.concatenate(layers, axis=0) if layers else np.zeros((0, 4))


def encode(boxes_xyxy, anchors_cxcywh, variances=(0.1, 0.2)):
    """SSD offsets of matched boxes from their anchors (row n of each), (N, 4) -> (N, 4).

    ``dx = (cx - acx) / (aw * v0)``, ``dy = (cy - acy) / (ah * v0)``, ``dw = log(w / aw) / v1``,
    ``dh = log(h / ah) / v1``; boxes and anchors need positive widths and heights.
    """
    boxes = xyxy_to_cxcywh(boxes_xyxy)
    anchors = _as_boxes(anchors_cxcywh, "anchors")
    if boxes.shape != anchors.shape:
        raise InputError(f"encode needs one anchor per box; got {len(boxes)} boxes and {len(anchors)} anchors.")
    if np.any(boxes[:, 2:] <= 0) or np.any(anchors[:, 2:] <= 0):
        raise InputError("Boxes and anchors must have positive widths and heights to be encoded.")
    centre = (boxes[:, :2] - anchors[:, :2]) / (anchors[:, 2:] * variances[0])
    return np.concatenate([centre, np.log(boxes[:, 2:] / anchors[:, 2:]) / variances[1]], axis=1)


def decode(offsets, anchors_cxcywh, variances=(0.1, 0.2)):
    """Boxes ``(x0, y0, x1, y1)`` from SSD offsets (the inverse of :func:`encode`), (N, 4) -> (N, 4).

    Log-size offsets are clipped to log(1000/16) and centre shifts to 1000 anchor sizes
    before use, so any finite offsets give finite boxes.
    """
    offsets, anchors = _as_boxes(offsets, "offsets"), _as_boxes(anchors_cxcywh, "anchors")
    if offsets.shape != anchors.shape:
        raise InputError(f"decode needs one anchor per offset; got {len(offsets)} and {len(anchors)}.")
    shift = np.clip(offsets[:, :2] * variances[0], -_MAX_CENTRE_SHIFT, _MAX_CENTRE_SHIFT)
    size = anchors[:, 2:] * np.exp(np.clip(offsets[:, 2:] * variances[1], -_MAX_LOG_SCALE, _MAX_LOG_SCALE))
    return cxcywh_to_xyxy(np.concatenate([anchors[:, :2] + shift * anchors[:, 2:], size], axis=1))


def nms(boxes, scores, iou_threshold=0.45, max_output=None):
    """Greedy non-maximum suppression.

    Parameters
    ----------
    boxes : (N, 4) array_like
        ``(x0, y0, x1, y1)``.
    scores : (N,) array_like
    iou_threshold : float
        A box is suppressed by a kept, higher-scoring box when their IoU is > this.
    max_output : int or None
        Stop after this many kept boxes.

    Returns
    -------
    kept : (M,) ndarray of int
        Indices into ``boxes``, by decreasing score (ties: input order).
    """
    boxes = _as_boxes(boxes, "boxes")
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(scores) != len(boxes):
        raise InputError(f"nms needs one score per box; got {len(boxes)} boxes and {len(scores)} scores.")
    if not 0.0 <= iou_threshold <= 1.0:
        raise InputError(f"The NMS IoU threshold must lie in [0, 1]; got {iou_threshold}.")
    order = np.argsort(-scores, kind="stable")
    limit = len(order) if max_output is None else int(max_output)
    kept = []
    while order.size and len(kept) < limit:
        best, order = order[0], order[1:]
        kept.append(best)
        order = order[box_iou(boxes[[best]], boxes[order])[0] <= iou_threshold]
    return np.asarray(kept, dtype=int)


def anchor_recall(gt_wh_or_boxes, anchors, threshold=0.5):
    """Fraction of ground-truth boxes whose best anchor has IoU > ``threshold``.

    Parameters
    ----------
    gt_wh_or_boxes : (N, 2) or (N, 4) array_like
        Sizes ``(w, h)`` (compared at a common centre, :func:`size_iou`) or boxes
        ``(x0, y0, x1, y1)`` (compared in place, :func:`box_iou`, needs anchors with centres).
    anchors : (M, 4) ``(cx, cy, w, h)`` or (M, 2) ``(w, h)`` array_like
    threshold : float
    """
    gt, anchors = np.asarray(gt_wh_or_boxes, dtype=np.float64), np.asarray(anchors, dtype=np.float64)
    if len(gt) == 0:
        return float("nan")
    if gt.ndim == 2 and gt.shape[1] == 2:
        iou = size_iou(gt, anchors[:, 2:] if anchors.ndim == 2 and anchors.shape[1] == 4 else anchors)
    elif anchors.ndim == 2 and anchors.shape[1] == 4:
        iou = box_iou(gt, cxcywh_to_xyxy(anchors))
    else:
        raise InputError("Ground-truth boxes with positions need anchors (cx, cy, w, h).")
    return float(np.mean(iou.max(axis=1) > threshold))


def _as_boxes(boxes, name):
    array = np.asarray(boxes, dtype=np.float64)
    if array.ndim == 1 and array.size == 4:
        array = array[np.newaxis]
    if array.size == 0:
        return array.reshape(0, 4)
    if array.ndim != 2 or array.shape[1] != 4 or not np.all(np.isfinite(array)):
        raise InputError(f"{name} must be an (N, 4) array of finite numbers; got shape {array.shape}.")
    return array


def _as_sizes(wh, name):
    array = np.asarray(wh, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2 or len(array) == 0:
        raise InputError(f"{name} must be a non-empty (N, 2) array of box sizes (w, h); got shape {array.shape}.")
    if not np.all(np.isfinite(array) & (array > 0)):
        raise InputError(f"{name} holds {np.count_nonzero(~(array > 0))} non-positive or non-finite size(s); every "
                         "box needs a width and height > 0 px (drop empty labels before clustering).")
    return array


def _ratio(numerator, denominator):
    return np.divide(numerator, denominator, out=np.zeros_like(numerator, dtype=np.float64), where=denominator > 0)
