"""Markups nodes: read and write .mrk.json (one node, or a list of nodes in one file), control points <-> voxels."""

import json
from pathlib import Path

import numpy as np

from ..errors import InputError
from .paths import check_output_path, staged_outputs, temporary_folder, write_node
from .scene import _quiet_vtk, get_scene
from .volumes import ijk_to_ras


#: Markups classes that hold an outline: open and closed curves (a closed curve is a curve) and point lists.
OUTLINE_CLASSES = ("vtkMRMLMarkupsCurveNode", "vtkMRMLMarkupsFiducialNode")
#: Node attribute set by :func:`read_markups`: the ``coordinateSystem`` its file declared (``"LPS"`` or ``"RAS"``).
COORDINATE_SYSTEM_ATTRIBUTE = "clinicalimaging.coordinateSystem"


def read_markups(path):
    """Read a Slicer markups file (``.mrk.json``: point list, open or closed curve) into a node.

    The node is added to :func:`get_scene` (``slicer.mrmlScene`` inside Slicer), the
    scene the markups logic works on. The file's ``coordinateSystem`` (``"LPS"`` when
    absent) is kept in the node attribute :data:`COORDINATE_SYSTEM_ATTRIBUTE`, so that
    messages can quote positions as the file writes them.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    vtkMRMLMarkupsNode
        With at least one control point.

    Raises
    ------
    InputError
        Missing, empty or non-markups file, markups that are not an outline (an ROI
        box, a line, an angle, a plane: :func:`check_outline_node`), or a markups node
        without points. Nothing is left in the scene then.
    """
    path = _check_markups_file(path, "Outline file", "the outline")
    loaded = _load_markups(path)
    if not loaded:
        raise InputError(f"Outline file '{path}' is not a readable Slicer markups file (.mrk.json). Save the "
                         "outline from Slicer's Markups module (point list or closed curve).")
    node = loaded[0]
    try:
        check_outline_node(node, f"Outline file '{path}'")
    except InputError:
        for other in loaded:
            _remove_node(other)
        raise
    if node.GetNumberOfControlPoints() == 0:
        _remove_node(node)
        raise InputError(f"Outline file '{path}' holds no points; place the outline points and save it again.")
    entries = _markups_entries(path)
    system = entries[0].get("coordinateSystem") if entries and isinstance(entries[0], dict) else None
    node.SetAttribute(COORDINATE_SYSTEM_ATTRIBUTE, str(system or "LPS").upper())
    return node


def check_outline_node(node, source=None):
    """Refuse a markups node that is not an outline: an outline is a curve or a point list.

    Parameters
    ----------
    node : vtkMRMLMarkupsNode
    source : str, optional
        How the message names where the node came from (e.g. ``"Outline file 'x.mrk.json'"``);
        default the node's name.

    Raises
    ------
    InputError
        An ROI box (such as the organ boxes ``clinicalimaging detect`` writes), a line,
        an angle or a plane, with what an outline is.
    """
    if any(node.IsA(name) for name in OUTLINE_CLASSES):
        return
    source = source or f"Markups '{node.GetName()}'"
    if node.IsA("vtkMRMLMarkupsROINode"):
        kind = "an ROI box (a Markups ROI, such as the organ boxes 'clinicalimaging detect' writes)"
    else:
        kind = f"a markups {node.GetTypeDisplayName()}"
    raise InputError(f"{source} holds {kind}, not an outline. An outline is a closed curve, open curve or point "
                     "list of at least 3 points placed around the lesion's border on each outlined slice; draw one "
                     "with Slicer's Markups module and save it as .mrk.json.")


def points_kji(markups_node, volume_node):
    """The control points of a markups node as continuous voxel coordinates of a volume.

    Parameters
    ----------
    markups_node : vtkMRMLMarkupsNode
        Points in world (RAS) coordinates, parent transforms applied.
    volume_node : vtkMRMLVolumeNode
        Its IJK-to-RAS matrix maps the points (a parent transform of the volume is
        not applied: harden it first).

    Returns
    -------
    ndarray, shape (N, 3), float64
        (k, j, i) per point; integer values are voxel centres.
    """
    import slicer

    ras = slicer.util.arrayFromMarkupsControlPoints(markups_node, world=True)
    homogeneous = np.c_[ras, np.ones(len(ras))]
    ijk = (np.linalg.inv(ijk_to_ras(volume_node)) @ homogeneous.T).T[:, :3]
    return ijk[:, ::-1].copy()


