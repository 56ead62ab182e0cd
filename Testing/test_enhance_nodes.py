"""Node-level fractional enhancement and comparison on real MRML nodes (slicer-core)."""

import numpy as np
import pytest

from clinicalimaging import Cancelled, InputError, mrml
from clinicalimaging.enhance import EnhanceParameters
from clinicalimaging.enhance.compare import compare_enhancements
from clinicalimaging.enhance.nodes import (COMPARISON_CHART_REFERENCE, PARAMETERS_ATTRIBUTE, comparison_chart,
                                           comparison_table, enhance_volume, sweep_nodes)
from clinicalimaging.enhance.sweep import SWEEPS
from clinicalimaging.phantom import make_phantom
from clinicalimaging.phantom_nodes import phantom_volume


@pytest.fixture
def oblique_volume():
    phantom = make_phantom("mr", shape=(8, 48, 40), spacing=(3.5, 0.9, 0.7), oblique=True, seed=2)
    volume, labels = phantom_volume(phantom, name="oblique")
    yield volume
    for node in (volume, labels):
        node.GetScene().RemoveNode(node)


def _new_volume(name):
    return mrml.get_scene().AddNewNodeByClass("vtkMRMLScalarVolumeNode", name)


def test_outputs_have_the_input_geometry_and_the_input_is_unchanged(oblique_volume):
    before_array = mrml.array_from_volume(oblique_volume)
    before_matrix = mrml.ijk_to_ras(oblique_volume)
    order_map, fractal_map = _new_volume("order"), _new_volume("fractal")
    output = enhance_volume(oblique_volume, None, EnhanceParameters(mask="3d"), order_map_node=order_map,
                            fractal_map_node=fractal_map)
    assert not np.allclose(before_matrix[:3, :3] / np.linalg.norm(before_matrix[:3, :3], axis=0), np.eye(3))
    for node in (output, order_map, fractal_map):
        np.testing.assert_allclose(mrml.ijk_to_ras(node), before_matrix, atol=1e-9)
        assert mrml.array_from_volume(node).shape == before_array.shape
    np.testing.assert_array_equal(mrml.array_from_volume(oblique_volume), before_array)
    np.testing.assert_allclose(mrml.ijk_to_ras(oblique_volume), before_matrix)
    assert output.GetName() == "oblique_enhanced"
    assert EnhanceParameters.from_json(output.GetAttribute(PARAMETERS_ATTRIBUTE)).mask == "3d"
    assert not np.array_equal(mrml.array_from_volume(output), before_array)


def test_order_map_is_aligned_with_the_fractal_map(oblique_volume):
    order_map, fractal_map = _new_volume("order"), _new_volume("fractal")
    enhance_volume(oblique_volume, _new_volume("out"), {"mode": "paper"}, order_map_node=order_map,
                   fractal_map_node=fractal_map)
    from clinicalimaging.enhance.order_map import paper_order_map
    np.testing.assert_allclose(mrml.array_from_volume(order_map),
                               paper_order_map(mrml.array_from_volume(fractal_map)), rtol=1e-6)


def test_cancel_leaves_the_output_node_untouched(oblique_volume):
    output = mrml.new_volume_like(oblique_volume, np.zeros(mrml.array_from_volume(oblique_volume).shape, np.int16))
    with pytest.raises(Cancelled):
        enhance_volume(oblique_volume, output, progress=lambda fraction, message: fraction < 0.5)
    assert not mrml.array_from_volume(output).any()


def test_bad_nodes_raise_input_error(oblique_volume):
    with pytest.raises(InputError, match="output is the input"):
        enhance_volume(oblique_volume, oblique_volume)
    same = _new_volume("same")
    with pytest.raises(InputError, match="two outputs"):
        enhance_volume(oblique_volume, same, order_map_node=same)
    with pytest.raises(InputError, match="No input volume"):
        enhance_volume(_new_volume("empty"))
    rgb = mrml.get_scene().AddNewNodeByClass("vtkMRMLVectorVolumeNode", "rgb")
    import vtk
    image = vtk.vtkImageData()
    image.SetDimensions(8, 8, 2)
    image.AllocateScalars(vtk.VTK_UNSIGNED_CHAR, 3)
    rgb.SetAndObserveImageData(image)
    with pytest.raises(InputError, match="components"):
        enhance_volume(rgb)
    constant = mrml.new_volume_like(oblique_volume, np.full(mrml.array_from_volume(oblique_volume).shape, 7, np.int16))
    with pytest.raises(InputError, match="constant"):
        enhance_volume(constant)


METHODS = ["original", "constant order 0.5", "CLAHE", "unsharp mask", "Laplacian sharpening", "paper mode",
           "default mode"]
COLUMNS = ["method", "cnr", "cnr_ratio", "cnr_pooled", "noise_std", "edge_sharpness", "lesion_mean",
           "background_mean"]


