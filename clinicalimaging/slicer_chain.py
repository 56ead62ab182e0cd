"""One module's result as the next module's input: another module's parameter node set at MRML level.

The panels chain with one click each: Fractional Enhance's enhanced volume becomes
Self-Paced Segment's input, and an organ box found by Organ Detect becomes the region
Self-Paced Segment works in. A module keeps its panel's state in its parameter node,
the singleton ``vtkMRMLScriptedModuleNode`` tagged with the module's name that
``ScriptedLoadableModuleLogic.getParameterNode`` finds or creates. Slicer's
``parameterNodeWrapper`` stores a node member there as an empty parameter plus a node
reference of the same name, and a ``bool`` member as the parameter text ``"True"`` or
``"False"``. The functions here write that layout directly, so they need neither the
other module's widget nor its wrapper class (and run on ``slicer-core``); a wrapper
reads the values back unchanged, and a panel bound to the node shows them at once (the
node's ``ModifiedEvent`` updates its widgets).

Nothing here imports Qt or needs ``slicer.app``; the modules switch to the next
module themselves (``slicer.util.selectModule``).
"""

from .errors import InputError

#: The module whose inputs the chaining functions set.
SEGMENT_MODULE = "SelfPacedSegment"
#: Self-Paced Segment's parameter for the volume to segment (a ``vtkMRMLScalarVolumeNode``).
SEGMENT_INPUT_PARAMETER = "inputVolume"
#: Self-Paced Segment's switch for enhancing the input first (a ``bool``).
SEGMENT_ENHANCE_FIRST_PARAMETER = "enhanceFirst"
#: Self-Paced Segment's parameter for the region to segment in: an ROI (``vtkMRMLMarkupsROINode``). Kept in the
#: parameter node for a segmentation that starts from a box; the panel itself segments from an outline.
SEGMENT_REGION_PARAMETER = "region"
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


def set_module_parameters(scene, module_name, *, nodes=None, switches=None):
    """Set node and on/off parameters in a module's parameter node, as its ``parameterNodeWrapper`` stores them.

    Every node ID is checked before anything changes; the parameter node sends one
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

    Returns
    -------
    vtkMRMLScriptedModuleNode
        The module's parameter node (:func:`module_parameter_node`).

    Raises
    ------
    InputError
        A node ID that is not in ``scene``.
    """
    nodes, switches = dict(nodes or {}), dict(switches or {})
    for name, node_id in nodes.items():
        if not node_id or scene.GetNodeByID(node_id) is None:
            raise InputError(f"Cannot give {module_name} its '{name}': node '{node_id}' is not in the scene "
                             "(it was deleted?). Choose the node again.")
    parameter_node = module_parameter_node(scene, module_name)
    modifying = parameter_node.StartModify()
    try:
        for name, node_id in nodes.items():
            parameter_node.SetParameter(name, "")  # the wrapper's mark that the member is stored
            parameter_node.SetNodeReferenceID(name, node_id)
        for name, value in switches.items():
            parameter_node.SetParameter(name, "True" if value else "False")
    finally:
        parameter_node.EndModify(modifying)
    parameter_node.Modified()  # also when nothing changed: a bound panel refreshes its widgets
    return parameter_node


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
    _checked_volume(scene, enhanced_volume_id, "enhanced volume", hint="Apply Fractional Enhance first.")
    return set_module_parameters(scene, SEGMENT_MODULE, nodes={SEGMENT_INPUT_PARAMETER: enhanced_volume_id},
                                 switches={SEGMENT_ENHANCE_FIRST_PARAMETER: False})


def segment_organ_region(scene, roi_id, volume_id):
    """Make an organ's box the region, and the volume it was found in the input, of Self-Paced Segment.

    Parameters
    ----------
    scene : vtkMRMLScene
    roi_id : str
        ID of a markups ROI node (an organ box found by Organ Detect).
    volume_id : str
        ID of the scalar volume node the box belongs to.

    Returns
    -------
    vtkMRMLScriptedModuleNode
        Self-Paced Segment's parameter node.

    Raises
    ------
    InputError
        The ROI or the volume is missing or of the wrong kind, or the box lies outside the volume.
    """
    roi = scene.GetNodeByID(roi_id) if roi_id else None
    if roi is None or not roi.IsA("vtkMRMLMarkupsROINode"):
        raise InputError("No organ box: select an organ's ROI (Organ Detect's Apply makes one per organ found).")
    volume = _checked_volume(scene, volume_id, "volume of the organ box", hint="Select the volume the box was "
                             "found in as Organ Detect's input volume.")
    if not _boxes_overlap(_roi_bounds(roi), _volume_bounds(volume)):
        raise InputError(f"The box '{roi.GetName()}' lies outside the volume '{volume.GetName()}'; select the volume "
                         "it was found in.")
    return set_module_parameters(scene, SEGMENT_MODULE,
                                 nodes={SEGMENT_INPUT_PARAMETER: volume_id, SEGMENT_REGION_PARAMETER: roi_id})


def _checked_volume(scene, volume_id, what, *, hint):
    volume = scene.GetNodeByID(volume_id) if volume_id else None
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
