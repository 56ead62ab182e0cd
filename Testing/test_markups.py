"""Markups (outline points) through MRML: write, read, and map to voxel coordinates."""

import numpy as np
import pytest

from clinicalimaging import InputError, mrml
from clinicalimaging.phantom import make_phantom
from clinicalimaging.phantom_nodes import phantom_volume


@pytest.fixture(scope="module")
def oblique_volume():
    volume, labels = phantom_volume(make_phantom("mr", shape=(8, 40, 48), spacing=(3.0, 0.8, 0.6), oblique=True))
    yield volume
    for node in (volume, labels):
        node.GetScene().RemoveNode(node)


def test_points_round_trip_through_a_markups_file(oblique_volume, tmp_path):
    angles = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    points = np.c_[np.full(12, 4.0), 20 + 6 * np.sin(angles), 24 + 9 * np.cos(angles)]
    curve = mrml.markups_from_points(points, oblique_volume, name="outline")
    assert curve.IsA("vtkMRMLMarkupsClosedCurveNode") and curve.GetNumberOfControlPoints() == 12
    path = tmp_path / "outline.mrk.json"
    mrml.write_markups(curve, path)
    assert sorted(file.name for file in tmp_path.iterdir()) == ["outline.mrk.json"]
    read = mrml.read_markups(path)
    assert read.IsA("vtkMRMLMarkupsClosedCurveNode")
    np.testing.assert_allclose(mrml.points_kji(read, oblique_volume), points, atol=1e-6)


def test_point_lists_are_read_too(oblique_volume, tmp_path):
    points = np.array([[1.0, 2.0, 3.0], [2.0, 5.0, 7.0], [3.0, 9.0, 1.0]])
    path = tmp_path / "seeds.mrk.json"
    mrml.write_markups(mrml.markups_from_points(points, oblique_volume, closed=False), path)
    read = mrml.read_markups(path)
    assert read.IsA("vtkMRMLMarkupsFiducialNode")
    np.testing.assert_allclose(mrml.points_kji(read, oblique_volume), points, atol=1e-6)


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    ("", "empty"),
    ("{\"not\": \"markups\"}", "not a readable Slicer markups"),
    ("plain text", "not a readable Slicer markups"),
])
def test_bad_points_files_raise_input_error(tmp_path, content, message):
    path = tmp_path / "points.mrk.json"
    if content is not None:
        path.write_text(content)
    nodes_before = mrml.get_scene().GetNumberOfNodes()
    with pytest.raises(InputError, match=message):
        mrml.read_markups(path)
    assert mrml.get_scene().GetNumberOfNodes() == nodes_before


def test_a_markups_file_without_points_is_refused(oblique_volume, tmp_path):
    empty = mrml.get_scene().AddNewNodeByClass("vtkMRMLMarkupsClosedCurveNode", "empty")
    path = tmp_path / "empty.mrk.json"
    mrml.write_markups(empty, path)
    with pytest.raises(InputError, match="no points"):
        mrml.read_markups(path)


def test_a_folder_is_not_an_outline_file(tmp_path):
    (tmp_path / "outline.mrk.json").mkdir()
    with pytest.raises(InputError, match="is a folder, not a file"):
        mrml.read_markups(tmp_path / "outline.mrk.json")


@pytest.mark.parametrize("system, sign", [("LPS", -1.0), ("RAS", 1.0), (None, -1.0)])
def test_a_hand_written_outline_with_only_the_documented_keys_is_read(tmp_path, system, sign):
    import json

    import slicer

    markup = {"type": "ClosedCurve", "controlPoints": [{"position": [1.0, 2.0, 3.0]}, {"position": [4.0, 5.0, 3.0]},
                                                       {"position": [7.0, 2.0, 3.0]}]}
    if system:
        markup["coordinateSystem"] = system
    path = tmp_path / "outline.mrk.json"
    path.write_text(json.dumps({"markups": [markup]}))
    node = mrml.read_markups(path)
    assert node.IsA("vtkMRMLMarkupsClosedCurveNode")
    np.testing.assert_allclose(slicer.util.arrayFromMarkupsControlPoints(node)[0], [sign * 1.0, sign * 2.0, 3.0])


def test_points_file_must_be_json(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("1,2,3\n")
    with pytest.raises(InputError, match=".mrk.json"):
        mrml.read_markups(path)


def _roi(name, centre):
    """A Markups ROI box, as OrganDetect makes one per organ."""
    roi = mrml.get_scene().AddNewNodeByClass("vtkMRMLMarkupsROINode", name)
    roi.SetXYZ(*centre)
    roi.SetRadiusXYZ(20.0, 15.0, 30.0)
    return roi


def test_an_roi_box_file_is_named_as_such_and_what_an_outline_is_is_said(tmp_path):
    import slicer

    boxes = [_roi("liver", (60.0, 20.0, -10.0)), _roi("spleen", (-70.0, 30.0, 0.0))]
    path = tmp_path / "organs.mrk.json"
    mrml.write_markups_list(boxes, path)  # as 'clinicalimaging detect' writes its organ boxes
    for box in boxes:
        box.GetScene().RemoveNode(box)
    before = len(slicer.util.getNodesByClass("vtkMRMLMarkupsNode"))

    with pytest.raises(InputError) as error:
        mrml.read_markups(path)

    message = str(error.value)
    assert message.startswith(f"Outline file '{path}' holds an ROI box") and "not an outline" in message
    assert "An outline is a closed curve, open curve or point list of at least 3 points" in message
    assert "got 1" not in message
    assert len(slicer.util.getNodesByClass("vtkMRMLMarkupsNode")) == before


def test_a_line_is_not_an_outline_either(tmp_path):
    line = mrml.get_scene().AddNewNodeByClass("vtkMRMLMarkupsLineNode", "ruler")
    line.AddControlPoint(0.0, 0.0, 0.0)
    line.AddControlPoint(10.0, 0.0, 0.0)
    mrml.write_markups(line, tmp_path / "ruler.mrk.json")
    line.GetScene().RemoveNode(line)

    with pytest.raises(InputError, match="holds a markups Line, not an outline"):
        mrml.read_markups(tmp_path / "ruler.mrk.json")


def test_the_file_coordinate_system_is_kept_on_the_node(oblique_volume, tmp_path):
    from clinicalimaging.mrml.markups import COORDINATE_SYSTEM_ATTRIBUTE

    path = tmp_path / "outline.mrk.json"
    mrml.write_markups(mrml.markups_from_points([[1.0, 2.0, 3.0], [2.0, 5.0, 7.0], [1.0, 9.0, 1.0]], oblique_volume),
                       path)

    assert mrml.read_markups(path).GetAttribute(COORDINATE_SYSTEM_ATTRIBUTE) == "LPS"

