"""Node-level fractional enhancement: MRML volume nodes in, volume nodes out."""

from .. import mrml
from .core import fractional_enhance
from .parameters import EnhanceParameters

#: Node attribute holding the parameters (JSON) an output was made with.
PARAMETERS_ATTRIBUTE = "FractionalEnhance.parameters"


def enhance_volume(input_node, output_node=None, parameters: EnhanceParameters = None, *, order_map_node=None,
                   fractal_map_node=None, progress=None):
    """Enhance a scalar volume node; write the result (and optional maps) to nodes.

    Parameters
    ----------
    input_node : vtkMRMLScalarVolumeNode
        Never modified.
    output_node : vtkMRMLScalarVolumeNode, optional
        Receives the enhanced volume; a new node named ``<input>_enhanced`` is
        added to the input's scene when omitted.
    parameters : EnhanceParameters or dict, optional
        Defaults to ``EnhanceParameters()``.
    order_map_node, fractal_map_node : vtkMRMLScalarVolumeNode, optional
        Receive the fractional-order map and the local fractal-dimension map.
    progress : callable, optional
        ``progress(fraction, message)``; may raise :class:`~clinicalimaging.Cancelled`.

    Returns
    -------
    vtkMRMLScalarVolumeNode
        The output node. Every output node gets exactly the input's geometry
        (origin, spacing, directions, parent transform). Nothing is written to
        any node unless the whole computation succeeds, so an error or a cancel
        leaves every node as it was.
    """
    if isinstance(parameters, dict):
        parameters = EnhanceParameters.from_dict(parameters)
    parameters = parameters or EnhanceParameters()
    mrml.check_volume_nodes(input_node, output_node, order_map_node, fractal_map_node)
    result = fractional_enhance(mrml.array_from_volume(input_node), mrml.spacing_kji(input_node), parameters,
                                progress=progress)
    output_node = mrml.new_volume_like(input_node, result.enhanced, node=output_node,
                                       name=None if output_node else f"{input_node.GetName()}_enhanced")
    output_node.SetAttribute(PARAMETERS_ATTRIBUTE, parameters.to_json())
    _copy_window_level(input_node, output_node)
    for node, array in ((order_map_node, result.order_map), (fractal_map_node, result.fractal_dimension_map)):
        if node is not None:
            mrml.new_volume_like(input_node, array, node=node)
    return output_node


def _copy_window_level(source, target) -> None:
    """Show the output with the input's window/level so the two compare at a glance."""
    source_display, target_display = source.GetDisplayNode(), target.GetDisplayNode()
    if source_display is None or target_display is None or not source_display.IsA("vtkMRMLScalarVolumeDisplayNode"):
        return
    target_display.SetAutoWindowLevel(source_display.GetAutoWindowLevel())
    if not source_display.GetAutoWindowLevel():
        target_display.SetWindowLevel(source_display.GetWindow(), source_display.GetLevel())
