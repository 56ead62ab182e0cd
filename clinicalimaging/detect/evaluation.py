"""Detected organ boxes against the boxes of a reference label map: 3-D IoU, wall and centroid distance.

A reference box is the smallest RAS-aligned box that holds every voxel of the organ
as a cube, whatever the label map's orientation (:func:`reference_boxes`). Boxes are
compared with :func:`clinicalimaging.metrics.box_iou_3d`,
:func:`~clinicalimaging.metrics.wall_distance` and
:func:`~clinicalimaging.metrics.centroid_distance` (mm).
:func:`labelled_volumes_summary` measures a detector on labelled volumes in memory,
such as its training volumes.
"""

import math

import numpy as np

from .. import mrml
from ..metrics import box_iou_3d, centroid_distance, wall_distance
from ..progress import subrange
from ..text_tables import format_rows
from .inference import detect_organs_in_array
from .organs import DEFAULT_ORGANS
from .parameters import VIEWS, DetectParameters
from .reference import reference_boxes_in_array

#: Columns of :func:`format_evaluation`: row key, header, width, number format.
_COLUMNS = (
    ("found", "found", 7, ""),
    ("score", "score", 8, ".3f"),
    ("iou", "IoU", 8, ".3f"),
    ("wall_mm", "wall (mm)", 11, ".1f"),
    ("centroid_mm", "centroid (mm)", 15, ".1f"),
)
_IOU_GOOD = 0.5


def reference_boxes(label_node, label_names, *, organs=None):
    """The RAS-aligned bounding box of each organ of a label map.

    Exact for any orientation: the box spans the RAS coordinates of the organ's voxel
    centres plus, on each axis, the smallest and largest RAS offset of the 8 corners
    of a voxel from its centre (the same for every voxel). The label map's parent
    transform, if any, is not applied (harden it first).

    Parameters
    ----------
    label_node : vtkMRMLLabelMapVolumeNode or vtkMRMLScalarVolumeNode
        Integer label values; never modified.
    label_names : dict of int to str
        Label value -> organ name (e.g. :func:`~.organs.read_label_names`).
    organs : None, str or sequence of str
        The organs to measure (see :func:`~.organs.select_organs`); default all of
        ``label_names``.

    Returns
    -------
    dict of str to (ndarray, ndarray)
        Organ -> ``(ras_min, ras_max)``, each shape (3,) in mm (R, A, S). Organs
        without a voxel are left out.

    Raises
    ------
    InputError
        An organ not in ``label_names``, or a label map with non-integer values.
    """
    return reference_boxes_in_array(mrml.array_from_volume(label_node), mrml.ijk_to_ras(label_node), label_names,
                                    organs=organs, name=label_node.GetName())


def labelled_volumes_summary(detector, volumes, *, progress=None):
    """How well a detector finds the organs of labelled volumes (e.g. its training volumes).

    Each volume is searched for the detector's organs that its labels name, with the
    default detection parameters (axial slices only for a detector trained on axial
    slices only) but without the out-of-scope check (``min_context`` 0: the volumes are
    known to show the organs), and compared with the organs' reference boxes.

    Parameters
    ----------
    detector : Detector
    volumes : sequence of LabelledVolume
    progress : callable, optional

    Returns
    -------
    dict
        :func:`summary` of the rows of every volume together.
    """
    views = "auto" if len(detector.metadata.get("views", VIEWS)) == len(VIEWS) else "axial"
    parameters = DetectParameters(views=views, min_context=0.0)
    rows = []
    for number, volume in enumerate(volumes):
        named = set(volume.label_names.values())
        organs = [organ for organ in detector.class_names if organ in named]
        if not organs:
            continue
        reference = reference_boxes_in_array(volume.labels, volume.ijk_to_ras, volume.label_names, organs=organs,
                                             name=volume.name)
        boxes = detect_organs_in_array(volume.image, volume.ijk_to_ras, detector, organs=organs,
                                       parameters=parameters,
                                       progress=subrange(progress, number / len(volumes), (number + 1) / len(volumes)))
        rows += evaluation_rows(boxes, reference)
    return summary(rows)


def _organ_order(organs):
    """``organs`` in :data:`~.organs.DEFAULT_ORGANS` order, then the others alphabetically."""
    rank = {organ: index for index, organ in enumerate(DEFAULT_ORGANS)}
    return sorted(organs, key=lambda organ: (rank.get(organ, len(rank)), organ))


