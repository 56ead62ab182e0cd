"""Label maps: named label values, a label as a mask on another volume's grid."""

import numpy as np

from ..errors import InputError
from .images import _set_sitk_geometry, sitk_image_from_volume
from .volumes import array_from_volume, ijk_to_ras


def set_label_names(label_node, label_names):
    """Name the values of a label map with a new color table, so Slicer shows organ names.

    Importing the label map into a segmentation then names each segment after its
    label. Colors are taken from Slicer's generic ``Labels`` table when the scene
    has it.

    Parameters
    ----------
    label_node : vtkMRMLLabelMapVolumeNode
        In a scene.
    label_names : dict of int to str
        Label value -> name; value 0 is the background.

    Returns
    -------
    vtkMRMLColorTableNode
        The new color table, named ``<label node name>_colors``.
    """
    scene = label_node.GetScene()
    table = scene.AddNewNodeByClass("vtkMRMLColorTableNode",
                                    scene.GenerateUniqueName(f"{label_node.GetName()}_colors"))
    table.SetTypeToUser()
    table.SetNumberOfColors(max(label_names) + 1)
    table.SetColor(0, "background", 0.0, 0.0, 0.0, 0.0)
    generic = scene.GetNodeByID("vtkMRMLColorTableNodeLabels")
    rgba = [0.5, 0.5, 0.5, 1.0]
    for value, name in label_names.items():
        if generic is not None:
            generic.GetColor(value, rgba)
        table.SetColor(value, name, *rgba[:3], 1.0)
    if label_node.GetDisplayNode() is None:
        label_node.CreateDefaultDisplayNodes()
    label_node.GetDisplayNode().SetAndObserveColorNodeID(table.GetID())
    return table


def _present_values(array):
    values = np.unique(array)
    return label_values_text(values[values != 0])


def label_values_text(values):
    """Every value of a sorted list of label values, runs of consecutive integers as ``a-b``.

    Examples
    --------
    >>> label_values_text([1, 2, 3, 5, 7, 8, 61])
    '1-3, 5, 7-8, 61'
    """
    runs = []
    for value in (int(value) for value in values):
        if runs and value == runs[-1][1] + 1:
            runs[-1][1] = value
        else:
            runs.append([value, value])
    return ", ".join(str(low) if low == high else f"{low}-{high}" for low, high in runs) or "none"


def labels_like(label_node, reference_node):
    """A label map's values on the voxel grid of a reference volume.

    The label map is used as is when its grid equals the reference's; otherwise it is
    resampled by nearest neighbour in physical space (SimpleITK), outside = 0.

    Parameters
    ----------
    label_node : vtkMRMLVolumeNode
        Label map (any integer volume).
    reference_node : vtkMRMLVolumeNode
        Gives the output grid.

    Returns
    -------
    ndarray, shape (K, J, I) of the reference
        The label values, the label map's dtype.
    """
    import SimpleITK as sitk

    labels = array_from_volume(label_node)
    reference_shape = tuple(reversed(reference_node.GetImageData().GetDimensions()))
    if labels.shape == reference_shape and np.allclose(ijk_to_ras(label_node), ijk_to_ras(reference_node)):
        return labels
    grid = sitk.Image(list(reversed(reference_shape)), sitk.sitkUInt8)
    _set_sitk_geometry(grid, ijk_to_ras(reference_node))
    resampled = sitk.Resample(sitk_image_from_volume(label_node), grid, sitk.Transform(),
                              sitk.sitkNearestNeighbor, 0)
    return sitk.GetArrayFromImage(resampled)


def label_mask_like(label_node, reference_node, label_value=None):
    """A label map brought onto the voxel grid of a reference volume, as a binary mask.

    The label map is used as is when its grid equals the reference's; otherwise it is
    resampled by nearest neighbour in physical space (SimpleITK), outside = 0.

    Parameters
    ----------
    label_node : vtkMRMLVolumeNode
        Label map (any integer volume).
    reference_node : vtkMRMLVolumeNode
        Gives the output grid.
    label_value : int, optional
        The label to select; default every non-zero voxel.

    Returns
    -------
    ndarray of uint8, shape (K, J, I) of the reference
        1 inside the selected label, 0 elsewhere.

    Raises
    ------
    InputError
        The selected label has no voxel on the reference grid.
    """
    labels = labels_like(label_node, reference_node)
    mask = (labels != 0) if label_value is None else (labels == label_value)
    if not mask.any():
        selected = "any non-zero label" if label_value is None else f"label value {label_value}"
        raise InputError(f"Label map '{label_node.GetName()}' has no voxel with {selected} inside volume "
                         f"'{reference_node.GetName()}' (label values there: {_present_values(labels)}; "
                         f"in the whole label map: {_present_values(array_from_volume(label_node))}). "
                         "Choose a label value that is present, or a label map that overlaps the volume.")
    return mask.astype(np.uint8)
