"""Node level of the phantoms: a :class:`~clinicalimaging.phantom.Phantom` as MRML volume and label map nodes."""

from . import mrml


def phantom_volume(phantom, *, scene=None, name="phantom"):
    """The phantom as MRML nodes: a scalar volume and a label map with the same geometry.

    Parameters
    ----------
    phantom : Phantom
    scene : vtkMRMLScene, optional
        Default :func:`clinicalimaging.mrml.get_scene`.
    name : str
        Name of the volume; the label map is named ``<name>_labels``.

    Returns
    -------
    volume_node : vtkMRMLScalarVolumeNode
    label_node : vtkMRMLLabelMapVolumeNode
        Its values are named after ``phantom.label_names`` (see
        :func:`clinicalimaging.mrml.set_label_names`).
    """
    volume = mrml.volume_from_array(phantom.image, ijk_to_ras=phantom.ijk_to_ras, scene=scene, name=name)
    labels = mrml.new_volume_like(volume, phantom.labels, name=f"{name}_labels", labelmap=True)
    mrml.set_label_names(labels, phantom.label_names)
    return volume, labels
