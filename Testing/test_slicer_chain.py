"""The chain inside Slicer, without Slicer: the panels' hand-over to Self-Paced Segment and the batch-mode script.

:mod:`clinicalimaging.slicer_chain` writes another module's parameter node on a
slicer-core scene and segments the organ of an Organ Detect box (that panel's "Segment
this organ"); :mod:`clinicalimaging.slicer_batch` (the work of
``SelfPacedSegment/Resources/Scripts/batch_chain.py``) runs on phantom case folders, each
case in a standalone scene, organ detection in a child process. That the written
parameter node reads back through Self-Paced Segment's real ``parameterNodeWrapper``, that
the button segments and hands over in a panel, and that the script runs as ``Slicer
--python-script`` runs it, is checked by the Slicer-runtime tier (``test_slicer_runtime.py``).
"""

import csv
import importlib.util
import io
import json
import runpy
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import slicer

from clinicalimaging import mrml, slicer_batch
from clinicalimaging.detect.detections import OrganBox
from clinicalimaging.detect.reference import reference_boxes_in_array
from clinicalimaging.detect.nodes_output import roi_nodes_from_boxes
from clinicalimaging.errors import Cancelled, InputError
from clinicalimaging.metrics import dice
from clinicalimaging.phantom import make_phantom
from clinicalimaging.phantom_nodes import phantom_volume
from clinicalimaging.slicer_chain import (
    SEED_OUTLINE_REFERENCE,
    SEGMENT_ENHANCE_FIRST_PARAMETER,
    SEGMENT_INPUT_PARAMETER,
    SEGMENT_MODULE,
    SEGMENT_OUTLINE_CLASSES,
    SEGMENT_OUTLINE_PARAMETER,
    SEGMENT_OUTPUT_PARAMETER,
    SEGMENT_REGION_PARAMETER,
    module_parameter_node,
    organ_box_from_roi,
    segment_enhanced_volume,
    segment_organ_box,
    segment_organ_region,
    set_module_parameters,
)
from test_pipeline_target_organ import LIVER_LABELS

REPOSITORY = Path(__file__).resolve().parents[1]
SCRIPT = REPOSITORY / "SelfPacedSegment" / "Resources" / "Scripts" / "batch_chain.py"
_spec = importlib.util.spec_from_file_location("_write_cases", REPOSITORY / "Testing" / "slicer_runtime" /
                                               "write_cases.py")
write_cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(write_cases)
OUTPUTS = {"enhanced.nrrd", "order_map.nrrd", "report.png", "scene.mrb", "summary.json"}
DETECTION_INSTALLED = all(importlib.util.find_spec(name) is not None for name in ("keras", "tensorflow"))


def _volume(scene, name="ct", *, cls="vtkMRMLScalarVolumeNode", voxels=True):
    node = scene.AddNewNodeByClass(cls, name)
    if voxels:
        node.SetSpacing(2.0, 2.0, 2.0)
        slicer.util.updateVolumeFromArray(node, np.zeros((8, 10, 12), np.int16))
    return node


def _box(scene, center=(10.0, 8.0, 6.0), size=(6.0, 6.0, 4.0)):
    roi = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "liver")
    roi.SetCenter(*center)
    roi.SetSize(*size)
    return roi


def _modified_events(node):
    events = []
    node.AddObserver("ModifiedEvent", lambda caller, event: events.append(event))
    return events


# ---------------------------------------------------------------------------------------------
# The hand-over to Self-Paced Segment


def test_parameter_node_is_created_as_slicer_creates_it_and_found_again(scene):
    node = module_parameter_node(scene, SEGMENT_MODULE)

    assert node.IsA("vtkMRMLScriptedModuleNode") and node.GetScene() is scene
    assert node.GetSingletonTag() == SEGMENT_MODULE and node.GetAttribute("ModuleName") == SEGMENT_MODULE
    assert node.GetName() == SEGMENT_MODULE
    node.RemoveAttribute("ModuleName")  # as closing the scene does
    assert module_parameter_node(scene, SEGMENT_MODULE) is node
    assert node.GetAttribute("ModuleName") == SEGMENT_MODULE
    assert scene.GetNumberOfNodesByClass("vtkMRMLScriptedModuleNode") == 1


