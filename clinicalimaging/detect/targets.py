"""Training targets: ground-truth boxes matched to default boxes (numpy only).

Matching follows SSD (Liu et al. 2016): each ground-truth box takes its best default
box, then every default box whose IoU with a ground-truth box is at least the
threshold takes the one it overlaps most. Matched boxes get the box offsets
(:func:`clinicalimaging.detect.boxes.encode`), the organ's class and its grade; the
others are background, except those lying mostly inside a region of unknown class
(a label that covers several organs), which count as neither. Each box's target
also carries which classes its slice's case labels (:attr:`.cases.GridCase.labelled`):
a background box of a partially labelled case may hold an unlabelled organ
(:mod:`.losses`).
"""

import numpy as np

from .boxes import box_iou, cxcywh_to_xyxy, encode

#: Grade target of a box whose grade is not known (no grade loss).
UNKNOWN_GRADE = -1.0
#: Class target of a default box that is neither an organ nor background (no class loss).
IGNORED_CLASS = -1.0
#: A default box with at least this fraction of its area in an unknown-class region is ignored.
UNKNOWN_COVER = 0.5


def match_targets(anchors, gt_boxes, gt_classes, gt_grades=None, *, iou_threshold=0.5, unknown_boxes=None,
                  labelled=None):
    """The target of every default box for one slice.

    Parameters
    ----------
    anchors : ndarray, shape (N, 4)
        Default boxes ``(cx, cy, w, h)`` in pixels.
    gt_boxes : ndarray, shape (M, 4)
        Ground truth ``(x0, y0, x1, y1)`` in pixels; M may be 0.
    gt_classes : ndarray of int, shape (M,)
        Class index (0-based, without the background).
    gt_grades : ndarray, shape (M,), optional
        1 lesion present, 0 absent, :data:`UNKNOWN_GRADE` unknown; default unknown.
    iou_threshold : float
    unknown_boxes : ndarray, shape (U, 4), optional
        ``(x0, y0, x1, y1)`` of regions whose organ class is unknown.
    labelled : ndarray of bool, shape (C,), optional
        The classes the slice's label map can show (C: the number of classes).

    Returns
    -------
    ndarray of float32, shape (N, 6) or, with ``labelled``, (N, 6 + C)
        Offsets (4), class (0 background, ``c + 1`` for class c, :data:`IGNORED_CLASS`
        for an unmatched box mostly inside an unknown region), grade, then
        ``labelled`` as 1 / 0 on every row; without these columns every class counts
        as labelled.
    """
    extra = 0 if labelled is None else len(labelled)
    targets = np.zeros((len(anchors), 6 + extra), np.float32)
    targets[:, 5] = UNKNOWN_GRADE
    if extra:
        targets[:, 6:] = np.asarray(labelled, bool)
    if unknown_boxes is not None and len(unknown_boxes):
        targets[_area_inside(cxcywh_to_xyxy(anchors), np.asarray(unknown_boxes, float)) >= UNKNOWN_COVER, 4] = \
            IGNORED_CLASS
    if len(gt_boxes) == 0:
        return targets
    gt_boxes = np.asarray(gt_boxes, np.float64)
    grades = np.full(len(gt_boxes), UNKNOWN_GRADE) if gt_grades is None else np.asarray(gt_grades, float)
    overlap = box_iou(cxcywh_to_xyxy(anchors), gt_boxes)  # (N, M)
    best_gt = overlap.argmax(axis=1)
    matched = overlap[np.arange(len(anchors)), best_gt] >= iou_threshold
    best_anchor = overlap.argmax(axis=0)
    best_gt[best_anchor] = np.arange(len(gt_boxes))  # every ground truth keeps its best default box
    matched[best_anchor] = True
    index = np.flatnonzero(matched)
    targets[index, :4] = encode(gt_boxes[best_gt[index]], anchors[index])
    targets[index, 4] = np.asarray(gt_classes)[best_gt[index]] + 1
    targets[index, 5] = grades[best_gt[index]]
    return targets


def _area_inside(boxes, regions):
    """Largest fraction of each box's area inside one of the regions, both ``(x0, y0, x1, y1)``; shape (N,)."""
    low = np.maximum(boxes[:, None, :2], regions[None, :, :2])
    high = np.minimum(boxes[:, None, 2:], regions[None, :, 2:])
    inside = np.clip(high - low, 0, None).prod(axis=-1)
    area = np.maximum((boxes[:, 2:] - boxes[:, :2]).prod(axis=-1), 1e-9)
    return (inside / area[:, None]).max(axis=1)
