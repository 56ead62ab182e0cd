"""``clinicalimaging evaluate-segmentation`` as a user runs it: real files, the table, the outline file, exit status."""

import csv

import numpy as np
import pytest

from clinicalimaging import mrml
from clinicalimaging.phantom import make_phantom
from test_cli import assert_clean_input_error, run_cli, write_image

METHODS = ["preprocessing", "level set", "plain SVM", "self-paced SVM", "grow from seeds"]
OUTLINE_POINTS = 12


def _phantom_files(folder):
    phantom = make_phantom("mr", shape=(24, 96, 96), spacing=(2.5, 0.8, 0.8))
    image = write_image(folder / "image.nrrd", phantom.image)
    label = write_image(folder / "label.nrrd", phantom.labels.astype(np.uint8))
    return image, label, phantom


def _table_rows(path):
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _outline_kji(points_path, image_path):
    return mrml.points_kji(mrml.read_markups(points_path), mrml.read_volume(image_path))


def test_cli_evaluate_segmentation_on_a_phantom_writes_outline_and_table(tmp_path):
    image, label, phantom = _phantom_files(tmp_path)
    points, table = tmp_path / "outline.mrk.json", tmp_path / "comparison.csv"

    result = run_cli("evaluate-segmentation", image, label, "--label-value", phantom.lesion_label,
                     "--outline-out", points, "--table", table)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split("  ")[0] for line in lines[1:1 + len(METHODS)]] == METHODS
    assert "failed" not in result.stdout
    rows = _table_rows(table)
    assert [row["method"] for row in rows] == METHODS
    self_paced = rows[METHODS.index("self-paced SVM")]
    assert float(self_paced["dice"]) >= 0.8 and float(self_paced["hd95_mm"]) < 10.0
    outline = _outline_kji(points, image)
    assert outline.shape == (OUTLINE_POINTS, 3)
    lesion = phantom.labels == phantom.lesion_label
    k = int(np.argmax(lesion.sum(axis=(1, 2))))
    np.testing.assert_allclose(outline[:, 0], k, atol=1e-4)  # all on the lesion's largest slice
    # On the boundary: each point within a pixel of a lesion pixel and of a background pixel.
    ring = np.stack([np.floor(outline[:, 1:] + 0.5 + offset).astype(int)
                     for offset in ((-0.6, 0), (0.6, 0), (0, -0.6), (0, 0.6))])
    inside = lesion[k][ring[..., 0], ring[..., 1]]
    assert inside.any(axis=0).all() and (~inside).any(axis=0).all()
    assert f"outline: {OUTLINE_POINTS} points on slice(s) {k} (file slice indices) in" in result.stdout
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        ["image.nrrd", "label.nrrd", "outline.mrk.json", "comparison.csv", "comparison.csv.provenance.json"])


def test_cli_evaluate_segmentation_of_one_component_outlined_on_two_slices(tmp_path):
    phantom = make_phantom("mr", shape=(24, 96, 96), spacing=(2.5, 0.8, 0.8))
    lesion = phantom.labels == phantom.lesion_label
    labels = lesion.astype(np.uint8)
    labels[2:5, 2:12, 2:12] = 1  # 300 voxels with the same value, far from the lesion (531 voxels)
    image = write_image(tmp_path / "image.nrrd", phantom.image)
    label = write_image(tmp_path / "label.nrrd", labels)
    points, table = tmp_path / "outline.mrk.json", tmp_path / "comparison.csv"

    result = run_cli("evaluate-segmentation", image, label, "--component", 1, "--outline-slices", 2,
                     "--points-out", points, "--table", table)  # the former name of --outline-out still works

    assert result.returncode == 0, result.stderr
    outline = _outline_kji(points, image)
    slices = sorted({round(k) for k in outline[:, 0]})
    assert len(slices) == 2 and all(lesion[k].any() for k in slices) and outline.shape == (2 * OUTLINE_POINTS, 3)
    assert '"type": "Fiducial"' in points.read_text()  # a closed curve would have to lie on one slice
    dice = float(_table_rows(table)[METHODS.index("self-paced SVM")]["dice"])
    assert dice >= 0.8  # against the lesion alone; against both, even a perfect lesion mask scores 0.78


def test_cli_evaluate_segmentation_absent_label_value(tmp_path):
    image, label, _ = _phantom_files(tmp_path)
    points, table = tmp_path / "outline.mrk.json", tmp_path / "t.csv"

    result = run_cli("evaluate-segmentation", image, label, "--label-value", 250, "--outline-out", points,
                     "--table", table)

    assert_clean_input_error(result)
    assert "250" in result.stderr
    assert result.stdout == ""
    assert sorted(path.name for path in tmp_path.iterdir()) == ["image.nrrd", "label.nrrd"]


def test_cli_evaluate_segmentation_reports_the_slice_index_of_a_left_handed_file(tmp_path):
    phantom = make_phantom("mr", shape=(24, 96, 96), spacing=(2.5, 0.8, 0.8))
    lesion = phantom.labels == phantom.lesion_label
    flipped = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, -1.0)  # left-handed: Slicer reads it with k reversed
    image = write_image(tmp_path / "image.nrrd", phantom.image, direction=flipped)
    label = write_image(tmp_path / "label.nrrd", lesion.astype(np.uint8), direction=flipped)
    k = int(np.argmax(lesion.sum(axis=(1, 2))))  # in the file's own slice order
    assert k != lesion.shape[0] - 1 - k

    result = run_cli("evaluate-segmentation", image, label, "--outline-out", tmp_path / "outline.mrk.json")

    assert result.returncode == 0, result.stderr
    assert f"points on slice(s) {k} (file slice indices)" in result.stdout


@pytest.mark.parametrize("option, value, message", [("--outline-slices", "0", "--outline-slices: must be at least 1"),
                                                    ("--component", "-1", "--component: must be at least 0"),
                                                    ("--component", "two", "'two' is not a whole number")])
def test_cli_evaluate_segmentation_bad_counts_are_one_line_usage_errors(tmp_path, option, value, message):
    image, label, phantom = _phantom_files(tmp_path)

    result = run_cli("evaluate-segmentation", image, label, "--label-value", phantom.lesion_label, option, value)

    assert_clean_input_error(result)
    assert message in result.stderr and "--help" in result.stderr


@pytest.mark.slow
def test_cli_evaluate_segmentation_on_breast1(shared_data, tmp_path):
    table = tmp_path / "breast1.csv"

    result = run_cli("evaluate-segmentation", shared_data / "breast1_image.nrrd", shared_data / "breast1_label.nrrd",
                     "--label-value", 1, "--table", table)

    assert result.returncode == 0, result.stderr
    rows = _table_rows(table)
    assert [row["method"] for row in rows] == METHODS
    dice = {row["method"]: float(row["dice"]) for row in rows}
    assert all(0.0 <= value <= 1.0 for value in dice.values()), dice
    assert dice["self-paced SVM"] >= 0.7, dice
    assert sorted(path.name for path in tmp_path.iterdir()) == ["breast1.csv", "breast1.csv.provenance.json"]
