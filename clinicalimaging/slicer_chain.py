"""One module's result as the next module's input: another module's parameter node set at MRML level.

The panels chain with one click each: Fractional Enhance's enhanced volume becomes
Self-Paced Segment's input, and an organ box found by Organ Detect is segmented without an
outline (:func:`segment_organ_box`, the chain's
:func:`~clinicalimaging.pipeline.chain.segment_target_organ` on the box of an ROI node),
after which the volume, the segmentation, the outline points it started from and the box
become Self-Paced Segment's input, output, outline and region, to refine or re-run it
there. A module keeps its panel's state in its parameter node,
the singleton ``vtkMRMLScriptedModuleNode`` tagged with the module's name that
``ScriptedLoadableModuleLogic.getParameterNode`` finds or creates. Slicer's
``parameterNodeWrapper`` stores a node member there as an empty parameter plus a node
reference of the same name, and a ``bool`` member as the parameter text ``"True"`` or
``"False"``; a member that takes one of several node classes (``Optional[Union[A, B]]``)
as an empty parameter ``<name>.<i>`` plus a node reference of that name, ``i`` the
position of the node's class in the ``Union``. The functions here write that layout
directly, so they need neither the other module's widget nor its wrapper class (and run
on ``slicer-core``); a wrapper reads the values back unchanged, and a panel bound to the
node shows them at once (the node's ``ModifiedEvent`` updates its widgets).

Nothing here imports Qt or needs ``slicer.app``; the modules switch to the next
module themselves (``slicer.util.selectModule``).
"""

import contextlib

from .errors import InputError
from .progress import report

#: The module whose inputs the chaining functions set.
SEGMENT_MODULE = "SelfPacedSegment"
#: Self-Paced Segment's parameter for the volume to segment (a ``vtkMRMLScalarVolumeNode``).
SEGMENT_INPUT_PARAMETER = "inputVolume"
#: Self-Paced Segment's switch for enhancing the input first (a ``bool``).
SEGMENT_ENHANCE_FIRST_PARAMETER = "enhanceFirst"
#: Self-Paced Segment's parameter for the region to segment in: an ROI (``vtkMRMLMarkupsROINode``). Kept in the
#: parameter node for a segmentation that starts from a box; the panel itself segments from an outline.
SEGMENT_REGION_PARAMETER = "region"
#: Self-Paced Segment's parameter for its output segmentation (a ``vtkMRMLSegmentationNode``).
SEGMENT_OUTPUT_PARAMETER = "outputSegmentation"
#: Self-Paced Segment's parameter for the outline, and the node classes of its ``Optional[Union[...]]`` member in
#: the member's order (the wrapper stores the node as ``outline.<position of its class>``).
SEGMENT_OUTLINE_PARAMETER = "outline"
SEGMENT_OUTLINE_CLASSES = ("vtkMRMLMarkupsClosedCurveNode", "vtkMRMLMarkupsFiducialNode")
#: Node reference role from an organ's segmentation (:func:`segment_organ_box`) to the outline points it started from.
SEED_OUTLINE_REFERENCE = "ClinicalImaging.SeedOutline"
_SCRIPTED_MODULE_NODE = "vtkMRMLScriptedModuleNode"
_MODULE_NAME_ATTRIBUTE = "ModuleName"


def module_parameter_node(scene, module_name):
    """The parameter node of a scripted module in a scene, created the way Slicer creates it when missing.

    Parameters
    ----------
    scene : vtkMRMLScene
    module_name : str
        The module's name, e.g. ``"SelfPacedSegment"``.

    Returns
    -------
    vtkMRMLScriptedModuleNode
        The singleton node tagged ``module_name``, with the attribute ``ModuleName``
        (restored if a scene close removed it).
    """
    node = scene.GetSingletonNode(module_name, _SCRIPTED_MODULE_NODE)
    if node is None:
        node = scene.CreateNodeByClass(_SCRIPTED_MODULE_NODE)
        node.UnRegister(None)  # the Python variable owns it, as in ScriptedLoadableModuleLogic.createParameterNode
        node.SetSingletonTag(module_name)
        node.SetName(scene.GenerateUniqueName(module_name))
        node.SetAttribute(_MODULE_NAME_ATTRIBUTE, module_name)
        node = scene.AddNode(node)
    if node.GetAttribute(_MODULE_NAME_ATTRIBUTE) != module_name:
        node.SetAttribute(_MODULE_NAME_ATTRIBUTE, module_name)
    return node


