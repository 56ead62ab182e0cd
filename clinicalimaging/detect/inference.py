"""Finding the organs in a volume: slices of each view through the network, then 3-D boxes.

Per view (axial only, or axial, coronal and sagittal):

1. the view's slices of the canonical grid (:mod:`.slices`), every slice for the axial
   view and every :data:`OTHER_VIEW_STEP`-th for the others, padded to multiples of 32;
2. the network, in batches; box offsets decoded against the default boxes;
3. per slice and organ: the best-scoring box, merged with the boxes of that organ that
   overlap it by more than ``nms_iou`` (score-weighted mean: NMS that keeps the evidence
   of the suppressed boxes);
4. one 3-D box per organ from the run of slices where it is found
   (:func:`.aggregate.view_boxes_3d`).

The views' boxes are fused (:func:`.aggregate.fuse_views`), checked against anatomy
(:func:`.anatomy.plausible_boxes`, ``anatomy_rules``) and mapped to RAS.
"""

import numpy as np

from ..errors import InputError
from ..progress import report, subrange
from .aggregate import fuse_views, view_boxes_3d
from .anatomy import plausible_boxes
from .boxes import box_iou, decode
from .cases import grid_input
from .detections import OrganBox
from .model_scope import calibrated_score, grade_is_experimental, scan_in_scope
from .organs import select_organs
from .parameters import DetectParameters
from .sampling import PAD_INTENSITY
from .slices import body_midline_i, grid_box_to_ras, view_slices

#: Coronal and sagittal views use every second slice: they have many more slices than the axial view.
OTHER_VIEW_STEP = 2
#: Most candidate boxes per slice and organ considered for merging.
CANDIDATES_PER_CLASS = 32


def _padded(slices):
    """Slices ``(N, rows, columns, 2)`` padded at the bottom and right to multiples of 32."""
    rows, columns = slices.shape[1:3]
    pad = ((0, 0), (0, -rows % 32), (0, -columns % 32))
    intensity = np.pad(slices[..., 0], pad, constant_values=PAD_INTENSITY)
    lateral = np.pad(slices[..., 1], pad, mode="edge")
    return np.stack([intensity, lateral], axis=-1)


def _softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exponential = np.exp(shifted)
    return exponential / exponential.sum(axis=-1, keepdims=True)


def slice_detections(outputs, anchors, num_classes, *, score_threshold, merge_iou, limits):
    """The best box of each organ on each slice of a batch of network outputs.

    Parameters
    ----------
    outputs : ndarray, shape (N, boxes, 4 + num_classes + 2)
    anchors : ndarray, shape (boxes, 4)
    num_classes : int
    score_threshold : float
    merge_iou : float
    limits : tuple of 2 int
        ``(rows, columns)`` of the unpadded slice; boxes are clipped to it.

    Returns
    -------
    list of tuple (slice number in batch, class, score, box xyxy, grade probability)
    """
    found = []
    logits = outputs[..., 4:5 + num_classes]
    # A class probability reaches the threshold only where the class logit exceeds the background's by
    # log(threshold) (the softmax's denominator is at least exp(background logit)); most boxes fail this.
    possible = logits[..., 1:].max(axis=-1) - logits[..., 0] >= np.log(max(score_threshold, 1e-12))
    for number in range(len(outputs)):
        candidates = np.flatnonzero(possible[number])
        probabilities = _softmax(logits[number, candidates])[:, 1:]
        keep = probabilities.max(axis=1, initial=0.0) >= score_threshold
        candidates, probabilities = candidates[keep], probabilities[keep]
        if not len(candidates):
            continue
        grades = 1.0 / (1.0 + np.exp(-outputs[number, candidates, 5 + num_classes].astype(np.float64)))
        boxes = decode(outputs[number, candidates, :4], anchors[candidates])
        boxes = np.clip(boxes, 0, [limits[1], limits[0], limits[1], limits[0]])
        scores = probabilities * ((boxes[:, 2] - boxes[:, 0] >= 1) & (boxes[:, 3] - boxes[:, 1] >= 1))[:, None]
        for cls in np.unique(scores.argmax(axis=1)):
            column = scores[:, cls]
            order = np.argsort(-column)[:CANDIDATES_PER_CLASS]
            order = order[column[order] >= score_threshold]
            if not len(order):
                continue
            overlap = box_iou(boxes[order[:1]], boxes[order])[0]
            members = order[(overlap > merge_iou) | (np.arange(len(order)) == 0)]
            weights = column[members]
            box = (boxes[members] * weights[:, None]).sum(axis=0) / weights.sum()
            found.append((number, int(cls), float(column[order[0]]), box,
                          float(grades[members] @ weights / weights.sum())))
    return found