def test_enhanced_volume_becomes_the_input_and_is_not_enhanced_again(scene):
    enhanced = _volume(scene, "ct_enhanced")
    node = module_parameter_node(scene, SEGMENT_MODULE)
    node.SetParameter(SEGMENT_ENHANCE_FIRST_PARAMETER, "True")
    events = _modified_events(node)

    assert segment_enhanced_volume(scene, enhanced.GetID()) is node

    # The layout of Slicer's parameterNodeWrapper: a node member is an empty parameter plus a reference.
    assert node.GetParameter(SEGMENT_INPUT_PARAMETER) == "" and node.HasParameter(SEGMENT_INPUT_PARAMETER)
    assert node.GetNodeReference(SEGMENT_INPUT_PARAMETER) is enhanced
    assert node.GetParameter(SEGMENT_ENHANCE_FIRST_PARAMETER) == "False"
    assert events, "a panel bound to the node would not hear of the change"


def test_handing_over_again_replaces_the_input_and_keeps_the_rest(scene):
    first, second = _volume(scene, "first"), _volume(scene, "second")
    box = _box(scene)
    segment_organ_region(scene, box.GetID(), first.GetID())

    node = segment_enhanced_volume(scene, second.GetID())

    assert node.GetNodeReference(SEGMENT_INPUT_PARAMETER) is second
    assert node.GetNodeReference(SEGMENT_REGION_PARAMETER) is box
    assert node.GetNumberOfNodeReferences(SEGMENT_INPUT_PARAMETER) == 1


def test_a_missing_node_changes_nothing(scene):
    volume = _volume(scene)

    with pytest.raises(InputError, match="not in the scene"):
        set_module_parameters(scene, SEGMENT_MODULE, nodes={"inputVolume": volume.GetID(), "outline": "vtkMRMLX9"})

    assert scene.GetNumberOfNodesByClass("vtkMRMLScriptedModuleNode") == 0


@pytest.mark.parametrize("kind", ["none", "label map", "no voxels", "segmentation"])
def test_only_a_scalar_volume_with_voxels_is_handed_over(scene, kind):
    node_id = {"none": lambda: None,
               "label map": lambda: _volume(scene, cls="vtkMRMLLabelMapVolumeNode").GetID(),
               "no voxels": lambda: _volume(scene, voxels=False).GetID(),
               "segmentation": lambda: scene.AddNewNodeByClass("vtkMRMLSegmentationNode").GetID()}[kind]()

    with pytest.raises(InputError, match="(scalar volume|holds no voxels)"):
        segment_enhanced_volume(scene, node_id)

    assert scene.GetNumberOfNodesByClass("vtkMRMLScriptedModuleNode") == 0


def test_organ_box_becomes_the_region_and_its_volume_the_input(scene):
    volume, box = _volume(scene), _box(scene)
    node = module_parameter_node(scene, SEGMENT_MODULE)
    node.SetParameter(SEGMENT_ENHANCE_FIRST_PARAMETER, "True")

    segment_organ_region(scene, box.GetID(), volume.GetID())

    assert node.GetNodeReference(SEGMENT_INPUT_PARAMETER) is volume
    assert node.GetNodeReference(SEGMENT_REGION_PARAMETER) is box
    assert node.GetParameter(SEGMENT_REGION_PARAMETER) == ""
    assert node.GetParameter(SEGMENT_ENHANCE_FIRST_PARAMETER) == "True"  # the user's choice stays


