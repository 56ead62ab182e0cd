"""Table nodes: built from row dicts, written as .csv/.tsv."""

import csv

import numpy as np

from .. import provenance
from .paths import check_output_path, staged_outputs
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
    from vtkmodules.vtkCommonCore import vtkDoubleArray, vtkStringArray

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
            array = vtkDoubleArray() if numeric else vtkStringArray()
            array.SetName(str(column))
            for value in values:
                if numeric:
                    array.InsertNextValue(np.nan if value is None else float(value))
                else:
                    array.InsertNextValue("" if value is None else str(value))
            node.AddColumn(array)
    return node


def write_table(table_node, path):
    """Write a table node as ``.csv`` (comma-separated) or ``.tsv`` (tab-separated), atomically.

    One header row of column names, then one row per table row, quoted where needed
    (:mod:`csv`). Numbers are written exactly (shortest round-trip form; whole numbers
    without a decimal point, NaN as ``nan``). No schema sidecar is written, so Slicer
    loads the columns as text; during a command-line run the provenance sidecar is
    (:mod:`clinicalimaging.provenance`).

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
        The file could not be written (e.g. disk full).
    """
    path = check_output_path(path, "table")
    table = table_node.GetTable()
    columns = [table.GetColumn(index) for index in range(table.GetNumberOfColumns())]
    rows = [[_cell_text(column, row) for column in columns] for row in range(table.GetNumberOfRows())]
    delimiter = "\t" if path.name.lower().endswith(".tsv") else ","
    with staged_outputs([path]) as staged:
        with open(staged[path], "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file, delimiter=delimiter)
            writer.writerow([column.GetName() or "" for column in columns])
            writer.writerows(rows)
        provenance.attach(staged[path])


def _cell_text(column, row):
    if column.IsNumeric() and column.GetNumberOfComponents() == 1:
        value = column.GetTuple1(row)
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return column.GetVariantValue(row).ToString()