def _run_view(detector, inputs, view, parameters, progress):
    """Per-slice detections of one view: arrays of slice number, class, score, box, grade."""
    step = 1 if view == "axial" else OTHER_VIEW_STEP
    slices, _ = view_slices(inputs, view, step=step)
    limits = slices.shape[1:3]
    anchors = None
    rows = []
    for start in range(0, len(slices), parameters.batch_size):
        batch = _padded(slices[start:start + parameters.batch_size])
        if anchors is None:
            anchors = detector.anchors(*batch.shape[1:3])
        outputs = np.asarray(detector.model.predict_on_batch(batch), np.float32)
        rows.extend((start + number, *rest) for number, *rest in slice_detections(
            outputs, anchors, len(detector.class_names), score_threshold=parameters.slice_score_threshold,
            merge_iou=parameters.nms_iou, limits=limits))
        report(progress, min(start + parameters.batch_size, len(slices)) / len(slices),
               f"Detecting organs on {view} slices")
    return rows, step


#: How to pass the geometry of a SimpleITK image or a volume node: the end of each refusal of a matrix.
_FROM_SITK = ("From a SimpleITK image pass sitk.GetArrayFromImage(image) and "
              "ijk_to_ras=clinicalimaging.ijk_to_ras_from_sitk(image); from a volume node "
              "ijk_to_ras=clinicalimaging.ijk_to_ras(node).")


def _check_geometry(image, ijk_to_ras):
    """The IJK-to-RAS matrix as a float64 (4, 4) array, after refusing what is not one.

    A SimpleITK image (which ``np.asarray`` flattens silently) or a volume node in
    place of the array or the matrix, a 3x3 or 9-value direction matrix and a matrix
    that is not an invertible affine transform are refused. An LPS matrix cannot be
    told from a RAS one by its numbers: the argument's name, the docstring and
    :func:`clinicalimaging.ijk_to_ras_from_sitk` guard against that mix-up.
    """
    for name, value in (("image", image), ("ijk_to_ras", ijk_to_ras)):
        if hasattr(value, "GetDirection"):
            raise InputError(f"detect_organs_in_array got a SimpleITK image as {name}; it takes a (K, J, I) array "
                             f"and its 4x4 IJK-to-RAS matrix. {_FROM_SITK}")
    if hasattr(image, "GetImageData"):
        raise InputError("detect_organs_in_array got a volume node; pass the node to clinicalimaging.detect_organs, "
                         "or its array and ijk_to_ras=clinicalimaging.ijk_to_ras(node).")
    try:
        matrix = np.asarray(ijk_to_ras, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"ijk_to_ras must be a 4x4 IJK-to-RAS matrix (mm) as an array; got a "
                         f"{type(ijk_to_ras).__name__}. {_FROM_SITK}") from None
    if matrix.shape != (4, 4):
        kind = " (a direction matrix, not IJK-to-RAS)" if matrix.size == 9 else ""
        raise InputError(f"ijk_to_ras must be the 4x4 IJK-to-RAS matrix (mm) of the array; got shape "
                         f"{matrix.shape}{kind}. {_FROM_SITK}")
    if not np.isfinite(matrix).all() or not np.array_equal(matrix[3], [0.0, 0.0, 0.0, 1.0]):
        raise InputError(f"ijk_to_ras must be an affine 4x4 IJK-to-RAS matrix (mm): finite, last row (0, 0, 0, 1); "
                         f"got last row {matrix[3].tolist()}. {_FROM_SITK}")
    if abs(np.linalg.det(matrix[:3, :3])) < 1e-9:
        raise InputError(f"ijk_to_ras has a zero voxel size or parallel axes (its 3x3 part is singular): "
                         f"{matrix[:3, :3].tolist()}. {_FROM_SITK}")
    return matrix