def test_organ_box_must_be_a_box_inside_its_volume(scene):
    volume = _volume(scene)
    far = _box(scene, center=(500.0, 500.0, 500.0))
    points = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode")

    with pytest.raises(InputError, match="lies outside the volume"):
        segment_organ_region(scene, far.GetID(), volume.GetID())
    for roi_id in (None, points.GetID()):
        with pytest.raises(InputError, match="No organ box"):
            segment_organ_region(scene, roi_id, volume.GetID())
    with pytest.raises(InputError, match="No volume of the organ box"):
        segment_organ_region(scene, _box(scene).GetID(), None)
    assert scene.GetNumberOfNodesByClass("vtkMRMLScriptedModuleNode") == 0


# ---------------------------------------------------------------------------------------------
# Organ Detect's "Segment this organ": the organ of a box segmented, then handed over

#: A phantom whose liver segments in seconds: (K, J, I) voxels, their spacing (mm) and the seed.
ORGAN_PHANTOM = {"shape": (16, 64, 64), "spacing": (5.0, 1.5, 1.5), "seed": 700}
#: Dice of the liver segmented from its true box against the phantom's: 0.952 measured.
ORGAN_DICE = 0.9


def _organ_case(scene):
    """A CT phantom, its liver (and the lesion in it) and an ROI on the liver's true box as Organ Detect makes it."""
    phantom = make_phantom("ct", **ORGAN_PHANTOM)
    volume, _ = phantom_volume(phantom, scene=scene, name="phantom")
    liver = np.isin(phantom.labels, LIVER_LABELS)
    low, high = reference_boxes_in_array(liver.astype(np.uint8), phantom.ijk_to_ras, {1: "liver"})["liver"]
    roi, = roi_nodes_from_boxes([OrganBox("liver", 0.9, tuple(low), tuple(high))], scene=scene)
    return volume, roi, liver


def _node_ids(scene):
    return {scene.GetNthNode(index).GetID() for index in range(scene.GetNumberOfNodes())}


def test_the_organ_of_a_box_is_segmented_and_named_after_it(scene):
    volume, roi, liver = _organ_case(scene)
    roi.SetName("liver_1")  # a second ROI of the organ in the scene: the organ comes from the node's attribute
    voxels, before = mrml.array_from_volume(volume).copy(), _node_ids(scene)
    reports = []

    segmentation = segment_organ_box(volume, roi, progress=lambda fraction, message: reports.append(fraction))

    segments = segmentation.GetSegmentation()
    assert [segments.GetNthSegment(index).GetName() for index in range(segments.GetNumberOfSegments())] == ["liver"]
    assert dice(mrml.segment_mask(segmentation, "liver", volume), liver) > ORGAN_DICE
    assert segmentation.GetName() == "phantom_liver" and segmentation.GetDisplayNode().GetVisibility()
    geometry = scene.AddNewNodeByClass("vtkMRMLSegmentationNode")
    geometry.SetReferenceImageGeometryParameterFromVolumeNode(volume)
    name = slicer.vtkSegmentationConverter.GetReferenceImageGeometryParameterName()
    assert segments.GetConversionParameter(name) == geometry.GetSegmentation().GetConversionParameter(name)
    seed = segmentation.GetNodeReference(SEED_OUTLINE_REFERENCE)
    assert seed.IsA("vtkMRMLMarkupsFiducialNode") and seed.GetName() == "liver seed outline"
    assert not seed.GetDisplayNode().GetPointLabelsVisibility()
    assert reports[0] == 0.0 and reports[-1] == 1.0
    np.testing.assert_array_equal(mrml.array_from_volume(volume), voxels)
    added = {scene.GetNodeByID(node_id).GetClassName() for node_id in _node_ids(scene) - before}
    assert {"vtkMRMLSegmentationNode", "vtkMRMLMarkupsFiducialNode"} <= added


