"""The ``pipeline`` command: the whole chain on one volume, every output in one folder."""

import json

import numpy as np
import pytest

from clinicalimaging import mrml
from clinicalimaging.metrics import dice
from test_cli import assert_clean_input_error, digest, run_cli

STAGE_FILES = {"enhanced.nrrd", "order_map.nrrd", "lesion.seg.nrrd", "report.png", "scene.mrb", "summary.json"}


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """The demo's CT phantom and a simulated outline of its liver lesion (label 8), as files."""
    folder = tmp_path_factory.mktemp("case")
    assert run_cli("demo", folder / "demo", "--quiet").returncode == 0
    outline = folder / "outline.mrk.json"
    demo = folder / "demo"
    evaluated = run_cli("evaluate-segmentation", demo / "phantom.nrrd", demo / "phantom_labels.nrrd",
                        "--label-value", 8, "--outline-out", outline, "--quiet")
    assert evaluated.returncode == 0, evaluated.stderr
    return folder / "demo" / "phantom.nrrd", outline, folder / "demo" / "phantom_labels.nrrd"


def test_pipeline_writes_every_output_and_a_summary_of_the_lesion(case, tmp_path):
    image, outline, labels = case
    before = digest(image), digest(outline)

    result = run_cli("pipeline", image, tmp_path / "out", "--outline", outline, "--no-detect")

    assert result.returncode == 0, result.stderr
    assert {path.name for path in (tmp_path / "out").iterdir()} == STAGE_FILES
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["stages"] == ["enhance", "segment"] and summary["model"] is None
    assert summary["inputs"][0] == {"path": str(image), "sha256": digest(image)}
    assert summary["parameters"]["EnhanceParameters"]["mode"] == "adaptive"
    assert set(summary["seconds"]) == {"enhance", "segment"}
    reference = mrml.array_from_volume(mrml.read_volume(labels, labelmap=True)) == 8
    volume = mrml.read_volume(image)
    lesion = mrml.segment_mask(mrml.read_segmentation(tmp_path / "out" / "lesion.seg.nrrd"), "lesion", volume)
    assert dice(lesion, reference) > 0.7
    figures = summary["lesion"]
    assert figures["voxels"] == int(lesion.sum()) and figures["unit"] == "HU"
    assert 0 < figures["perpendicular_diameter_mm"] <= figures["longest_diameter_mm"] < 100
    assert summary["cnr"]["enhanced"] == pytest.approx(summary["cnr"]["original"] * summary["cnr"]["ratio"])
    assert f"lesion {figures['volume_ml']:.2f} mL" in result.stdout
    assert (digest(image), digest(outline)) == before


def test_pipeline_segments_as_the_segment_command_does(case, tmp_path):
    image, outline, _ = case

    chained = run_cli("pipeline", image, tmp_path / "out", "--outline", outline, "--no-detect", "--no-enhance",
                      "--quiet")
    alone = run_cli("segment", image, tmp_path / "alone.nrrd", "--outline", outline, "--quiet")

    assert chained.returncode == alone.returncode == 0, chained.stderr + alone.stderr
    volume = mrml.read_volume(image)
    from_chain = mrml.segment_mask(mrml.read_segmentation(tmp_path / "out" / "lesion.seg.nrrd"), "lesion", volume)
    np.testing.assert_array_equal(from_chain, mrml.array_from_volume(mrml.read_volume(tmp_path / "alone.nrrd")))


def test_the_scene_reloads_with_every_node_linked(case, tmp_path):
    image, outline, _ = case
    assert run_cli("pipeline", image, tmp_path / "out", "--outline", outline, "--no-detect", "--quiet").returncode == 0

    scene = mrml.read_scene_bundle(tmp_path / "out" / "scene.mrb")

    volumes = {node.GetName(): node for node in _nodes(scene, "vtkMRMLScalarVolumeNode")}
    assert {"phantom", "phantom_enhanced"} <= set(volumes)
    segmentation, = _nodes(scene, "vtkMRMLSegmentationNode")
    assert segmentation.GetSegmentation().GetSegmentIdBySegmentName("lesion")
    assert segmentation.GetDisplayNode() is not None and volumes["phantom_enhanced"].GetDisplayNode() is not None
    np.testing.assert_allclose(mrml.ijk_to_ras(volumes["phantom_enhanced"]), mrml.ijk_to_ras(volumes["phantom"]))
    selection = scene.GetNodeByID("vtkMRMLSelectionNodeSingleton")
    assert selection.GetActiveVolumeID() == volumes["phantom_enhanced"].GetID()  # what Slicer shows first


def test_pipeline_with_a_detector_writes_the_organ_rois(tiny_detector, tmp_path):
    from test_cli_detect import write_case

    image = write_case(tmp_path)["image"]  # a phantom like those the tiny detector learnt from

    result = run_cli("pipeline", image, tmp_path / "out", "--model", tiny_detector[1], "--views", "axial")

    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["stages"] == ["enhance", "detect"] and summary["organs"] and summary["lesion"] is None
    assert summary["model"]["sha256"] == digest(tiny_detector[1]) and summary["device"].startswith("CPU")
    rois = mrml.read_markups_list(tmp_path / "out" / "organs.mrk.json")
    assert sorted(node.GetName() for node in rois) == sorted(organ["organ"] for organ in summary["organs"])
    assert f"{len(rois)} organs found" in result.stdout


@pytest.mark.parametrize("mistake", ["missing outline", "missing parent"])
def test_bad_input_is_one_line_and_leaves_nothing(case, tmp_path, mistake):
    image, outline, _ = case
    out = tmp_path / ("missing" if mistake == "missing parent" else "") / "out"
    given = tmp_path / "absent.mrk.json" if mistake == "missing outline" else outline

    result = run_cli("pipeline", image, out, "--outline", given, "--no-detect")

    assert_clean_input_error(result)
    assert list(tmp_path.iterdir()) == []


def _nodes(scene, node_class):
    """The scene's nodes of a class (label maps left out of scalar volumes)."""
    nodes = scene.GetNodesByClass(node_class)
    found = [nodes.GetItemAsObject(index) for index in range(nodes.GetNumberOfItems())]
    return [node for node in found if node_class != "vtkMRMLScalarVolumeNode"
            or not node.IsA("vtkMRMLLabelMapVolumeNode")]