def fused_grid_boxes(image, ijk_to_ras, detector, *, parameters=None, progress=None):
    """The fused 3-D grid box of each organ found, before the anatomical rules and the score threshold.

    Parameters
    ----------
    image, ijk_to_ras, detector, parameters, progress
        As in :func:`detect_organs_in_array`.

    Returns
    -------
    fused : dict int -> (ndarray, float, tuple of str)
        Class -> (``(i0, j0, k0, i1, j1, k1)`` grid box, score, views), as
        :func:`.aggregate.fuse_views` returns.
    grid : CanonicalGrid
        The grid of the boxes.
    midline_i : float
        The body's midline as a grid i index (:func:`.slices.body_midline_i`).
    grade_evidence : dict int -> list of (float, float)
        Class -> (score, grade probability) of its per-slice detections in every view.
    """
    matrix = _check_geometry(image, ijk_to_ras)
    parameters = parameters or DetectParameters()
    report(progress, 0.0, "Resampling the volume")
    inputs, grid, _ = grid_input(image, matrix, float(detector.metadata["pixel_mm"]),
                                 detector.metadata.get("modality", "auto"))
    views = parameters.view_names(extent_mm=inputs.shape[0] * float(detector.metadata["pixel_mm"]))
    per_view, grade_evidence = {}, {}
    for number, view in enumerate(views):
        rows, step = _run_view(detector, inputs, view, parameters,
                               subrange(progress, 0.1 + 0.85 * number / len(views),
                                        0.1 + 0.85 * (number + 1) / len(views)))
        if not rows:
            per_view[view] = {}
            continue
        slice_numbers, classes, scores, boxes, grades = (np.array(column) for column in zip(*rows))
        found = view_boxes_3d(view, slice_numbers, classes, scores, np.asarray(boxes).reshape(-1, 4),
                              min_slices=parameters.min_slices, max_gap=parameters.max_gap_slices)
        axis = {"axial": 2, "coronal": 1, "sagittal": 0}[view]
        for box6, *_ in found.values():
            box6[[axis, axis + 3]] *= step
        per_view[view] = found
        for cls, score, grade in zip(classes, scores, grades):
            grade_evidence.setdefault(int(cls), []).append((score, grade))
    report(progress, 0.95, "Fusing the views")
    return fuse_views(per_view, views_expected=views), grid, body_midline_i(inputs[..., 0]), grade_evidence


def detect_organs_in_array(image, ijk_to_ras, detector, *, organs=None, parameters=None, progress=None):
    """One box per organ found in a volume.

    Parameters
    ----------
    image : ndarray, shape (K, J, I)
        CT in HU or MR, any orientation, in MRML's and ``sitk.GetArrayFromImage``'s
        axis order: ``image[k, j, i]`` (a nibabel ``get_fdata()`` array is (I, J, K):
        transpose it).
    ijk_to_ras : array_like, shape (4, 4)
        Affine matrix from voxel indices (i, j, k, 1) to RAS coordinates in mm (x to
        the patient's Right, y Anterior, z Superior): a volume node's
        (:func:`clinicalimaging.ijk_to_ras`). SimpleITK's origin and direction are in
        LPS: a matrix built from them without negating the first two rows gives boxes
        in the wrong place and cannot be told from a RAS one, so convert with
        :func:`clinicalimaging.ijk_to_ras_from_sitk`. A SimpleITK image, a 3x3
        direction matrix, or a matrix whose last row is not (0, 0, 0, 1) is refused.
    detector : Detector
        From :func:`clinicalimaging.load_detector`.
    organs : str or sequence of str, optional
        Organs to report (names of the model's classes); default all.
    parameters : DetectParameters, optional
    progress : callable, optional

    Returns
    -------
    list of OrganBox
        Sorted by the model's class order; organs below ``score_threshold``, and boxes
        the anatomical rules reject (``parameters.anatomy_rules``), left out.
        Each box's corners are in RAS mm. A box's score is the calibrated probability
        that it is right when the model has a score calibration, else the fused score
        (:func:`.model_scope.calibrated_score`). Empty when the scan shows none of the
        anatomy the model knows (:func:`.model_scope.scan_in_scope`, ``min_context``).

    Raises
    ------
    InputError
        Not a 3-D array with a 4x4 IJK-to-RAS matrix (see ``ijk_to_ras``), unknown organs.
    """
    matrix = _check_geometry(image, ijk_to_ras)
    parameters = parameters or DetectParameters()
    wanted = select_organs(organs, detector.class_names)
    fused, grid, midline_i, grade_evidence = fused_grid_boxes(image, matrix, detector, parameters=parameters,
                                                              progress=progress)
    fused, _ = plausible_boxes(fused, detector.class_names, grid, midline_i,
                               organ_size_mm=detector.metadata.get("organ_size_mm"),
                               rules=parameters.anatomy_rule_names())
    # The anatomy check reads the raw scores of every organ found, whatever the threshold and the organs asked for.
    in_scope = scan_in_scope({detector.class_names[cls]: raw for cls, (_, raw, _) in fused.items()},
                             detector.metadata, parameters.min_context)
    experimental = grade_is_experimental(detector.metadata)
    result = []
    for cls in sorted(fused):
        box6, raw, found_in = fused[cls]
        organ = detector.class_names[cls]
        score = calibrated_score(raw, detector.metadata)
        if not in_scope or score < parameters.score_threshold or organ not in wanted:
            continue
        ras_min, ras_max = grid_box_to_ras(box6, grid)
        grade = None
        if detector.grade:
            weights, values = np.array(grade_evidence[cls]).T
            grade = float(values @ weights / weights.sum())
        result.append(OrganBox(organ, score, tuple(map(float, ras_min)), tuple(map(float, ras_max)),
                               grade, tuple(found_in), grade_experimental=experimental))
    report(progress, 1.0, f"Found {len(result)} organs")
    return result