def set_module_parameters(scene, module_name, *, nodes=None, switches=None, choice_nodes=None):
    """Set node and on/off parameters in a module's parameter node, as its ``parameterNodeWrapper`` stores them.

    Every node is checked before anything changes; the parameter node sends one
    ``ModifiedEvent`` at the end, so a panel bound to it shows the new values.

    Parameters
    ----------
    scene : vtkMRMLScene
    module_name : str
    nodes : dict of str to str, optional
        Parameter name to the ID of a node of ``scene`` (a plain node member of the
        wrapper class, not a ``Union``).
    switches : dict of str to bool, optional
        Parameter name to value (a ``bool`` member).
    choice_nodes : dict of str to (tuple of str, str), optional
        Parameter name to ``(classes, node ID)`` for a member that takes one of several
        node classes (``Union[A, B]`` or ``Optional[Union[A, B]]``), ``classes`` the
        node class names in the member's order. The node is stored under the position
        of the first class it is (``<name>.<i>``); what the member held before, None
        included, is removed.

    Returns
    -------
    vtkMRMLScriptedModuleNode
        The module's parameter node (:func:`module_parameter_node`).

    Raises
    ------
    InputError
        A node ID that is not in ``scene``, or a node of none of a member's classes.
    """
    nodes, switches = dict(nodes or {}), dict(switches or {})
    stored = dict(nodes)
    for name, node_id in nodes.items():
        _scene_node(scene, module_name, name, node_id)
    for name, (classes, node_id) in dict(choice_nodes or {}).items():
        node = _scene_node(scene, module_name, name, node_id)
        position = next((index for index, cls in enumerate(classes) if node.IsA(cls)), None)
        if position is None:
            raise InputError(f"Cannot give {module_name} its '{name}': '{node.GetName()}' is a {node.GetClassName()}, "
                             f"not one of {', '.join(classes)}.")
        stored.update({f"{name}.{index}": None for index in range(len(classes) + 1)})  # + 1: Optional's None
        stored[f"{name}.{position}"] = node_id
    parameter_node = module_parameter_node(scene, module_name)
    modifying = parameter_node.StartModify()
    try:
        for name, node_id in stored.items():
            if node_id is None:
                parameter_node.UnsetParameter(name)
                parameter_node.RemoveNodeReferenceIDs(name)
                continue
            parameter_node.SetParameter(name, "")  # the wrapper's mark that the member is stored
            parameter_node.SetNodeReferenceID(name, node_id)
        for name, value in switches.items():
            parameter_node.SetParameter(name, "True" if value else "False")
    finally:
        parameter_node.EndModify(modifying)
    parameter_node.Modified()  # also when nothing changed: a bound panel refreshes its widgets
    return parameter_node


def _scene_node(scene, module_name, name, node_id):
    node = scene.GetNodeByID(node_id) if node_id else None
    if node is None:
        raise InputError(f"Cannot give {module_name} its '{name}': node '{node_id}' is not in the scene "
                         "(it was deleted?). Choose the node again.")
    return node


def segment_enhanced_volume(scene, enhanced_volume_id):
    """Make an enhanced volume the input of Self-Paced Segment, which then does not enhance it again.

    Parameters
    ----------
    scene : vtkMRMLScene
    enhanced_volume_id : str
        ID of a scalar volume node holding voxels (Fractional Enhance's output).

    Returns
    -------
    vtkMRMLScriptedModuleNode
        Self-Paced Segment's parameter node.

    Raises
    ------
    InputError
        The node is missing, is not a scalar volume or holds no voxels.
    """
    _checked_volume(_node(scene, enhanced_volume_id), "enhanced volume", hint="Apply Fractional Enhance first.")
    return set_module_parameters(scene, SEGMENT_MODULE, nodes={SEGMENT_INPUT_PARAMETER: enhanced_volume_id},
                                 switches={SEGMENT_ENHANCE_FIRST_PARAMETER: False})


