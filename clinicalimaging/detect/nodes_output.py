"""Detections as MRML outputs: one ROI box node per organ, and the detection table (and reading it back).

The table's columns (:data:`TABLE_COLUMNS`) are the contract of the ``--table`` file
of ``clinicalimaging detect``; :func:`boxes_from_table_file` reads such a file back
into :class:`~.detections.OrganBox` objects, e.g. after a run in another process.
"""

import csv
import math
from pathlib import Path

import numpy as np

from .. import mrml
from ..errors import InputError
from .detections import OrganBox
from .organs import organ_colour

#: Columns of the detection table, in order: RAS bounds, centre and size in mm, then the lesion grade, views and
#: whether the grade is experimental.
TABLE_COLUMNS = ("organ", "score", "r_min", "r_max", "a_min", "a_max", "s_min", "s_max", "center_r", "center_a",
                 "center_s", "size_r", "size_a", "size_s", "grade", "views", "grade_experimental")
#: What follows an experimental grade in a description (:attr:`.detections.OrganBox.grade_experimental`).
EXPERIMENTAL_GRADE_NOTE = "experimental: learnt from phantom lesions only"
#: Node attributes of each ROI node.
ORGAN_ATTRIBUTE = "ClinicalImaging.Organ"
SCORE_ATTRIBUTE = "ClinicalImaging.Score"
GRADE_ATTRIBUTE = "ClinicalImaging.Grade"
VIEWS_ATTRIBUTE = "ClinicalImaging.Views"
_MM_DIGITS = 2  # mm rounded to 0.01
_SCORE_DIGITS = 4  # score and grade rounded to 0.0001
_BOUND_COLUMNS = ("r_min", "r_max", "a_min", "a_max", "s_min", "s_max")


def _description(box):
    text = f"score {box.score:.2f}"
    if box.grade is None:
        return text
    note = f" ({EXPERIMENTAL_GRADE_NOTE})" if box.grade_experimental else ""
    return f"{text}, lesion probability {box.grade:.2f}{note}"


def _check_unique(boxes):
    organs = [box.organ for box in boxes]
    repeated = sorted({organ for organ in organs if organs.count(organ) > 1})
    if repeated:
        raise InputError(f"Several boxes for the organ(s) {', '.join(repeated)}; give one box per organ.")


def roi_nodes_from_boxes(boxes, *, scene=None, replace=None):
    """One ROI box node per detected organ, aligned with the RAS axes.

    Each node is named after its organ (made unique in the scene for a new node),
    has the box's centre and size (its RAS bounds are the box), the organ's colour
    (:func:`~.organs.organ_colour`, as colour and selected colour), the description
    ``"score 0.93"`` (with ``", lesion probability 0.12"`` when graded, followed by
    ``" (experimental: ...)"`` for an experimental grade) on its control
    point, which the markups file keeps, and on the node (where MRML clears it when a
    control point is added to any markups node of the scene) and the attributes
    :data:`ORGAN_ATTRIBUTE`, :data:`SCORE_ATTRIBUTE`, :data:`VIEWS_ATTRIBUTE` and,
    when graded, :data:`GRADE_ATTRIBUTE`.

    Parameters
    ----------
    boxes : sequence of OrganBox
        At most one per organ.
    scene : vtkMRMLScene, optional
        For new nodes; default :func:`clinicalimaging.mrml.get_scene`.
    replace : dict of str to vtkMRMLMarkupsROINode, optional
        Organ -> an existing ROI node to update in place instead of creating one (a
        panel re-running reuses its nodes). An updated node keeps its name, is taken
        out of any parent transform (the box is in world RAS) and loses its rotation.

    Returns
    -------
    list of vtkMRMLMarkupsROINode
        In the order of ``boxes``.

    Raises
    ------
    InputError
        Two boxes for one organ, or a ``replace`` node that is not an ROI node.
    """
    import slicer

    boxes = list(boxes)
    _check_unique(boxes)
    replace = dict(replace or {})
    for organ, node in replace.items():
        if node is not None and not node.IsA("vtkMRMLMarkupsROINode"):
            raise InputError(f"The node '{node.GetName()}' chosen for the organ '{organ}' is not an ROI (box) node; "
                             "choose an ROI node or let a new one be created.")
    scene = scene if scene is not None else mrml.get_scene()
    nodes = []
    for box in boxes:
        node = replace.get(box.organ)
        if node is None:
            node = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", scene.GenerateUniqueName(box.organ))
        with slicer.util.NodeModify(node):
            node.SetAndObserveTransformNodeID(None)
            node.SetROIType(slicer.vtkMRMLMarkupsROINode.ROITypeBox)
            node.SetAndObserveObjectToNodeMatrix(slicer.util.vtkMatrixFromArray(np.eye(4)))
            node.SetCenter(*box.center)
            node.SetSize(*box.size)
            node.SetAttribute(ORGAN_ATTRIBUTE, box.organ)
            node.SetAttribute(SCORE_ATTRIBUTE, repr(float(box.score)))
            node.SetAttribute(VIEWS_ATTRIBUTE, "+".join(box.views))
            if box.grade is None:
                node.RemoveAttribute(GRADE_ATTRIBUTE)
            else:
                node.SetAttribute(GRADE_ATTRIBUTE, repr(float(box.grade)))
        if node.GetNumberOfControlPoints() > 0:
            node.SetNthControlPointDescription(0, _description(box))
        if node.GetDisplayNode() is None:
            node.CreateDefaultDisplayNodes()
        display = node.GetDisplayNode()
        display.SetColor(*organ_colour(box.organ))
        display.SetSelectedColor(*organ_colour(box.organ))
        nodes.append(node)
    # Last: adding a control point to any markups node of the scene clears the descriptions of the others.
    for node, box in zip(nodes, boxes):
        node.SetDescription(_description(box))
    return nodes


