"""Organ detection on MRML nodes: volume node in, boxes (and ROI and table nodes) out; labelled volumes in for training.

The network runs in this process here; the OrganDetect panel runs the same code in a
child process through the command line (``clinicalimaging detect``), so that
TensorFlow's libraries and GPU memory never stay in Slicer.
"""

import dataclasses

import numpy as np

from .. import mrml
from ..errors import InputError
from .cases import LabelledVolume
from .nodes_output import detection_table, roi_nodes_from_boxes


@dataclasses.dataclass
class DetectionResult:
    """What :func:`detect_organs` returns.

    Attributes
    ----------
    boxes : list of OrganBox
    roi_nodes : list of vtkMRMLMarkupsROINode
        One per box, same order.
    table_node : vtkMRMLTableNode
    device : str
        Which device ran the network.
    """

    boxes: list
    roi_nodes: list
    table_node: object
    device: str


def find_organ_boxes(input_node, *, model=None, organs=None, parameters=None, progress=None):
    """The organ boxes of a volume node, and the device that ran the network.

    Parameters
    ----------
    input_node : vtkMRMLScalarVolumeNode
        CT (HU) or MR, any orientation (a parent transform is not applied: harden it
        first); never modified.
    model : str, Path or Detector, optional
        Default the shipped model (:func:`.model_files.default_model_path`).
    organs : str or sequence of str, optional
        Default every class of the model.
    parameters : DetectParameters, optional
    progress : callable, optional

    Returns
    -------
    boxes : list of OrganBox
    device : str
    """
    from .device import configure_device
    from .inference import detect_organs_in_array
    from .model_files import Detector, default_model_path, load_detector

    mrml.check_volume_nodes(input_node)
    detector = model if isinstance(model, Detector) else load_detector(model or default_model_path())
    device = configure_device()
    boxes = detect_organs_in_array(mrml.array_from_volume(input_node), mrml.ijk_to_ras(input_node), detector,
                                   organs=organs, parameters=parameters, progress=progress)
    return boxes, device


def detect_organs(input_node, *, model=None, organs=None, parameters=None, output_table=None, replace=None,
                  progress=None):
    """Find the organs of a volume node: one ROI node per organ and a table node.

    Parameters
    ----------
    input_node, model, organs, parameters, progress
        As in :func:`find_organ_boxes`.
    output_table : vtkMRMLTableNode, optional
        Filled with the results; default a new node.
    replace : dict of str to vtkMRMLMarkupsROINode, optional
        Existing ROI nodes (organ -> node) to update instead of adding new ones.

    Returns
    -------
    DetectionResult
    """
    boxes, device = find_organ_boxes(input_node, model=model, organs=organs, parameters=parameters,
                                     progress=progress)
    scene = input_node.GetScene()
    rois = roi_nodes_from_boxes(boxes, scene=scene, replace=replace)
    table = detection_table(boxes, scene=scene, node=output_table)
    return DetectionResult(boxes, rois, table, device)


def labelled_volume(image_node, labels, label_names=None, *, lesion_names=()):
    """A training or evaluation case from an image node and a label map or segmentation node.

    Parameters
    ----------
    image_node : vtkMRMLScalarVolumeNode
    labels : vtkMRMLLabelMapVolumeNode, vtkMRMLScalarVolumeNode or vtkMRMLSegmentationNode
        A label map on any grid (resampled onto the image's by nearest neighbour), or a
        segmentation whose segment names are the organ names.
    label_names : dict of int to str, optional
        Label value -> organ name; needed for a label map (not for a segmentation).
    lesion_names : sequence of str
        Names of labels or segments that mark lesions (grade targets).

    Returns
    -------
    LabelledVolume

    Raises
    ------
    InputError
        A label map given as the image, an image given as the label map (or the two
        swapped), or a label map without names.
    """
    if not labels.IsA("vtkMRMLSegmentationNode"):  # swapped roles first: the message then names both
        mrml.check_label_map(labels, image_node, label_name=labels.GetName(), image_name=image_node.GetName())
    mrml.check_image(image_node, label_role="the labels")
    if labels.IsA("vtkMRMLSegmentationNode"):
        segmentation = labels.GetSegmentation()
        names = {index + 1: segmentation.GetNthSegment(index).GetName()
                 for index in range(segmentation.GetNumberOfSegments())}
        array = np.zeros(mrml.array_from_volume(image_node).shape, np.uint16)
        for value, name in names.items():
            array[mrml.segment_mask(labels, segmentation.GetNthSegmentID(value - 1), image_node,
                                    allow_empty=True) > 0] = value
    else:
        if not label_names:
            raise InputError(f"Label map '{labels.GetName()}' needs the names of its values: give a JSON file of "
                             "label value -> organ name (--label-names), or use a .seg.nrrd segmentation whose "
                             "segments are named after the organs.")
        names, array = dict(label_names), mrml.labels_like(labels, image_node)
    return LabelledVolume(mrml.array_from_volume(image_node), mrml.ijk_to_ras(image_node), array, names,
                          name=image_node.GetName(), lesion_names=tuple(lesion_names))