def segment_organ_region(scene, roi_id, volume_id, segmentation_id=None):
    """Make an organ's box the region, and the volume it was found in the input, of Self-Paced Segment.

    Parameters
    ----------
    scene : vtkMRMLScene
    roi_id : str
        ID of a markups ROI node (an organ box found by Organ Detect).
    volume_id : str
        ID of the scalar volume node the box belongs to.
    segmentation_id : str, optional
        ID of the organ's segmentation (:func:`segment_organ_box`): it becomes the
        output, and the outline points it started from (its
        :data:`SEED_OUTLINE_REFERENCE`) the outline, so that Apply there re-runs it and
        Refine updates it.

    Returns
    -------
    vtkMRMLScriptedModuleNode
        Self-Paced Segment's parameter node.

    Raises
    ------
    InputError
        The ROI, the volume or the segmentation is missing or of the wrong kind, or
        the box lies outside the volume.
    """
    _checked_organ_box(_node(scene, roi_id), _node(scene, volume_id))
    nodes = {SEGMENT_INPUT_PARAMETER: volume_id, SEGMENT_REGION_PARAMETER: roi_id}
    choice_nodes = {}
    if segmentation_id is not None:
        segmentation = _node(scene, segmentation_id)
        if segmentation is None or not segmentation.IsA("vtkMRMLSegmentationNode"):
            raise InputError("No organ segmentation to hand over: segment the organ again.")
        nodes[SEGMENT_OUTPUT_PARAMETER] = segmentation_id
        seed = segmentation.GetNodeReference(SEED_OUTLINE_REFERENCE)
        if seed is not None:
            choice_nodes[SEGMENT_OUTLINE_PARAMETER] = (SEGMENT_OUTLINE_CLASSES, seed.GetID())
    return set_module_parameters(scene, SEGMENT_MODULE, nodes=nodes, choice_nodes=choice_nodes)


def organ_box_from_roi(roi_node):
    """The organ box an ROI node stands for: its organ and its extent in RAS mm.

    Parameters
    ----------
    roi_node : vtkMRMLMarkupsROINode
        An organ box of Organ Detect
        (:func:`~clinicalimaging.detect.nodes_output.roi_nodes_from_boxes`) or one the
        user drew; rotated or under a transform, its box is the world-aligned box
        around it.

    Returns
    -------
    OrganBox
        ``organ`` from the node's attribute
        :data:`~clinicalimaging.detect.nodes_output.ORGAN_ATTRIBUTE` (the organ Organ
        Detect found, whatever the node is called), else the node's name; ``score``
        from :data:`~clinicalimaging.detect.nodes_output.SCORE_ATTRIBUTE`, else 1;
        ``ras_min`` and ``ras_max`` the node's RAS bounds.

    Raises
    ------
    InputError
        A box without extent, or without an organ name.
    """
    from .detect.detections import OrganBox
    from .detect.nodes_output import ORGAN_ATTRIBUTE, SCORE_ATTRIBUTE

    bounds = _roi_bounds(roi_node)
    low, high = tuple(bounds[0::2]), tuple(bounds[1::2])
    if not all(lower < upper for lower, upper in zip(low, high)):
        raise InputError(f"The box '{roi_node.GetName()}' has no extent on some axis (RAS bounds {bounds} mm); "
                         "place it around the organ.")
    organ = (roi_node.GetAttribute(ORGAN_ATTRIBUTE) or roi_node.GetName() or "").strip()
    if not organ:
        raise InputError("The organ box has no name: name the ROI after its organ (e.g. liver).")
    try:
        score = float(roi_node.GetAttribute(SCORE_ATTRIBUTE) or 1.0)
    except ValueError:
        score = 1.0
    return OrganBox(organ=organ, score=score, ras_min=low, ras_max=high)


