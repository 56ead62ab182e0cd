"""``clinicalimaging detect``, ``train-detector`` and ``evaluate-detection`` as a user runs them."""

import csv
import json

import numpy as np
import pytest
import SimpleITK as sitk

from clinicalimaging import mrml
from clinicalimaging.detect.cases import phantom_volumes
from clinicalimaging.detect.nodes_output import TABLE_COLUMNS
from conftest import TINY_PHANTOMS
from test_cli import run_cli

ORGANS = ("liver", "spleen", "kidney_left", "kidney_right", "aorta")


def write_case(folder, seed=700):
    """A phantom volume, its label map and a label-name file, as a user would have them."""
    volume = phantom_volumes(1, seed=seed, shape=TINY_PHANTOMS["shape"], spacing=TINY_PHANTOMS["spacing"])[0]
    paths = {"image": folder / "image.nii.gz", "labels": folder / "labels.nii.gz", "names": folder / "names.json"}
    for array, path in ((volume.image, paths["image"]), (volume.labels, paths["labels"])):
        image = sitk.GetImageFromArray(array)
        image.SetSpacing(tuple(float(s) for s in TINY_PHANTOMS["spacing"][::-1]))
        lps = np.diag([-1.0, -1.0, 1.0]) @ volume.ijk_to_ras[:3, :3] / np.array(TINY_PHANTOMS["spacing"][::-1])
        image.SetDirection(tuple(lps.ravel()))
        image.SetOrigin(tuple(np.diag([-1.0, -1.0, 1.0]) @ volume.ijk_to_ras[:3, 3]))
        sitk.WriteImage(image, str(path))
    paths["names"].write_text(json.dumps({str(value): name for value, name in volume.label_names.items()}))
    return paths


def test_detect_writes_one_roi_per_organ_and_the_table(tmp_path, tiny_detector):
    _, model = tiny_detector
    case = write_case(tmp_path)
    result = run_cli("detect", case["image"], tmp_path / "organs.mrk.json", "--table", tmp_path / "organs.csv",
                     "--model", model, "--views", "axial", "--progress-lines")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("PROGRESS ") and any(line.startswith("DEVICE CPU") for line in lines)
    with open(tmp_path / "organs.csv", newline="", encoding="utf-8") as table:
        rows = list(csv.DictReader(table))
    assert list(rows[0]) == list(TABLE_COLUMNS)
    assert {row["organ"] for row in rows} == set(ORGANS)
    scene, logics = mrml.scene.create_standalone_scene()  # a scene of its own: node names exactly the organs'
    rois = mrml.read_markups_list(tmp_path / "organs.mrk.json", scene=scene)
    assert sorted(roi.GetName() for roi in rois) == sorted(ORGANS)
    for roi in rois:
        row = next(row for row in rows if row["organ"] == roi.GetName())
        bounds = [0.0] * 6
        roi.GetRASBounds(bounds)
        expected = [float(row[column]) for column in ("r_min", "r_max", "a_min", "a_max", "s_min", "s_max")]
        np.testing.assert_allclose(bounds, expected, atol=0.02)


def test_evaluate_detection_prints_iou_and_distances(tmp_path, tiny_detector):
    _, model = tiny_detector
    case = write_case(tmp_path)
    result = run_cli("evaluate-detection", case["image"], case["labels"], "--label-names", case["names"],
                     "--model", model, "--views", "axial", "--table", tmp_path / "evaluation.csv")

    assert result.returncode == 0, result.stderr
    for organ in ORGANS:
        assert organ in result.stdout
    with open(tmp_path / "evaluation.csv", newline="", encoding="utf-8") as table:
        rows = {row["organ"]: row for row in csv.DictReader(table)}
    assert set(ORGANS) <= set(rows) and "lesion" not in rows
    assert all(float(rows[organ]["iou"]) > 0.3 for organ in ("liver", "spleen"))


