"""Which volume is an image and which a label map: the likely mix-ups, said before any work.

A label map given as the image is enhanced, segmented and "detected" like any
volume; an image given as the label map, or a label map of another scan, makes a
plausible table from the voxels that happen to overlap. These checks tell them apart
by what the voxels hold (an image has hundreds of grey values; a label map a
handful of whole numbers) and by how much of a label lies inside the image.
"""

import warnings

import numpy as np

from ..errors import InputError, InputWarning
from .labels import label_values_text
from .volumes import voxels_of_volume

#: At most this many distinct whole-number values: a label map, not a CT or MR image.
LABEL_MAP_MAX_VALUES = 16
#: At least this many distinct values, or any fractional one: an image, not a label map.
IMAGE_MIN_VALUES = 256
#: A label with less than half its volume inside the image is refused; with less than nine tenths, said.
_LABEL_INSIDE_REFUSED = 0.5
_LABEL_INSIDE_WARNED = 0.9
_SAMPLE_STEP = 97  # every n-th voxel first: an image is told from a label map without sorting all its voxels


def _distinct_values(voxels, enough):
    """The sorted distinct values of ``voxels``, or None once more than ``enough`` are found or one is fractional."""
    flat = voxels.reshape(-1)
    for sample in (flat[::_SAMPLE_STEP], flat):
        values = np.unique(sample)
        if len(values) > enough or not np.array_equal(values, np.round(values)):
            return None
    return values


def looks_like_label_map(node):
    """The values of a volume that holds only a handful of whole numbers (a label map), else None.

    Parameters
    ----------
    node : vtkMRMLVolumeNode

    Returns
    -------
    ndarray or None
        Its distinct values (at most ``LABEL_MAP_MAX_VALUES``), or None for an image.
    """
    return _distinct_values(voxels_of_volume(node), LABEL_MAP_MAX_VALUES)


def check_image(node, *, label_role="the label map"):
    """Refuse a label map where an image belongs.

    Parameters
    ----------
    node : vtkMRMLVolumeNode
        The volume given as the image.
    label_role : str
        How the command calls its label-map input, for the message (e.g. ``"LABEL"``).

    Raises
    ------
    InputError
        A label map node, or a volume whose voxels take at most ``LABEL_MAP_MAX_VALUES``
        whole-number values.
    """
    values = looks_like_label_map(node)
    if values is not None and len(values) < 2:  # a constant volume: each stage says so in its own words
        return
    if values is None and not node.IsA("vtkMRMLLabelMapVolumeNode"):
        return
    held = "it is a label map node" if values is None else (
        f"its voxels take only {len(values)} value(s): {label_values_text(values)}")
    raise InputError(f"Volume '{node.GetName()}' looks like a label map, not an image ({held}). Pass the CT or MR "
                     f"image as the image; a label map goes where {label_role} is asked for.")


def check_label_map(label_node, image_node, *, label_name, image_name):
    """Refuse an image where a label map belongs, saying so when the two were probably swapped.

    Parameters
    ----------
    label_node, image_node : vtkMRMLVolumeNode
    label_name, image_name : str
        How the inputs are called in the message (e.g. the file names).

    Raises
    ------
    InputError
        The label map holds fractional values or at least ``IMAGE_MIN_VALUES`` distinct values.
    """
    if _distinct_values(voxels_of_volume(label_node), IMAGE_MIN_VALUES - 1) is not None:
        return
    swapped = looks_like_label_map(image_node) is not None
    raise InputError(f"Label map '{label_name}' looks like an image (fractional values or hundreds of grey values), "
                     f"not a label map" + (f", and image '{image_name}' looks like a label map: swap them, IMAGE "
                                           "first and LABEL second." if swapped else
                                           ". Pass a label map (whole numbers, one per structure) as the label."))


def check_label_inside(label_node, mask, reference_node, *, label_value=None):
    """Refuse (or say) a label that lies mostly outside the image: a label map of another scan.

    Compares the physical volume of the label in its own file with that of ``mask``,
    the label brought onto the image's grid.

    Parameters
    ----------
    label_node : vtkMRMLVolumeNode
    mask : ndarray of bool or uint8, shape (K, J, I) of the reference
    reference_node : vtkMRMLVolumeNode
        The image.
    label_value : int, optional
        The selected label; default every non-zero voxel.

    Raises
    ------
    InputError
        Less than half of the label lies inside the image. Less than nine tenths issues
        an :class:`~clinicalimaging.errors.InputWarning`.
    """
    labels = voxels_of_volume(label_node)
    own = np.count_nonzero(labels if label_value is None else labels == label_value)
    own_ml = own * float(np.prod(label_node.GetSpacing())) / 1000.0
    inside_ml = np.count_nonzero(mask) * float(np.prod(reference_node.GetSpacing())) / 1000.0
    if own_ml <= 0:
        return
    fraction = inside_ml / own_ml
    which = "the label" if label_value is None else f"label {label_value}"
    said = (f"only {100 * fraction:.0f} % of {which} of '{label_node.GetName()}' ({inside_ml:.1f} of {own_ml:.1f} mL) "
            f"lies inside image '{reference_node.GetName()}'")
    if fraction < _LABEL_INSIDE_REFUSED:
        raise InputError(f"The label map is probably from another scan, or the image a crop: {said}. Pass the "
                         "label map made on this image (the same series and extent).")
    if fraction < _LABEL_INSIDE_WARNED:
        warnings.warn(f"{said[0].upper()}{said[1:]}; figures cover that part only. Check that the label map "
                      "belongs to this image.", InputWarning, stacklevel=2)


def check_volume_nodes(input_node, *outputs):
    """Check a scalar input volume node and the output nodes chosen for it.

    Parameters
    ----------
    input_node : vtkMRMLScalarVolumeNode or None
    *outputs : vtkMRMLNode or None
        Output nodes; ``None`` entries (outputs not asked for, or to be created) are skipped.

    Raises
    ------
    InputError
        No input or no image in it, a vector (colour) volume, a label map
        (:func:`check_image`), an output that is the input, or one node chosen for two
        outputs.
    """
    if input_node is None or input_node.GetImageData() is None:
        raise InputError("No input volume (or it holds no image): select a loaded scalar volume.")
    components = input_node.GetImageData().GetNumberOfScalarComponents()
    if components != 1 or input_node.IsA("vtkMRMLVectorVolumeNode"):
        raise InputError(f"Input volume '{input_node.GetName()}' has {components} components per voxel (colour or "
                         "vector image); convert it to a scalar volume first (e.g. Vector to Scalar Volume module).")
    check_image(input_node)
    named = [node for node in outputs if node is not None]
    if any(node is input_node for node in named):
        raise InputError(f"An output is the input volume '{input_node.GetName()}'; choose or create other outputs.")
    if len({id(node) for node in named}) != len(named):
        raise InputError("The same node was chosen for two outputs; choose a different node for each.")