@pytest.fixture(scope="module")
def compare_nodes():
    phantom = make_phantom("mr", shape=(10, 64, 64), spacing=(3.0, 1.0, 1.0))
    volume, labels = phantom_volume(phantom, name="compare_phantom")
    yield volume, mrml.label_mask_like(labels, volume, phantom.lesion_label)
    for node in (volume, labels):
        node.GetScene().RemoveNode(node)


def test_comparison_table_on_phantom_nodes(compare_nodes):
    volume, mask = compare_nodes
    before = mrml.array_from_volume(volume)
    parameters = EnhanceParameters(strength=0.5)
    table = comparison_table(volume, mask, parameters=parameters)
    assert table.IsA("vtkMRMLTableNode") and table.GetScene() is volume.GetScene()
    assert table.GetNumberOfRows() == len(METHODS)
    assert [table.GetColumnName(index) for index in range(table.GetNumberOfColumns())] == COLUMNS
    assert [table.GetCellText(row, 0) for row in range(len(METHODS))] == METHODS
    assert float(table.GetCellText(0, COLUMNS.index("cnr_ratio"))) == 1.0
    rows = compare_enhancements(before, mask, mrml.spacing_kji(volume), parameters=parameters)
    cnr = table.GetTable().GetColumnByName("cnr")
    assert [cnr.GetValue(row) for row in range(len(METHODS))] == pytest.approx([row["cnr"] for row in rows])
    np.testing.assert_array_equal(mrml.array_from_volume(volume), before)
    assert comparison_table(volume, mask, parameters=parameters.to_dict(), table_node=table) is table
    assert table.GetNumberOfRows() == len(METHODS)
    table.GetScene().RemoveNode(table)


def test_comparison_chart_is_a_cnr_bar_chart_made_once_per_table(compare_nodes):
    volume, mask = compare_nodes
    scene = volume.GetScene()
    table = comparison_table(volume, mask)
    charts = scene.GetNumberOfNodesByClass("vtkMRMLPlotChartNode")
    chart = comparison_chart(table, title="CNR", y_axis_title="contrast-to-noise ratio")
    assert chart.IsA("vtkMRMLPlotChartNode") and chart.GetScene() is scene
    assert table.GetNodeReference(COMPARISON_CHART_REFERENCE) is chart
    assert (chart.GetTitle(), chart.GetXAxisTitle(), chart.GetYAxisTitle()) == ("CNR", "Method",
                                                                               "contrast-to-noise ratio")
    assert chart.GetNumberOfPlotSeriesNodes() == 1
    series = chart.GetNthPlotSeriesNode(0)
    assert series.GetPlotType() == series.PlotTypeBar
    assert series.GetTableNode() is table
    assert (series.GetLabelColumnName(), series.GetYColumnName()) == ("method", "cnr")
    # Refilling the table and charting it again reuses the chart and its series.
    comparison_table(volume, mask, parameters={"strength": 0.5}, table_node=table)
    assert comparison_chart(table) is chart and chart.GetNthPlotSeriesNode(0) is series
    assert chart.GetTitle() == "Contrast-to-noise ratio around the lesion"
    assert scene.GetNumberOfNodesByClass("vtkMRMLPlotChartNode") == charts + 1
    for node in (series, chart, table):
        scene.RemoveNode(node)



def test_sweep_nodes_hold_the_read_off_table_the_curves_and_one_series_per_method(compare_nodes):
    volume, mask = compare_nodes
    scene = volume.GetScene()
    before = mrml.array_from_volume(volume)
    read_off, curves, chart = sweep_nodes(volume, mask, x_axis_title="sharpness")
    assert read_off.GetScene() is scene and curves.GetScene() is scene and chart.GetScene() is scene
    assert [read_off.GetCellText(row, 0) for row in range(read_off.GetNumberOfRows())] == list(SWEEPS)
    assert curves.GetNumberOfColumns() == 2 * len(SWEEPS)
    assert curves.GetNumberOfRows() == 1 + max(len(sweep.strengths) for sweep in SWEEPS.values())
    first = curves.GetTable().GetColumnByName("unsharp mask sharpness")
    assert first.GetValue(0) == 1.0 and first.GetValue(1) > 1.0
    assert chart.GetNumberOfPlotSeriesNodes() == len(SWEEPS) and chart.GetXAxisTitle() == "sharpness"
    series = chart.GetNthPlotSeriesNode(0)
    assert series.GetTableNode() is curves and series.GetPlotType() == series.PlotTypeScatter
    assert (series.GetXColumnName(), series.GetYColumnName()) == ("unsharp mask sharpness", "unsharp mask CNR")
    np.testing.assert_array_equal(mrml.array_from_volume(volume), before)
    for index in reversed(range(chart.GetNumberOfPlotSeriesNodes())):
        scene.RemoveNode(chart.GetNthPlotSeriesNode(index))
    for node in (chart, curves, read_off):
        scene.RemoveNode(node)