def markups_from_points(points, reference_volume, *, name="outline", closed=True, scene=None):
    """A closed-curve (or point-list) node from continuous voxel coordinates of a volume.

    Parameters
    ----------
    points : array_like, shape (N, 3)
        (k, j, i) voxel coordinates in ``reference_volume``.
    reference_volume : vtkMRMLVolumeNode
    name : str
    closed : bool
        A ``vtkMRMLMarkupsClosedCurveNode`` (True) or a point list.
    scene : vtkMRMLScene, optional
        Default: the reference volume's scene.

    Returns
    -------
    vtkMRMLMarkupsNode
    """
    import slicer

    points = np.asarray(points, dtype=np.float64)
    ras = (ijk_to_ras(reference_volume) @ np.c_[points[:, ::-1], np.ones(len(points))].T).T[:, :3]
    scene = scene or reference_volume.GetScene() or get_scene()
    node_class = "vtkMRMLMarkupsClosedCurveNode" if closed else "vtkMRMLMarkupsFiducialNode"
    node = scene.AddNewNodeByClass(node_class, scene.GenerateUniqueName(name))
    slicer.util.updateMarkupsControlPointsFromArray(node, ras)
    node.CreateDefaultDisplayNodes()
    return node


def write_markups(markups_node, path):
    """Write a markups node as ``.mrk.json`` (LPS coordinates, Slicer's default), atomically."""
    path = check_output_path(path, "markups")
    storage = markups_node.CreateDefaultStorageNode()  # the class that keeps this markups type complete
    write_node(storage, markups_node, path, "markups")


#: Schema of a markups file that :func:`write_markups_list` writes without any node to take it from.
_MARKUPS_SCHEMA = ("https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/Markups/Resources/"
                   "Schema/markups-schema-v1.0.3.json#")