def test_an_roi_gives_back_the_box_it_was_made_from(scene):
    box = OrganBox("kidney_left", 0.42, (-80.5, 10.25, -3.0), (-40.0, 60.0, 52.75))
    roi, = roi_nodes_from_boxes([box], scene=scene)
    drawn = _box(scene, center=(1.0, 2.0, 3.0), size=(10.0, 20.0, 30.0))
    drawn.SetName("Spleen")

    found = organ_box_from_roi(roi)
    by_name = organ_box_from_roi(drawn)

    assert (found.organ, found.score) == ("kidney_left", 0.42)
    np.testing.assert_allclose([found.ras_min, found.ras_max], [box.ras_min, box.ras_max], atol=1e-9)
    assert (by_name.organ, by_name.score) == ("Spleen", 1.0)  # drawn by hand: no attribute, its name
    np.testing.assert_allclose([by_name.ras_min, by_name.ras_max], [(-4.0, -8.0, -12.0), (6.0, 12.0, 18.0)])
    drawn.SetSize(10.0, 0.0, 30.0)
    with pytest.raises(InputError, match="no extent"):
        organ_box_from_roi(drawn)


@pytest.mark.parametrize("problem, words", [
    ("box outside the volume", "lies outside the volume"),
    ("no box", "No organ box"),
    ("a label map", "No volume of the organ box"),
    ("region not told from its surroundings", "could not be segmented in the box 'liver': "),
])
def test_a_box_that_cannot_be_segmented_leaves_no_node(scene, problem, words):
    volume, roi = _volume(scene), _box(scene, center=(8.0, 8.0, 6.0), size=(12.0, 12.0, 10.0))
    noise = np.random.default_rng(0).normal(40.0, 5.0, (12, 20, 20)).astype(np.int16)  # no organ to tell apart
    slicer.util.updateVolumeFromArray(volume, noise)
    if problem == "box outside the volume":
        roi.SetCenter(500.0, 500.0, 500.0)
    elif problem == "no box":
        roi = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode")
    elif problem == "a label map":
        volume = _volume(scene, cls="vtkMRMLLabelMapVolumeNode")
    before = _node_ids(scene)

    with pytest.raises(InputError, match=words):
        segment_organ_box(volume, roi)

    assert _node_ids(scene) == before


def test_a_cancel_during_the_segmentation_leaves_no_node(scene):
    volume, roi, _ = _organ_case(scene)
    before, reports = _node_ids(scene), []

    def progress(fraction, message):
        reports.append(message)
        return len(reports) < 2  # the segmentation's first report: the outline points are in the scene by then

    with pytest.raises(Cancelled):
        segment_organ_box(volume, roi, progress=progress)

    assert len(reports) == 2 and _node_ids(scene) == before


def test_the_organ_segmentation_becomes_the_output_and_its_points_the_outline(scene):
    volume, roi = _volume(scene), _box(scene)
    segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "ct_liver")
    seed = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "liver seed outline")
    segmentation.SetNodeReferenceID(SEED_OUTLINE_REFERENCE, seed.GetID())
    curve = scene.AddNewNodeByClass("vtkMRMLMarkupsClosedCurveNode")
    node = set_module_parameters(scene, SEGMENT_MODULE, choice_nodes={
        SEGMENT_OUTLINE_PARAMETER: (SEGMENT_OUTLINE_CLASSES, curve.GetID())})
    assert node.GetNodeReference(f"{SEGMENT_OUTLINE_PARAMETER}.0") is curve
    node.SetParameter(f"{SEGMENT_OUTLINE_PARAMETER}.2", "True")  # what the wrapper writes for None

    segment_organ_region(scene, roi.GetID(), volume.GetID(), segmentation.GetID())

    assert node.GetNodeReference(SEGMENT_INPUT_PARAMETER) is volume
    assert node.GetNodeReference(SEGMENT_REGION_PARAMETER) is roi
    assert node.GetNodeReference(SEGMENT_OUTPUT_PARAMETER) is segmentation
    # The wrapper's Optional[Union[closed curve, point list]]: the node under the position of its class, nothing else.
    assert node.GetParameter(f"{SEGMENT_OUTLINE_PARAMETER}.1") == ""
    assert node.GetNodeReference(f"{SEGMENT_OUTLINE_PARAMETER}.1") is seed
    for other in (0, 2):
        assert not node.HasParameter(f"{SEGMENT_OUTLINE_PARAMETER}.{other}")
        assert node.GetNodeReference(f"{SEGMENT_OUTLINE_PARAMETER}.{other}") is None


