"""Segmentation nodes: one segment as a mask on a volume's grid."""

from ..errors import InputError
from .labels import label_mask_like
from .scene import _quiet_vtk, get_scene


def segment_mask(segmentation_node, segment, reference_volume):
    """One segment of a segmentation as a binary mask on the grid of a reference volume.

    Parameters
    ----------
    segmentation_node : vtkMRMLSegmentationNode
    segment : str
        Segment id or segment name.
    reference_volume : vtkMRMLVolumeNode
        Gives the output grid.

    Returns
    -------
    ndarray of uint8, shape (K, J, I) of the reference
        1 inside the segment, 0 elsewhere.

    Raises
    ------
    InputError
        Unknown segment, or a segment with no voxel in the reference volume.
    """
    import vtk

    import slicer

    segmentation = segmentation_node.GetSegmentation()
    segment_id = segment if segmentation.GetSegment(segment) else segmentation.GetSegmentIdBySegmentName(segment)
    if not segment_id:
        names = [segmentation.GetNthSegment(n).GetName() for n in range(segmentation.GetNumberOfSegments())]
        raise InputError(f"Segmentation '{segmentation_node.GetName()}' has no segment '{segment}' "
                         f"(segments: {', '.join(names) or 'none'}). Choose one of these.")
    scene = segmentation_node.GetScene() or get_scene()
    color_tables_before = _node_ids(scene, "vtkMRMLColorTableNode")
    labelmap = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", scene.GenerateUniqueName("__segment_mask"))
    try:
        ids = vtk.vtkStringArray()
        ids.InsertNextValue(segment_id)
        with _quiet_vtk():
            exported = slicer.vtkSlicerSegmentationsModuleLogic.ExportSegmentsToLabelmapNode(
                segmentation_node, ids, labelmap, reference_volume, slicer.vtkSegmentation.EXTENT_REFERENCE_GEOMETRY)
        if not exported or labelmap.GetImageData() is None:
            raise InputError(f"Segment '{segment}' of '{segmentation_node.GetName()}' could not be converted to a "
                             "label map; check that it is not empty.")
        labelmap.SetName(f"{segmentation_node.GetName()}: {segment}")
        return label_mask_like(labelmap, reference_volume)
    finally:
        displays = [labelmap.GetNthDisplayNode(index) for index in range(labelmap.GetNumberOfDisplayNodes())]
        for node in [*displays, labelmap]:
            scene.RemoveNode(node)
        for node_id in _node_ids(scene, "vtkMRMLColorTableNode") - color_tables_before:  # made by the export
            scene.RemoveNode(scene.GetNodeByID(node_id))


def _node_ids(scene, node_class):
    nodes = scene.GetNodesByClass(node_class)
    return {nodes.GetItemAsObject(index).GetID() for index in range(nodes.GetNumberOfItems())}