def _check_markups_file(path, what, content):
    """``path`` as a Path after the checks every markups reader makes; ``what``/``content`` word the messages."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{what} '{path}' is a folder, not a file. Pass the .mrk.json file saved from "
                         "Slicer's Markups module.")
    if not path.is_file():
        raise InputError(f"{what} '{path}' does not exist. Check the path.")
    if not path.name.lower().endswith(".json"):
        raise InputError(f"{what} '{path}' must be a Slicer markups file (.mrk.json); save {content} from "
                         "Slicer's Markups module.")
    if path.stat().st_size == 0:
        raise InputError(f"{what} '{path}' is empty (0 bytes); save {content} from Slicer's Markups module "
                         "again.")
    return path


def write_markups_list(nodes, path):
    """Write several markups nodes into ONE ``.mrk.json`` file whose ``"markups"`` list holds them in order.

    Each node is written by its own default storage node (so every markups type,
    e.g. ROI boxes, keeps all its properties; LPS coordinates, Slicer's default) into
    a temporary folder, and the entries are merged into one document with each
    node's name as the entry's ``"name"``. Slicer's markups reader (drag and drop,
    ``slicer.util.loadMarkups``) and :func:`read_markups_list` load every entry as a
    node. Node attributes are not part of the format and are not written.

    Parameters
    ----------
    nodes : sequence of vtkMRMLMarkupsNode
        In a scene; may be empty (a file with an empty list).
    path : str or Path
        ``.mrk.json`` file, written atomically.

    Raises
    ------
    InputError
        Bad output path (see :func:`check_output_path`).
    OSError
        A node could not be written (e.g. disk full).
    """
    path = check_output_path(path, "markups")
    document = {"@schema": _MARKUPS_SCHEMA, "markups": []}
    with temporary_folder() as folder:
        for index, node in enumerate(nodes):
            part = folder / f"{index}.mrk.json"
            storage = node.CreateDefaultStorageNode()
            storage.SetFileName(str(part))
            with _quiet_vtk():
                if not storage.WriteData(node):  # a temporary file: not an output, so not through write_node
                    details = storage.GetUserMessages().GetAllMessagesAsString().strip()
                    raise OSError(f"Could not write markups '{node.GetName()}' for '{path}'. {details}".strip())
            written = json.loads(part.read_text(encoding="utf-8"))
            entries = written.get("markups", [])
            for entry in entries:
                entry["name"] = node.GetName()
            if index == 0:
                document = {**written, "markups": []}
            document["markups"].extend(entries)
    with staged_outputs([path]) as staged:
        staged[path].write_text(json.dumps(document, indent=2), encoding="utf-8")


def read_markups_list(path, *, scene=None):
    """Read every markups node of a ``.mrk.json`` file (a list of one or more markups).

    Slicer's markups logic (``LoadMarkups``) loads each entry of the file's
    ``"markups"`` list as a node of its type, named after the entry's ``"name"``
    (:func:`write_markups_list` writes it), else after the file.

    Parameters
    ----------
    path : str or Path
    scene : vtkMRMLScene, optional
        Where the nodes go; default :func:`get_scene` (``slicer.mrmlScene`` inside
        Slicer), the scene of the markups logic. Into another scene the nodes are
        loaded there first and then copied, with their display properties.
        Copies get the entries' names made unique there.

    Returns
    -------
    list of vtkMRMLMarkupsNode
        In the order of the file; empty for a file with an empty list.

    Raises
    ------
    InputError
        Missing, empty or non-markups file, or entries that could not be read.
        Nothing is left in the scene then.
    """
    path = _check_markups_file(path, "Markups file", "the markups")
    entries = _markups_entries(path)
    if entries is None:
        raise InputError(f"Markups file '{path}' is not a Slicer markups file (.mrk.json with a \"markups\" list). "
                         "Save the markups from Slicer's Markups module.")
    if not entries:
        return []
    logic_scene = get_scene()
    loaded = _load_markups(path)
    if len(loaded) != len(entries):
        for node in loaded:
            _remove_node(node)
        raise InputError(f"Markups file '{path}' holds {len(entries)} markups but {len(loaded)} could be read. "
                         "Save the markups from Slicer's Markups module again.")
    if scene is None or scene is logic_scene:
        return loaded
    copies = []
    for node, entry in zip(loaded, entries):
        name = entry.get("name") if isinstance(entry, dict) and entry.get("name") else node.GetName()
        copy = scene.AddNewNodeByClass(node.GetClassName(), scene.GenerateUniqueName(name))
        copy.CopyContent(node)
        copy.CreateDefaultDisplayNodes()
        if node.GetDisplayNode() is not None and copy.GetDisplayNode() is not None:
            copy.GetDisplayNode().CopyContent(node.GetDisplayNode())
        _remove_node(node)
        copies.append(copy)
    return copies


def _markups_entries(path):
    """The ``"markups"`` list of a markups file, or None when the file is no JSON object with such a list."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8")).get("markups")
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return None
    return entries if isinstance(entries, list) else None


def _load_markups(path):
    """Every markups node Slicer's markups logic loads from ``path`` into :func:`get_scene`, in the file's order."""
    import slicer

    get_scene()  # standalone: creates the scene and its markups logic
    before = {node.GetID() for node in slicer.util.getNodesByClass("vtkMRMLMarkupsNode")}
    with _quiet_vtk():
        slicer.modules.markups.logic().LoadMarkups(str(path))
    return [node for node in slicer.util.getNodesByClass("vtkMRMLMarkupsNode") if node.GetID() not in before]


def _remove_node(node):
    """Remove a displayable node with its display and storage nodes from its scene."""
    scene = node.GetScene()
    helpers = [node.GetNthDisplayNode(index) for index in range(node.GetNumberOfDisplayNodes())]
    helpers.append(node.GetStorageNode())
    scene.RemoveNode(node)
    for helper in helpers:
        if helper is not None and helper.GetScene() is scene:
            scene.RemoveNode(helper)