def segment_organ_box(volume_node, roi_node, parameters=None, *, progress=None):
    """Segment the organ of an ROI node's box, without an outline, into a new segmentation node.

    The box (:func:`organ_box_from_roi`) goes to
    :func:`~clinicalimaging.pipeline.chain.segment_target_organ`, which is what
    ``clinicalimaging pipeline --target-organ`` runs: outline points found on the
    organ's cross-sections inside the box seed the lesion segmentation with the region
    model, and the result is clipped to the box grown by 5 mm. The outline points stay
    in the scene (a point list ``"<organ> seed outline"``, its point labels hidden),
    referenced from the segmentation by :data:`SEED_OUTLINE_REFERENCE`.

    Parameters
    ----------
    volume_node : vtkMRMLScalarVolumeNode
        The volume the box was found in; never modified.
    roi_node : vtkMRMLMarkupsROINode
        The organ's box.
    parameters : SegmentParameters, optional
        Default: ``SegmentParameters()`` with the rough step's ``"auto"`` speed taken
        as the region model (:func:`~clinicalimaging.pipeline.chain.organ_segment_parameters`).
    progress : callable, optional
        ``progress(fraction, message)``; may raise (or return False for)
        :class:`~clinicalimaging.errors.Cancelled`.

    Returns
    -------
    vtkMRMLSegmentationNode
        Named ``<volume>_<organ>``, with one segment named and coloured after the organ,
        its reference geometry the volume's, shown in the slice views.

    Raises
    ------
    InputError
        A missing node or one of the wrong kind, a box outside the volume or without
        extent, and the errors of the segmentation (no outline found in the box, the
        organ's region not told from its surroundings, an empty result).
    Cancelled
        From ``progress``.

    Notes
    -----
    On an error or a cancel every node the function added is removed again: the scene
    is as it was.
    """
    roi, volume = _checked_organ_box(roi_node, volume_node)
    box = organ_box_from_roi(roi)
    from .pipeline.chain import segment_target_organ

    scene = volume.GetScene()
    with _nodes_removed_on_error(scene):
        report(progress, 0.0, f"Finding the outline of the {box.organ} in its box")
        try:
            segmentation, _mask, seed = segment_target_organ(volume, box, parameters, progress=progress)
        except InputError as error:
            raise InputError(f"The {box.organ} could not be segmented in the box '{roi.GetName()}': {error}") from None
        segmentation.SetName(scene.GenerateUniqueName(f"{volume.GetName()}_{box.organ}"))
        segmentation.SetNodeReferenceID(SEED_OUTLINE_REFERENCE, seed.GetID())
        seed.GetDisplayNode().SetPointLabelsVisibility(False)  # its dozens of numbered labels would hide the organ
        segmentation.CreateDefaultDisplayNodes()  # no-op when it has them
        segmentation.GetDisplayNode().SetVisibility(True)
    return segmentation


@contextlib.contextmanager
def _nodes_removed_on_error(scene):
    """On an exception in the block (a cancel included), remove the nodes it added to ``scene``, then re-raise."""
    before = {scene.GetNthNode(index).GetID() for index in range(scene.GetNumberOfNodes())}
    try:
        yield
    except BaseException:
        nodes = [scene.GetNthNode(index) for index in range(scene.GetNumberOfNodes())]
        for node in reversed([node for node in nodes if node.GetID() not in before and not node.GetSingletonTag()]):
            if node.GetScene() is scene:
                scene.RemoveNode(node)
        raise


def _node(scene, node_id):
    return scene.GetNodeByID(node_id) if node_id else None


def _checked_organ_box(roi, volume):
    """``(roi, volume)`` once the ROI is a box overlapping a scalar volume with voxels."""
    if roi is None or not roi.IsA("vtkMRMLMarkupsROINode"):
        raise InputError("No organ box: select an organ's ROI (Organ Detect's Apply makes one per organ found).")
    _checked_volume(volume, "volume of the organ box", hint="Select the volume the box was found in as Organ "
                    "Detect's input volume.")
    if not _boxes_overlap(_roi_bounds(roi), _volume_bounds(volume)):
        raise InputError(f"The box '{roi.GetName()}' lies outside the volume '{volume.GetName()}'; select the volume "
                         "it was found in.")
    return roi, volume


def _checked_volume(volume, what, *, hint):
    if volume is None or not volume.IsA("vtkMRMLScalarVolumeNode") or volume.IsA("vtkMRMLLabelMapVolumeNode"):
        raise InputError(f"No {what}: select a scalar volume. {hint}")
    if volume.GetImageData() is None:
        raise InputError(f"The {what} '{volume.GetName()}' holds no voxels yet. {hint}")
    return volume


def _roi_bounds(roi):
    """``[r_min, r_max, a_min, a_max, s_min, s_max]`` of an ROI in RAS mm."""
    bounds = [0.0] * 6
    roi.GetRASBounds(bounds)
    return bounds


def _volume_bounds(volume):
    bounds = [0.0] * 6
    volume.GetRASBounds(bounds)
    return bounds


def _boxes_overlap(first, second):
    return all(first[2 * axis] <= second[2 * axis + 1] and second[2 * axis] <= first[2 * axis + 1]
               for axis in range(3))