def test_a_node_of_none_of_a_members_classes_changes_nothing(scene):
    volume = _volume(scene)

    with pytest.raises(InputError, match="not one of vtkMRMLMarkupsClosedCurveNode"):
        set_module_parameters(scene, SEGMENT_MODULE, nodes={SEGMENT_INPUT_PARAMETER: volume.GetID()},
                              choice_nodes={SEGMENT_OUTLINE_PARAMETER: (SEGMENT_OUTLINE_CLASSES, volume.GetID())})
    with pytest.raises(InputError, match="No organ segmentation"):
        segment_organ_region(scene, _box(scene).GetID(), volume.GetID(), volume.GetID())

    assert scene.GetNumberOfNodesByClass("vtkMRMLScriptedModuleNode") == 0


# ---------------------------------------------------------------------------------------------
# The batch-mode script's work


def _run(*argv, **options):
    """``run_batch(argv)``: ``(status, stdout, stderr)``."""
    stdout, stderr = io.StringIO(), io.StringIO()
    status = slicer_batch.run_batch([str(argument) for argument in argv], stdout=stdout, stderr=stderr, **options)
    return status, stdout.getvalue(), stderr.getvalue()


def _case_lines(stdout):
    return [line for line in stdout.splitlines() if not line.startswith(tuple("0123456789"))]


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    """INDIR with ``outlined.nrrd`` (and ``outlined.mrk.json``) and ``plain.nrrd``."""
    return write_cases.write_cases(tmp_path_factory.mktemp("batch") / "in")


@pytest.fixture(scope="module")
def plain_only(cases, tmp_path_factory):
    """INDIR holding only the case without an outline (no segmentation: a case takes a second)."""
    folder = tmp_path_factory.mktemp("plain") / "in"
    folder.mkdir()
    shutil.copy2(cases / "plain.nrrd", folder / "plain.nrrd")
    return folder


@pytest.fixture(scope="module")
def batch_run(cases, tmp_path_factory):
    """One run on both cases without detection: ``(status, stdout, stderr, OUTDIR)``."""
    output = tmp_path_factory.mktemp("batch-out") / "out"
    return (*_run("--", cases, output, "--no-detect", command=["batch_chain.py", "test"]), output)


def test_batch_writes_one_complete_folder_per_case(batch_run, cases):
    status, stdout, stderr, output = batch_run

    assert status == slicer_batch.EXIT_SUCCESS, stdout + stderr
    lines = _case_lines(stdout)
    assert [line.split(":")[0] for line in lines] == ["outlined", "plain"] and all(": done in " in line
                                                                                  for line in lines), stdout
    assert "lesion " in lines[0] and "2 of 2 cases done, 0 failed" in stdout
    assert sorted(path.name for path in output.iterdir()) == ["cohort.html", "outlined", "plain", "summary.csv"]
    with open(output / "summary.csv", newline="", encoding="utf-8") as stream:  # one row per case, as batch writes
        assert [(row["case"], row["status"]) for row in csv.DictReader(stream)] == [("outlined", "succeeded"),
                                                                                     ("plain", "succeeded")]
    assert {path.name for path in (output / "outlined").iterdir()} == OUTPUTS | {"lesion.seg.nrrd"}
    assert {path.name for path in (output / "plain").iterdir()} == OUTPUTS
    outlined = json.loads((output / "outlined" / "summary.json").read_text(encoding="utf-8"))
    plain = json.loads((output / "plain" / "summary.json").read_text(encoding="utf-8"))
    assert outlined["stages"] == ["enhance", "segment"] and plain["stages"] == ["enhance"]
    assert outlined["lesion"]["volume_ml"] > 0 and outlined["cnr"]["enhanced"] is not None
    assert plain["lesion"] is None and outlined["organs"] == [] and outlined["model"] is None
    assert outlined["command"] == "batch_chain.py test"
    assert [entry["path"] for entry in outlined["inputs"]] == [str(cases / "outlined.nrrd"),
                                                               str(cases / "outlined.mrk.json")]


