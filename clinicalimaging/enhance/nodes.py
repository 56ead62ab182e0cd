"""Node-level fractional enhancement: MRML volume nodes in, volume nodes out; the comparison and the strength
sweep as tables and charts."""

from .. import mrml
from .core import fractional_enhance
from .parameters import EnhanceParameters

# The comparison and the sweep import their metrics and baselines (scipy.ndimage, SimpleITK) when first
# called: a plain enhancement needs neither.

#: Node attribute holding the parameters (JSON) an output was made with.
PARAMETERS_ATTRIBUTE = "FractionalEnhance.parameters"
#: Node reference from a comparison table to the bar chart made from it.
COMPARISON_CHART_REFERENCE = "FractionalEnhanceComparisonChart"


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
    # The voxels are read in place and the result is computed in the memory the output node takes over.
    result = fractional_enhance(mrml.voxels_of_volume(input_node), mrml.spacing_kji(input_node), parameters,
                                progress=progress, out=mrml.empty_voxels_like(input_node))
    output_node = mrml.new_volume_like(input_node, result.enhanced, node=output_node,
                                       name=None if output_node else f"{input_node.GetName()}_enhanced")
    output_node.SetAttribute(PARAMETERS_ATTRIBUTE, parameters.to_json())
    _copy_window_level(input_node, output_node)
    for node, array in ((order_map_node, result.order_map), (fractal_map_node, result.fractal_dimension_map)):
        if node is not None:
            mrml.new_volume_like(input_node, array, node=node)
    return output_node


def comparison_table(volume_node, lesion_mask, *, parameters=None, ring_range=None, table_node=None,
                     progress=None):
    """:func:`~.compare.compare_enhancements` of a volume node, as a table node.

    Parameters
    ----------
    volume_node : vtkMRMLScalarVolumeNode
        The image; never modified.
    lesion_mask : ndarray
        Lesion mask on the volume's voxel grid, KJI (e.g. from
        :func:`clinicalimaging.mrml.label_mask_like` or
        :func:`clinicalimaging.mrml.segment_mask`).
    parameters : EnhanceParameters or dict, optional
        As for :func:`~.compare.compare_enhancements`.
    ring_range : (float, float), optional
        As for :func:`~.compare.compare_enhancements` (e.g. ``(-150, 250)`` HU on CT).
    table_node : vtkMRMLTableNode, optional
        Receives the rows; a new node in the volume's scene when omitted.
    progress : callable, optional
        ``progress(fraction, message)``; may raise :class:`~clinicalimaging.Cancelled`.

    Returns
    -------
    vtkMRMLTableNode
        One row per method; a string column ``method`` and one double column
        per metric. Written only after every method has run.
    """
    from .compare import compare_enhancements

    rows = compare_enhancements(mrml.voxels_of_volume(volume_node), lesion_mask, mrml.spacing_kji(volume_node),
                                parameters=parameters, ring_range=ring_range, progress=progress)
    return mrml.table_from_rows(rows, name=f"{volume_node.GetName()}_enhancement_comparison",
                                scene=volume_node.GetScene(), node=table_node)


def comparison_chart(table_node, *, title="Contrast-to-noise ratio around the lesion", x_axis_title="Method",
                     y_axis_title="CNR"):
    """The bar chart of contrast-to-noise ratio per method of a :func:`comparison_table` table node.

    Made once per table: a plot chart node and one bar plot series node
    (labels from the ``method`` column, heights from ``cnr``) in the table's
    scene, referenced from the table as :data:`COMPARISON_CHART_REFERENCE`; a
    later call (after the table was refilled) finds and updates the same nodes.

    Parameters
    ----------
    table_node : vtkMRMLTableNode
        Rows of :func:`~.compare.compare_enhancements`; must be in a scene.
    title, x_axis_title, y_axis_title : str, optional
        Texts of the chart (pass translated ones in Slicer).

    Returns
    -------
    vtkMRMLPlotChartNode
    """
    scene = table_node.GetScene()
    chart_node = table_node.GetNodeReference(COMPARISON_CHART_REFERENCE)
    if chart_node is None:
        chart_node = scene.AddNewNodeByClass("vtkMRMLPlotChartNode", f"{table_node.GetName()} chart")
        series_node = scene.AddNewNodeByClass("vtkMRMLPlotSeriesNode", f"{table_node.GetName()} CNR")
        chart_node.AddAndObservePlotSeriesNodeID(series_node.GetID())
        table_node.SetNodeReferenceID(COMPARISON_CHART_REFERENCE, chart_node.GetID())
    series_node = chart_node.GetNthPlotSeriesNode(0)
    series_node.SetAndObserveTableNodeID(table_node.GetID())
    series_node.SetPlotType(series_node.PlotTypeBar)
    series_node.SetLabelColumnName("method")
    series_node.SetYColumnName("cnr")
    chart_node.SetTitle(title)
    chart_node.SetXAxisTitle(x_axis_title)
    chart_node.SetYAxisTitle(y_axis_title)
    return chart_node