def test_train_detector_fine_tunes_and_keeps_the_classes(tmp_path, tiny_detector):
    _, model = tiny_detector
    case = write_case(tmp_path)
    out = tmp_path / "tuned.keras"
    result = run_cli("train-detector", "--images", case["image"], "--labels", case["labels"], "--label-names",
                     case["names"], "--init", model, "--out", out, "--epochs", "1", "--slices-per-epoch", "8",
                     "--views", "axial", "--crop-px", "96", "--quiet")

    assert result.returncode == 0, result.stderr
    from clinicalimaging.detect.model_files import read_metadata
    metadata = read_metadata(out)
    assert metadata["class_names"] == list(ORGANS) and metadata["pixel_mm"] == 3.0
    assert "--init" in metadata["training"]["command"] and metadata["training"]["epoch_losses"]


@pytest.mark.parametrize("problem", ["missing", "corrupt", "not a detector"])
def test_detect_with_a_bad_model_exits_2_and_writes_nothing(tmp_path, problem):
    case = write_case(tmp_path)
    model = tmp_path / "model.keras"
    if problem == "corrupt":
        model.write_bytes(b"PK\x03\x04 truncated")
    elif problem == "not a detector":
        import zipfile
        with zipfile.ZipFile(model, "w") as archive:
            archive.writestr("config.json", "{}")
    result = run_cli("detect", case["image"], tmp_path / "organs.mrk.json", "--model", model)

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "clinicalimaging: error: Model file" in result.stderr
    assert not (tmp_path / "organs.mrk.json").exists()


def test_train_detector_refuses_mismatched_inputs(tmp_path):
    case = write_case(tmp_path)
    result = run_cli("train-detector", "--images", case["image"], case["image"], "--labels", case["labels"],
                     "--out", tmp_path / "m.keras")
    nothing = run_cli("train-detector", "--out", tmp_path / "m.keras")

    assert result.returncode == 2 and "one label file per image" in result.stderr
    assert nothing.returncode == 2 and "Nothing to train on" in nothing.stderr
    assert not (tmp_path / "m.keras").exists()


def test_detect_on_a_volume_without_organs_says_so_in_one_line_and_writes_empty_outputs(tmp_path, tiny_detector):
    _, model = tiny_detector
    image = sitk.GetImageFromArray(np.full((24, 48, 48), 40, np.int16))  # uniform soft tissue: no organ
    image.SetSpacing((3.0, 3.0, 4.0))
    sitk.WriteImage(image, str(tmp_path / "uniform.nrrd"))
    result = run_cli("detect", tmp_path / "uniform.nrrd", tmp_path / "organs.mrk.json", "--table",
                     tmp_path / "organs.csv", "--model", model, "--views", "axial")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("0 organs found")
    said = [line for line in lines if line.startswith("No organ reached score >= 0.15")]
    assert len(said) == 1 and "not trained on" in said[0] and "liver" in said[0]
    assert json.loads((tmp_path / "organs.mrk.json").read_text())["markups"] == []
    from clinicalimaging.detect.nodes_output import boxes_from_table_file
    assert boxes_from_table_file(tmp_path / "organs.csv") == []


def test_detect_marks_a_grade_learnt_from_phantoms_as_experimental(tmp_path, tiny_detector):
    _, model = tiny_detector
    case = write_case(tmp_path, seed=701)
    result = run_cli("detect", case["image"], tmp_path / "organs.mrk.json", "--table", tmp_path / "organs.csv",
                     "--model", model, "--views", "axial")

    assert result.returncode == 0, result.stderr
    assert "grade (lesion probability): experimental" in result.stdout and "(experimental)" in result.stdout
    with open(tmp_path / "organs.csv", newline="", encoding="utf-8") as table:
        assert {row["grade_experimental"] for row in csv.DictReader(table)} == {"yes"}
    scene, _ = mrml.scene.create_standalone_scene()
    for roi in mrml.read_markups_list(tmp_path / "organs.mrk.json", scene=scene):
        assert "lesion probability" in roi.GetNthControlPointDescription(0)
        assert "experimental" in roi.GetNthControlPointDescription(0)