def test_a_bad_case_fails_alone(plain_only, tmp_path):
    folder = tmp_path / "in"
    shutil.copytree(plain_only, folder)
    (folder / "broken.nrrd").write_text("not an image", encoding="utf-8")

    status, stdout, stderr = _run(folder, tmp_path / "out", "--no-detect")

    assert status == slicer_batch.EXIT_CASE_FAILED, stdout + stderr
    broken, plain = _case_lines(stdout)
    assert broken.startswith("broken: FAILED: ") and "broken.nrrd" in broken and "\n" not in broken
    assert plain.startswith("plain: done in ")
    assert "1 of 2 cases done, 1 failed" in stdout
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["cohort.html", "plain", "summary.csv"]


def test_a_rerun_replaces_the_case_folder_whole(plain_only, tmp_path):
    stale = tmp_path / "out" / "plain" / "lesion.seg.nrrd"
    stale.parent.mkdir(parents=True)
    stale.write_text("from an earlier run", encoding="utf-8")

    status, stdout, stderr = _run(plain_only, tmp_path / "out", "--no-detect", "--no-enhance")

    assert status == slicer_batch.EXIT_SUCCESS, stdout + stderr
    assert {path.name for path in (tmp_path / "out" / "plain").iterdir()} == {"report.png", "scene.mrb",
                                                                              "summary.json"}
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["cohort.html", "plain", "summary.csv"]


@pytest.mark.parametrize("problem", ["no INDIR", "INDIR without cases", "OUTDIR is a file", "no folder above OUTDIR",
                                     "unknown option", "bad parameter value"])
def test_bad_arguments_exit_2_before_any_case(plain_only, tmp_path, problem):
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "file").write_text("", encoding="utf-8")
    argv = {"no INDIR": [tmp_path / "missing", tmp_path / "out"],
            "INDIR without cases": [empty, tmp_path / "out"],
            "OUTDIR is a file": [plain_only, tmp_path / "file"],
            "no folder above OUTDIR": [plain_only, tmp_path / "missing" / "out"],
            "unknown option": [plain_only, tmp_path / "out", "--no-such-option"],
            "bad parameter value": [plain_only, tmp_path / "out", "--strength", "-5"]}[problem]

    status, stdout, stderr = _run(*argv, "--no-detect")

    assert status == slicer_batch.EXIT_USAGE, stdout + stderr
    assert stdout == "" and len(stderr.strip().splitlines()) <= 3, stderr  # argparse: usage line and message
    assert not (tmp_path / "out").exists()


def test_help_exits_0(capsys):
    assert slicer_batch.run_batch(["--", "--help"]) == slicer_batch.EXIT_SUCCESS
    assert "INDIR" in capsys.readouterr().out


def _without(monkeypatch, *names):
    """Make ``importlib.util.find_spec`` miss the given top-level packages."""
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: None if name in names else
                        find_spec(name, *rest))


def test_missing_packages_are_named_and_nothing_runs(plain_only, tmp_path, monkeypatch):
    _without(monkeypatch, "matplotlib", "sklearn")

    status, stdout, stderr = _run(plain_only, tmp_path / "out", "--no-detect")

    assert status == slicer_batch.EXIT_USAGE and stdout == ""
    assert "matplotlib>=3.7, scikit-learn>=1.6" in stderr and "--install-requirements" in stderr
    assert "--no-detect" not in stderr and not (tmp_path / "out").exists()


def test_detection_without_keras_and_tensorflow_offers_no_detect(plain_only, tmp_path, monkeypatch):
    _without(monkeypatch, "keras", "tensorflow")

    status, _stdout, stderr = _run(plain_only, tmp_path / "out")

    assert status == slicer_batch.EXIT_USAGE
    assert "keras>=3.6" in stderr and "tensorflow>=2.18" in stderr and "--no-detect" in stderr


