"""Table nodes: built from row dicts, written as .csv/.tsv."""

import numpy as np

from .paths import check_output_path, write_node
from .scene import get_scene


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def table_from_rows(rows, *, name="table", scene=None, node=None):
    """A table node from a list of row dicts.

    Columns appear in the order their keys are first seen. A column whose values are
    all numbers (missing ones allowed) becomes a double column, with NaN for missing
    values; any other column a string column, with "" for missing values.

    Parameters
    ----------
    rows : list of dict
        One dict per row, column name -> value.
    name : str
        Name of a new node, made unique in the scene.
    scene : vtkMRMLScene, optional
        Default :func:`get_scene`.
    node : vtkMRMLTableNode, optional
        Replace the content of this node instead of creating one.

    Returns
    -------
    vtkMRMLTableNode
    """
    import vtk

    import slicer

    columns = list(dict.fromkeys(key for row in rows for key in row))
    if node is None:
        scene = scene if scene is not None else get_scene()
        node = scene.AddNewNodeByClass("vtkMRMLTableNode", scene.GenerateUniqueName(name))
    with slicer.util.NodeModify(node):
        node.RemoveAllColumns()
        for column in columns:
            values = [row.get(column) for row in rows]
            numeric = all(value is None or _is_number(value) for value in values)
            array = vtk.vtkDoubleArray() if numeric else vtk.vtkStringArray()
            array.SetName(str(column))
            for value in values:
                if numeric:
                    array.InsertNextValue(np.nan if value is None else float(value))
                else:
                    array.InsertNextValue("" if value is None else str(value))
            node.AddColumn(array)
    return node


def write_table(table_node, path):
    """Write a table node as ``.csv`` or ``.tsv``, atomically.

    Slicer's table storage also writes a schema sidecar ``<stem>.schema.csv`` (or
    ``.tsv``) that records the column types, so Slicer reads numbers back as numbers;
    it is kept and, like the table itself, written to a temporary folder first and
    then moved into place. Plain CSV readers can ignore it.

    Parameters
    ----------
    table_node : vtkMRMLTableNode
    path : str or Path
        ``.csv`` or ``.tsv`` file.

    Raises
    ------
    InputError
        Bad output path (see :func:`check_output_path`).
    OSError
        The writer failed.
    """
    import slicer

    path = check_output_path(path, "table")
    storage = slicer.vtkMRMLTableStorageNode()
    write_node(storage, table_node, path, "table")