def sweep_nodes(volume_node, lesion_mask, *, parameters=None, ring_range=None, progress=None,
                title="Edge sharpness against CNR, each method over its strength",
                x_axis_title="Edge sharpness / original's", y_axis_title="CNR / original's"):
    """:func:`~.sweep.sweep_enhancements` of a volume node as two tables and a line chart.

    Parameters
    ----------
    volume_node : vtkMRMLScalarVolumeNode
        The image; never modified.
    lesion_mask : ndarray
        Lesion mask on the volume's voxel grid, KJI.
    parameters : EnhanceParameters or dict, optional
        As for :func:`~.sweep.sweep_enhancements`.
    ring_range : (float, float), optional
        As for :func:`~.sweep.sweep_enhancements` (e.g. ``(-150, 250)`` HU on CT).
    progress : callable, optional
        ``progress(fraction, message)``; may raise :class:`~clinicalimaging.Cancelled`.
    title, x_axis_title, y_axis_title : str, optional
        Texts of the chart (pass translated ones in Slicer).

    Returns
    -------
    read_off : vtkMRMLTableNode
        :func:`~.sweep.sweep_table`: per method the CNR ratio at +25 % and +40 %
        sharpness and the largest sharpness gain reached.
    curves : vtkMRMLTableNode
        Two columns per method, ``<method> sharpness`` and ``<method> CNR``, one row
        per run from the original (1, 1) up; a method with fewer runs repeats its
        last one, which draws nothing new.
    chart : vtkMRMLPlotChartNode
        One scatter-with-lines series per method. The nodes are added to the
        volume's scene only after every run has finished.
    """
    from .sweep import sweep_enhancements, sweep_table

    curves = sweep_enhancements(mrml.voxels_of_volume(volume_node), lesion_mask, mrml.spacing_kji(volume_node),
                                parameters=parameters, ring_range=ring_range, progress=progress)
    scene, name = volume_node.GetScene(), volume_node.GetName()
    read_off = mrml.table_from_rows(sweep_table(curves), name=f"{name}_enhancement_sweep", scene=scene)
    length = max(len(curve) for curve in curves.values())
    rows = [{f"{method} {what}": curve[min(index, len(curve) - 1)][column]
             for method, curve in curves.items() for what, column in (("sharpness", 1), ("CNR", 2))}
            for index in range(length)]
    curve_table = mrml.table_from_rows(rows, name=f"{name}_enhancement_sweep_curves", scene=scene)
    chart = scene.AddNewNodeByClass("vtkMRMLPlotChartNode", f"{name} enhancement sweep")
    for method in curves:
        series = scene.AddNewNodeByClass("vtkMRMLPlotSeriesNode", method)
        series.SetAndObserveTableNodeID(curve_table.GetID())
        series.SetPlotType(series.PlotTypeScatter)
        series.SetXColumnName(f"{method} sharpness")
        series.SetYColumnName(f"{method} CNR")
        series.SetLineStyle(series.LineStyleSolid if method.startswith("FractionalEnhance") else series.LineStyleDash)
        series.SetMarkerStyle(series.MarkerStyleCircle)
        chart.AddAndObservePlotSeriesNodeID(series.GetID())
    chart.SetTitle(title)
    chart.SetXAxisTitle(x_axis_title)
    chart.SetYAxisTitle(y_axis_title)
    return read_off, curve_table, chart


def _copy_window_level(source, target) -> None:
    """Show the output with the input's window/level so the two compare at a glance."""
    source_display, target_display = source.GetDisplayNode(), target.GetDisplayNode()
    if source_display is None or target_display is None or not source_display.IsA("vtkMRMLScalarVolumeDisplayNode"):
        return
    target_display.SetAutoWindowLevel(source_display.GetAutoWindowLevel())
    if not source_display.GetAutoWindowLevel():
        target_display.SetWindowLevel(source_display.GetWindow(), source_display.GetLevel())
