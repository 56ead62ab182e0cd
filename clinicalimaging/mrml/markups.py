"""Markups nodes: read and write .mrk.json, control points <-> voxel coordinates."""

from pathlib import Path

import numpy as np

from ..errors import InputError
from .paths import check_output_path, write_node
from .scene import _quiet_vtk, get_scene
from .volumes import ijk_to_ras


def read_markups(path):
    """Read a Slicer markups file (``.mrk.json``: point list, open or closed curve) into a node.

    The node is added to :func:`get_scene` (``slicer.mrmlScene`` inside Slicer), the
    scene the markups logic works on.

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
        Missing, empty or non-markups file, or a markups node without points. Nothing
        is left in the scene then.
    """
    import slicer

    path = Path(path)
    if path.is_dir():
        raise InputError(f"Outline file '{path}' is a folder, not a file. Pass the .mrk.json file saved from "
                         "Slicer's Markups module.")
    if not path.is_file():
        raise InputError(f"Outline file '{path}' does not exist. Check the path.")
    if not path.name.lower().endswith(".json"):
        raise InputError(f"Outline file '{path}' must be a Slicer markups file (.mrk.json); save the points from "
                         "Slicer's Markups module.")
    if path.stat().st_size == 0:
        raise InputError(f"Outline file '{path}' is empty (0 bytes); save the outline from Slicer's Markups module "
                         "again.")
    get_scene()  # standalone: creates the scene and its markups logic
    with _quiet_vtk():
        node_id = slicer.modules.markups.logic().LoadMarkups(str(path))
    node = slicer.mrmlScene.GetNodeByID(node_id) if node_id else None
    if node is None:
        raise InputError(f"Outline file '{path}' is not a readable Slicer markups file (.mrk.json). Save the "
                         "outline from Slicer's Markups module (point list or closed curve).")
    if node.GetNumberOfControlPoints() == 0:
        slicer.mrmlScene.RemoveNode(node)
        raise InputError(f"Outline file '{path}' holds no points; place the outline points and save it again.")
    return node


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
