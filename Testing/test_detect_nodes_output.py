"""Detections as MRML outputs: ROI box nodes, the markups list file and the detection table."""

import numpy as np
import pytest

from clinicalimaging import InputError, mrml
from clinicalimaging.detect.detections import OrganBox
from clinicalimaging.detect.evaluation import reference_boxes
from clinicalimaging.detect.nodes_output import (GRADE_ATTRIBUTE, ORGAN_ATTRIBUTE, SCORE_ATTRIBUTE, TABLE_COLUMNS,
                                                 boxes_from_table_file, detection_rows, detection_table,
                                                 roi_nodes_from_boxes)
from clinicalimaging.detect.organs import organ_colour
from clinicalimaging.phantom import make_phantom
from clinicalimaging.phantom_nodes import phantom_volume

BOXES = [
    OrganBox("liver", 0.93456, (-110.25, -40.5, -20.0), (-10.75, 60.0, 80.5), grade=0.12345,
             views=("axial", "coronal")),
    OrganBox("spleen", 0.81, (40.0, 10.0, -5.5), (90.0, 70.25, 60.0), grade=0.5, views=("axial",)),
    OrganBox("kidney_left", 0.5, (30.0, 20.0, -60.0), (70.0, 60.0, 10.0), grade=0.05,
             views=("axial", "coronal", "sagittal")),
]


def ras_bounds(node):
    bounds = [0.0] * 6
    node.GetRASBounds(bounds)
    return np.array(bounds[0::2]), np.array(bounds[1::2])


@pytest.fixture(autouse=True)
def shared_scene_left_as_found():
    """Remove what a test adds to the shared scene (markups files are read into it)."""
    shared = mrml.get_scene()
    before = {shared.GetNthNode(index).GetID() for index in range(shared.GetNumberOfNodes())}
    yield
    for node in [shared.GetNthNode(index) for index in range(shared.GetNumberOfNodes())]:
        if node.GetID() not in before:
            shared.RemoveNode(node)


def test_roi_nodes_hold_the_boxes_of_an_oblique_volume(scene):
    volume, labels = phantom_volume(make_phantom("ct", shape=(10, 40, 36), spacing=(3.0, 1.1, 0.7), oblique=True),
                                    scene=scene)
    reference = reference_boxes(labels, {2: "liver", 3: "spleen", 4: "kidney_left"})
    boxes = [OrganBox(organ, 0.9, tuple(low), tuple(high)) for organ, (low, high) in reference.items()]
    nodes = roi_nodes_from_boxes(boxes, scene=scene)
    assert [node.GetName() for node in nodes] == ["liver", "spleen", "kidney_left"]
    for node, box in zip(nodes, boxes):
        assert node.IsA("vtkMRMLMarkupsROINode") and node.GetScene() is scene
        low, high = ras_bounds(node)
        np.testing.assert_allclose(low, box.ras_min, atol=1e-9)
        np.testing.assert_allclose(high, box.ras_max, atol=1e-9)
        np.testing.assert_allclose(node.GetDisplayNode().GetColor(), organ_colour(box.organ))
        np.testing.assert_allclose(node.GetDisplayNode().GetSelectedColor(), organ_colour(box.organ))
        assert node.GetAttribute(ORGAN_ATTRIBUTE) == box.organ
        assert float(node.GetAttribute(SCORE_ATTRIBUTE)) == 0.9
        assert node.GetAttribute(GRADE_ATTRIBUTE) is None
        assert node.GetDescription() == "score 0.90"
    assert roi_nodes_from_boxes(boxes[:1], scene=scene)[0].GetName() == "liver_1"


def test_replace_updates_the_given_nodes_in_place(scene):
    liver, spleen = roi_nodes_from_boxes(BOXES[:2], scene=scene)
    liver.SetName("my liver")
    moved = OrganBox("liver", 0.7, (0.0, 0.0, 0.0), (10.0, 20.0, 30.0))
    nodes = roi_nodes_from_boxes([moved, BOXES[2]], scene=scene, replace={"liver": liver})
    assert nodes[0] is liver and liver.GetName() == "my liver"
    assert nodes[1] is not spleen and nodes[1].GetName() == "kidney_left"
    low, high = ras_bounds(liver)
    np.testing.assert_allclose(low, [0, 0, 0])
    np.testing.assert_allclose(high, [10, 20, 30])
    assert liver.GetAttribute(GRADE_ATTRIBUTE) is None and liver.GetDescription() == "score 0.70"
    assert float(BOXES[0].grade) == float(roi_nodes_from_boxes(BOXES[:1], scene=scene)[0].GetAttribute(
        GRADE_ATTRIBUTE))
    table = scene.AddNewNodeByClass("vtkMRMLTableNode")
    with pytest.raises(InputError, match="not an ROI"):
        roi_nodes_from_boxes(BOXES[:1], scene=scene, replace={"liver": table})
    with pytest.raises(InputError, match="Several boxes for the organ.*liver"):
        roi_nodes_from_boxes([BOXES[0], BOXES[0]], scene=scene)