def test_install_requirements_installs_only_what_is_missing(plain_only, tmp_path, monkeypatch):
    missing = {"matplotlib"}
    installed = []
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: None if name in missing else
                        find_spec(name, *rest))

    def install(requirements):
        installed.append(list(requirements))
        missing.clear()

    monkeypatch.setattr(slicer_batch, "install_packages", install)

    status, stdout, stderr = _run(plain_only, tmp_path / "out", "--no-detect", "--no-enhance",
                                  "--install-requirements")

    assert installed == [["matplotlib>=3.7"]]
    assert status == slicer_batch.EXIT_SUCCESS, stdout + stderr


def test_installing_with_pip_uses_slicers_installer_without_a_dialog(monkeypatch):
    calls = []
    packaging = types.ModuleType("slicer.packaging")
    packaging.pip_install = lambda requirements, **options: calls.append((requirements, options))
    monkeypatch.setitem(sys.modules, "slicer.packaging", packaging)
    monkeypatch.setattr(slicer, "packaging", packaging, raising=False)

    slicer_batch.install_packages(["matplotlib>=3.7"])

    assert calls == [(["matplotlib>=3.7"], {"show_progress": False, "requester": slicer_batch.PROGRAM})]


@pytest.mark.skipif(not DETECTION_INSTALLED, reason="organ detection needs Keras and TensorFlow")
def test_organs_are_found_out_of_process(plain_only, tmp_path):
    from clinicalimaging.detect.nodes_output import boxes_from_table_file

    tensorflow_before = "tensorflow" in sys.modules

    status, stdout, stderr = _run(plain_only, tmp_path / "out", "--no-enhance", "--score-threshold", "0.0",
                                  "--min-context", "0", python=sys.executable)

    assert status == slicer_batch.EXIT_SUCCESS, stdout + stderr
    folder = tmp_path / "out" / "plain"
    assert {"organs.mrk.json", "organs.csv", "report.png", "scene.mrb", "summary.json"} <= {
        path.name for path in folder.iterdir()}
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    boxes = boxes_from_table_file(folder / "organs.csv")
    assert summary["stages"] == ["detect"] and set(summary["seconds"]) == {"detect"}
    assert [organ["organ"] for organ in summary["organs"]] == [box.organ for box in boxes] and boxes
    assert summary["device"] and summary["model"]["name"] == "organ-detector.keras"
    assert f"{len(boxes)} organs found" in stdout
    assert tensorflow_before or "tensorflow" not in sys.modules  # TensorFlow ran in the child only


@pytest.mark.skipif(not DETECTION_INSTALLED, reason="organ detection needs Keras and TensorFlow")
def test_a_failed_detection_fails_its_case_alone_and_leaves_no_folder(plain_only, tmp_path):
    model = tmp_path / "broken.keras"
    model.write_text("not a model", encoding="utf-8")

    status, stdout, stderr = _run(plain_only, tmp_path / "out", "--no-enhance", "--model", model)

    assert status == slicer_batch.EXIT_CASE_FAILED, stdout + stderr
    line, = _case_lines(stdout)
    assert line.startswith("plain: FAILED: ") and "broken.keras" in line
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["cohort.html", "summary.csv"]


def test_the_script_hands_its_status_to_slicer_exit(plain_only, tmp_path, monkeypatch):
    """``batch_chain.py`` as Slicer runs it: ``sys.argv`` is the script and its arguments; it ends with exit(status)."""
    statuses = []
    monkeypatch.setattr(slicer.util, "exit", statuses.append, raising=False)
    for argv, expected in (([str(tmp_path / "missing"), str(tmp_path / "out")], slicer_batch.EXIT_USAGE),
                           (["--help"], slicer_batch.EXIT_SUCCESS)):
        monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--", *argv])
        runpy.run_path(str(SCRIPT), run_name="__main__")
        assert statuses[-1] == expected