def _rounded(value, digits):
    return round(float(value), digits) + 0.0  # + 0.0: no "-0.0" in the table


def detection_rows(boxes):
    """The detection table as row dicts, columns :data:`TABLE_COLUMNS` in that order.

    Parameters
    ----------
    boxes : sequence of OrganBox

    Returns
    -------
    list of dict
        One per box, in order: ``organ``; ``score`` (rounded to 0.0001); RAS bounds,
        centre and size in mm (rounded to 0.01 mm); ``grade`` (0.0001, or ``""``
        without a grade); ``views`` joined by ``"+"`` (e.g. ``"axial+coronal"``);
        ``grade_experimental`` (``"yes"`` when the grade head never saw a real lesion
        label, ``"no"``, or ``""`` without a grade).
    """
    rows = []
    for box in boxes:
        row = {"organ": box.organ, "score": _rounded(box.score, _SCORE_DIGITS)}
        for axis, letter in enumerate("ras"):
            row[f"{letter}_min"] = _rounded(box.ras_min[axis], _MM_DIGITS)
            row[f"{letter}_max"] = _rounded(box.ras_max[axis], _MM_DIGITS)
        row = {column: row[column] for column in TABLE_COLUMNS[:8]}
        for prefix, values in (("center", box.center), ("size", box.size)):
            for letter, value in zip("ras", values):
                row[f"{prefix}_{letter}"] = _rounded(value, _MM_DIGITS)
        row["grade"] = "" if box.grade is None else _rounded(box.grade, _SCORE_DIGITS)
        row["views"] = "+".join(box.views)
        row["grade_experimental"] = "" if box.grade is None else ("yes" if box.grade_experimental else "no")
        rows.append(row)
    return rows


def detection_table(boxes, *, scene=None, node=None):
    """The detection table node (:func:`detection_rows`), ready for :func:`clinicalimaging.mrml.write_table`.

    Parameters
    ----------
    boxes : sequence of OrganBox
    scene : vtkMRMLScene, optional
        For a new node; default :func:`clinicalimaging.mrml.get_scene`.
    node : vtkMRMLTableNode, optional
        Replace this node's content instead of creating a node.

    Returns
    -------
    vtkMRMLTableNode
        Named ``organ detections`` when new. Without boxes it has no columns (its
        file is read back by :func:`boxes_from_table_file` as no boxes).
    """
    return mrml.table_from_rows(detection_rows(boxes), name="organ detections", scene=scene, node=node)


def boxes_from_table_file(path):
    """Read a detection table file (``.csv`` or ``.tsv``, columns :data:`TABLE_COLUMNS`) back into boxes.

    Only ``organ``, ``score`` and the six bounds are required; ``grade`` (empty or
    ``nan`` for none), ``views`` and ``grade_experimental`` (``yes``) are read when
    present. Centre and size columns are
    not read: they follow from the bounds.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    list of OrganBox
        In the file's order; empty for a file without rows (or without any column,
        as written for a run that found nothing).

    Raises
    ------
    InputError
        Missing file, a required column missing, a value that is not a number, a
        box with min > max on an axis, or one organ twice.
    """
    path = Path(path)
    if not path.is_file():
        problem = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise InputError(f"Detection table '{path}' {problem}. Give the .csv file written by "
                         "'clinicalimaging detect --table'.")
    delimiter = "\t" if path.name.lower().endswith(".tsv") else ","
    try:
        with open(path, newline="", encoding="utf-8") as file:
            reader = csv.DictReader(file, delimiter=delimiter)
            rows = list(reader)
            header = reader.fieldnames or []
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"Detection table '{path}' could not be read ({error}).") from error
    header = [name for name in header if name]
    if not header and not rows:
        return []
    missing = [column for column in ("organ", "score", *_BOUND_COLUMNS) if column not in header]
    if missing:
        raise InputError(f"Detection table '{path}' lacks the column(s) {', '.join(missing)}; it must have the "
                         f"columns {', '.join(TABLE_COLUMNS)} as 'clinicalimaging detect --table' writes them.")
    boxes = [_box_from_row(row, number, path) for number, row in enumerate(rows, start=2)]
    try:
        _check_unique(boxes)
    except InputError as error:
        raise InputError(f"Detection table '{path}': {error}") from None
    return boxes


def _number(row, column, line, path, *, optional=False):
    text = (row.get(column) or "").strip()
    if optional and text.lower() in ("", "nan"):
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InputError(f"Detection table '{path}', line {line}: column '{column}' must be a number; got "
                         f"'{text}'.")
    return value


def _box_from_row(row, line, path):
    organ = (row.get("organ") or "").strip()
    if not organ:
        raise InputError(f"Detection table '{path}', line {line}: the organ name is empty.")
    bounds = [_number(row, column, line, path) for column in _BOUND_COLUMNS]
    ras_min, ras_max = tuple(bounds[0::2]), tuple(bounds[1::2])
    if any(low > high for low, high in zip(ras_min, ras_max)):
        raise InputError(f"Detection table '{path}', line {line}: the box of '{organ}' has a minimum above its "
                         f"maximum (min {list(ras_min)}, max {list(ras_max)} mm).")
    views = tuple(view for view in (row.get("views") or "").strip().split("+") if view)
    return OrganBox(organ=organ, score=_number(row, "score", line, path), ras_min=ras_min, ras_max=ras_max,
                    grade=_number(row, "grade", line, path, optional=True), views=views,
                    grade_experimental=(row.get("grade_experimental") or "").strip().lower() == "yes")