def test_a_markups_list_file_round_trips_three_rois(scene, tmp_path):
    nodes = roi_nodes_from_boxes(BOXES, scene=scene)
    path = tmp_path / "organs.mrk.json"
    mrml.write_markups_list(nodes, path)
    assert sorted(file.name for file in tmp_path.iterdir()) == ["organs.mrk.json"]
    read = mrml.read_markups_list(path)
    assert [node.GetName() for node in read] == ["liver", "spleen", "kidney_left"]
    for node, box in zip(read, BOXES):
        assert node.IsA("vtkMRMLMarkupsROINode") and node not in nodes
        low, high = ras_bounds(node)
        np.testing.assert_allclose(low, box.ras_min, atol=1e-6)
        np.testing.assert_allclose(high, box.ras_max, atol=1e-6)
        np.testing.assert_allclose(node.GetDisplayNode().GetColor(), organ_colour(box.organ), atol=1e-6)
        assert node.GetNthControlPointDescription(0).startswith("score ")


def test_markups_lists_can_be_empty_or_read_into_another_scene(scene, tmp_path):
    empty = tmp_path / "none.mrk.json"
    mrml.write_markups_list([], empty)
    assert mrml.read_markups_list(empty) == []
    path = tmp_path / "organs.mrk.json"
    mrml.write_markups_list(roi_nodes_from_boxes(BOXES[:2], scene=scene), path)
    shared = mrml.get_scene()
    nodes_before = shared.GetNumberOfNodes()
    read = mrml.read_markups_list(path, scene=scene)
    assert shared.GetNumberOfNodes() == nodes_before
    assert [node.GetScene() is scene for node in read] == [True, True]
    assert [node.GetName() for node in read] == ["liver_1", "spleen_1"]
    low, high = ras_bounds(read[1])
    np.testing.assert_allclose(low, BOXES[1].ras_min, atol=1e-6)
    np.testing.assert_allclose(high, BOXES[1].ras_max, atol=1e-6)
    with pytest.raises(InputError, match="markups"):
        mrml.write_markups_list([], tmp_path / "organs.json")


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    ("", "empty"),
    ("{\"markups\": 3}", "not a Slicer markups file"),
    ("plain text", "not a Slicer markups file"),
])
def test_bad_markups_list_files_raise_input_error(tmp_path, content, message):
    path = tmp_path / "organs.mrk.json"
    if content is not None:
        path.write_text(content)
    nodes_before = mrml.get_scene().GetNumberOfNodes()
    with pytest.raises(InputError, match=message):
        mrml.read_markups_list(path)
    assert mrml.get_scene().GetNumberOfNodes() == nodes_before


def test_detection_rows_have_the_contract_columns_and_rounding():
    rows = detection_rows(BOXES + [OrganBox("aorta", 0.4, (1.004, 2.0, 3.0), (2.0, 4.0, 6.0))])
    assert [list(row) for row in rows] == [list(TABLE_COLUMNS)] * 4
    assert TABLE_COLUMNS == ("organ", "score", "r_min", "r_max", "a_min", "a_max", "s_min", "s_max", "center_r",
                             "center_a", "center_s", "size_r", "size_a", "size_s", "grade", "views",
                             "grade_experimental")
    liver, aorta = rows[0], rows[3]
    assert liver["score"] == 0.9346 and liver["grade"] == 0.1235 and liver["views"] == "axial+coronal"
    assert (liver["r_min"], liver["center_r"], liver["size_r"]) == (-110.25, -60.5, 99.5)
    assert (liver["center_s"], liver["size_a"]) == (30.25, 100.5)
    assert aorta["r_min"] == 1.0 and aorta["grade"] == "" and aorta["views"] == ""


def test_the_table_file_reads_back_into_the_same_boxes(scene, tmp_path):
    ungraded = OrganBox("aorta", 0.4, (1.0, 2.0, 3.0), (2.0, 4.0, 6.0))
    table = detection_table(BOXES + [ungraded], scene=scene)
    assert table.GetNumberOfRows() == 4 and table.GetNumberOfColumns() == len(TABLE_COLUMNS)
    for name in ("organs.csv", "organs.tsv"):
        mrml.write_table(table, tmp_path / name)
        read = boxes_from_table_file(tmp_path / name)
        assert [box.organ for box in read] == ["liver", "spleen", "kidney_left", "aorta"]
        for back, box in zip(read, BOXES + [ungraded]):
            assert back.ras_min == pytest.approx(box.ras_min) and back.ras_max == pytest.approx(box.ras_max)
            assert back.score == pytest.approx(box.score, abs=5e-5) and back.views == box.views
            assert back.grade == (None if box.grade is None else pytest.approx(box.grade, abs=5e-5))
    assert detection_table(BOXES[:1], scene=scene, node=table) is table and table.GetNumberOfRows() == 1
    mrml.write_table(detection_table([], scene=scene), tmp_path / "none.csv")
    assert boxes_from_table_file(tmp_path / "none.csv") == []


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    ("organ,score\nliver,0.9\n", "lacks the column.*r_min, r_max"),
    ("organ,score,r_min,r_max,a_min,a_max,s_min,s_max\nliver,high,0,1,0,1,0,1\n", "line 2: column 'score'"),
    ("organ,score,r_min,r_max,a_min,a_max,s_min,s_max\nliver,0.9,5,1,0,1,0,1\n", "minimum above its maximum"),
    ("organ,score,r_min,r_max,a_min,a_max,s_min,s_max\nliver,0.9,0,1,0,1,0,1\nliver,0.8,0,1,0,1,0,1\n",
     "Several boxes"),
    ("organ,score,r_min,r_max,a_min,a_max,s_min,s_max\n,0.9,0,1,0,1,0,1\n", "organ name is empty"),
])
def test_bad_table_files_raise_input_error(tmp_path, content, message):
    path = tmp_path / "organs.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError, match=message):
        boxes_from_table_file(path)