def evaluation_rows(detected, reference):
    """One row per organ comparing its detected box with its reference box.

    Parameters
    ----------
    detected : sequence of OrganBox
        The detections; of several boxes for one organ, the highest score counts.
    reference : dict of str to (array_like, array_like)
        Organ -> ``(ras_min, ras_max)`` in mm (:func:`reference_boxes`).

    Returns
    -------
    list of dict
        First the reference organs (:data:`~.organs.DEFAULT_ORGANS` order, then the
        others alphabetically), then the detected organs without a reference box
        (false positives), in the same order. Keys: ``organ``; ``found`` (``"yes"``
        or ``"no"``: whether the organ was detected); ``score`` (None when not
        detected); ``iou`` (0 when not detected or not in the reference); ``wall_mm``
        and ``centroid_mm`` (None unless both boxes exist); ``in_reference``
        (``"yes"`` or ``"no"``).
    """
    best = {}
    for box in detected:
        if box.organ not in best or box.score > best[box.organ].score:
            best[box.organ] = box
    rows = []
    for organ in _organ_order(reference) + _organ_order(set(best) - set(reference)):
        box = best.get(organ)
        row = {"organ": organ, "found": "yes" if box else "no", "score": None if box is None else float(box.score),
               "iou": 0.0, "wall_mm": None, "centroid_mm": None, "in_reference": "yes" if organ in reference else "no"}
        if box is not None and organ in reference:
            detected_box, reference_box = (box.ras_min, box.ras_max), reference[organ]
            row.update(iou=box_iou_3d(detected_box, reference_box),
                       wall_mm=wall_distance(detected_box, reference_box),
                       centroid_mm=centroid_distance(detected_box, reference_box))
        rows.append(row)
    return rows


def summary(rows):
    """Summary of :func:`evaluation_rows` over the reference organs.

    Returns
    -------
    dict
        ``organs`` (reference organs), ``found`` (of them, detected),
        ``false_positives`` (detected organs without a reference box), ``mean_iou``
        (missed organs count as 0), ``fraction_iou_0_5`` (fraction with IoU >= 0.5),
        ``median_wall_mm`` and ``median_centroid_mm`` (over the detected reference
        organs); NaN where there is nothing to average.
    """
    reference = [row for row in rows if row["in_reference"] == "yes"]
    measured = [row for row in reference if row["wall_mm"] is not None]
    ious = [row["iou"] for row in reference]
    return {
        "organs": len(reference),
        "found": sum(row["found"] == "yes" for row in reference),
        "false_positives": sum(row["in_reference"] == "no" for row in rows),
        "mean_iou": float(np.mean(ious)) if ious else math.nan,
        "fraction_iou_0_5": float(np.mean([iou >= _IOU_GOOD for iou in ious])) if ious else math.nan,
        "median_wall_mm": float(np.median([row["wall_mm"] for row in measured])) if measured else math.nan,
        "median_centroid_mm": float(np.median([row["centroid_mm"] for row in measured])) if measured else math.nan,
    }


def format_evaluation(rows, *, with_summary=True):
    """:func:`evaluation_rows` as a fixed-width text table, for the command line.

    Parameters
    ----------
    rows : list of dict
    with_summary : bool
        Add the lines of :func:`summary` under the table.

    Returns
    -------
    str
        One line per organ (``-`` for a missing value; false positives marked
        ``(not in reference)``), without a trailing newline.
    """
    shown = []
    for row in rows:
        cells = {"method": row["organ"] + ("" if row["in_reference"] == "yes" else " (not in reference)")}
        for key, _, _, number in _COLUMNS:
            value = row[key]
            cells[key] = "-" if value is None else format(value, number)
        shown.append(cells)
    plain = [(key, header, width, "") for key, header, width, _ in _COLUMNS]
    if not shown:
        table = "no organ in the reference and none detected"
    else:
        table = format_rows(shown, plain)
        width = max(len("method"), *(len(cells["method"]) for cells in shown))
        table = f"{'organ':<{width}}" + table[width:]  # the first column holds organs, not methods
    if not with_summary:
        return table
    totals = summary(rows)
    return table + (f"\n{totals['found']} of {totals['organs']} organs found, {totals['false_positives']} not in "
                    f"the reference; mean IoU {totals['mean_iou']:.3f}, IoU >= 0.5 for "
                    f"{100 * totals['fraction_iou_0_5']:.0f} %; median wall distance {totals['median_wall_mm']:.1f} "
                    f"mm, median centroid distance {totals['median_centroid_mm']:.1f} mm")
