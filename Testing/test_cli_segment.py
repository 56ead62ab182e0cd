"""``clinicalimaging segment`` as a user runs it: real files, exit status, stderr, nothing left on failure."""

import csv
import json

import numpy as np
import pytest
import SimpleITK as sitk

from clinicalimaging import mrml
from clinicalimaging.metrics import dice
from clinicalimaging.parameters import describe
from clinicalimaging.phantom import make_phantom
from clinicalimaging.segment.parameters import SegmentParameters
from outline import lesion_outline
from test_cli import assert_clean_input_error, assert_same_geometry, digest, run_cli


def _write_case(folder, *, image=None, points=None, slices=None):
    """An oblique MR phantom volume and its lesion outline as files; returns (volume path, points path, lesion)."""
    phantom = make_phantom("mr", shape=(12, 64, 64), spacing=(2.5, 0.8, 0.8), oblique=True)
    outline, lesion = lesion_outline(phantom)
    array = phantom.image if image is None else image(phantom)
    matrix = phantom.ijk_to_ras
    if slices is not None:  # a sub-stack of the phantom, its geometry shifted to match
        matrix = matrix @ np.vstack([np.c_[np.eye(3), [0, 0, slices.start]], [0, 0, 0, 1]])
        array, outline = array[slices], outline - [slices.start, 0, 0]
    volume = mrml.volume_from_array(array, ijk_to_ras=matrix, name="input")
    markups = mrml.markups_from_points(outline if points is None else points(outline), volume)
    try:
        mrml.write_volume(volume, folder / "in.nrrd")
        mrml.write_markups(markups, folder / "outline.mrk.json")
    finally:
        for node in (volume, markups):
            mrml.get_scene().RemoveNode(node)
    return folder / "in.nrrd", folder / "outline.mrk.json", lesion


def _read_segmentation(path, reference_path):
    import slicer

    scene = mrml.get_scene()
    reference = mrml.read_volume(reference_path)
    node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "read back")
    storage = slicer.vtkMRMLSegmentationStorageNode()
    storage.SetFileName(str(path))
    assert storage.ReadData(node)
    segment = node.GetSegmentation().GetNthSegment(0)
    names = (node.GetSegmentation().GetNumberOfSegments(), segment.GetName())
    return names, mrml.segment_mask(node, "lesion", reference), mrml.ijk_to_ras(reference)


def test_cli_segment_writes_a_segmentation_and_a_label_map_on_the_input_grid(tmp_path):
    source, points, lesion = _write_case(tmp_path)
    before = digest(source), digest(points)
    segmentation, labels = tmp_path / "lesion.seg.nrrd", tmp_path / "lesion.nii.gz"
    margin, rough = tmp_path / "margin.nrrd", tmp_path / "rough.nrrd"

    first = run_cli("segment", source, segmentation, "--outline", points, "--margin-map", margin, "--rough", rough)
    second = run_cli("segment", source, labels, "--points", points, "--quiet")  # the former name of --outline

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "segmentation:" in first.stdout and second.stdout == ""
    (count, name), mask, _ = _read_segmentation(segmentation, source)
    assert (count, name) == (1, "lesion")
    assert dice(mask, lesion) > 0.7
    reference = sitk.ReadImage(str(source))
    for path in (labels, margin, rough):
        assert_same_geometry(sitk.ReadImage(str(path)), reference)
    label_array = sitk.GetArrayFromImage(sitk.ReadImage(str(labels)))
    assert set(np.unique(label_array)) == {0, 1}
    np.testing.assert_array_equal(label_array, mask)  # same run, same result, either format
    assert sitk.ReadImage(str(margin)).GetPixelID() == sitk.sitkFloat32
    assert (digest(source), digest(points)) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        ["in.nrrd", "outline.mrk.json", *(path.name for path in (segmentation, labels, margin, rough)),
         f"{labels.name}.provenance.json"])  # NIfTI has no header room for it


def _not_markups(folder):
    path = folder / "notes.mrk.json"
    path.write_text(json.dumps({"patient": "x", "points": [1, 2, 3]}))
    return path


def _one_class_seeds(folder):
    seeds = np.zeros((12, 64, 64), np.uint8)
    seeds[5, 30:33, 30:33] = 1
    image = sitk.ReadImage(str(folder / "in.nrrd"))
    written = sitk.GetImageFromArray(seeds)
    written.CopyInformation(image)
    sitk.WriteImage(written, str(folder / "seeds.nrrd"))
    return folder / "seeds.nrrd"


def _folder(path):
    path.mkdir()
    return path


def _lesion_only_seeds(folder):
    volume = mrml.read_volume(folder / "in.nrrd")
    mask = np.zeros(mrml.array_from_volume(volume).shape, np.uint8)
    mask[5, 30:33, 30:33] = 1
    segmentation = mrml.segmentation_from_mask(mask, volume, segment_name="lesion")
    mrml.write_segmentation(segmentation, folder / "seeds.seg.nrrd")
    for node in (volume, segmentation):
        mrml.get_scene().RemoveNode(node)
    return folder / "seeds.seg.nrrd"


def _organ_boxes(folder):
    """A markups file of ROI boxes, as 'clinicalimaging detect' writes: not an outline."""
    scene = mrml.get_scene()
    boxes = [scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", name) for name in ("liver", "spleen")]
    for box in boxes:
        box.SetRadiusXYZ(20.0, 15.0, 30.0)
    mrml.write_markups_list(boxes, folder / "organs.mrk.json")
    for box in boxes:
        scene.RemoveNode(box)
    return folder / "organs.mrk.json"


def _flat_roi(phantom):
    image = phantom.image.copy()
    image[1:] = 100.0  # only slice 0, far from the outline, has contrast
    return image


# name -> (case options, points argument from the folder, extra arguments from the folder, message fragment)
BAD_INPUTS = {
    "no points file": ({}, lambda folder: folder / "absent.mrk.json", lambda folder: [], "does not exist"),
    "outline is a folder": ({}, lambda folder: _folder(folder / "outline.d"), lambda folder: [],
                            "is a folder, not a file"),
    "seeds segmentation without a background": ({}, None, lambda folder: ["--seeds", _lesion_only_seeds(folder)],
                                                "no segment named 'background'"),
    "not markups": ({}, _not_markups, lambda folder: [], "markups"),
    "organ boxes": ({}, _organ_boxes, lambda folder: [], "holds an ROI box (a Markups ROI, such as the organ boxes"),
    "no points": ({"points": lambda outline: outline[:0]}, None, lambda folder: [], "holds no points"),
    "two points": ({"points": lambda outline: outline[:2]}, None, lambda folder: [], "at least 3 points"),
    "points outside": ({"points": lambda outline: outline + [0, 0, 300]}, None, lambda folder: [],
                       "outside the image"),
    "constant ROI": ({"image": _flat_roi}, None, lambda folder: [], "constant"),
    "seeds of one class": ({}, None, lambda folder: ["--seeds", _one_class_seeds(folder)], "both classes"),
    "seeds not an image": ({}, None, lambda folder: ["--seeds", folder / "outline.mrk.json"], "unsupported"),
    "single slice": ({"slices": slice(6, 7)}, None, lambda folder: [], "1 slice"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_cli_segment_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, case):
    options, points_of, extra_of, message = BAD_INPUTS[case]
    source, points, _ = _write_case(tmp_path, **options)
    points = points if points_of is None else points_of(tmp_path)
    extra = extra_of(tmp_path)
    def contents():
        return {path.name: digest(path) if path.is_file() else "folder" for path in tmp_path.iterdir()}

    before = contents()

    result = run_cli("segment", source, tmp_path / "out.seg.nrrd", "--outline", points, "--rough",
                     tmp_path / "rough.nrrd", *extra)

    assert_clean_input_error(result)
    assert message in result.stderr
    assert contents() == before  # no output, no temporary folder


def test_cli_segment_help_lists_every_segmentation_option():
    result = run_cli("segment", "--help")

    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for field in describe(SegmentParameters):
        assert "--" + field["name"].replace("_", "-") in text
        assert f"default: {field['default']})" in text


def test_cli_segment_prints_the_lesion_size_and_writes_the_results_table(tmp_path):
    source, points, lesion = _write_case(tmp_path)
    table = tmp_path / "results.csv"

    result = run_cli("segment", source, tmp_path / "out.seg.nrrd", "--outline", points, "--table", table)

    assert result.returncode == 0, result.stderr
    (_, _), mask, _ = _read_segmentation(tmp_path / "out.seg.nrrd", source)
    voxels = int(mask.sum())
    slices = np.flatnonzero(mask.any(axis=(1, 2)))  # the file is right-handed: its slice order is the array's
    volume_ml = voxels * 2.5 * 0.8 * 0.8 / 1000
    assert (f"lesion: {volume_ml:.2f} mL, {voxels} voxels, slices {slices[0]} to {slices[-1]} (file slice indices)"
            in result.stdout)
    with table.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 1 and rows[0]["segment"] == "lesion"
    assert int(rows[0]["voxels"]) == voxels and float(rows[0]["volume_ml"]) == pytest.approx(volume_ml)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.nrrd", "out.seg.nrrd", "outline.mrk.json",
                                                                "results.csv", "results.csv.provenance.json"]


def test_cli_segment_takes_seeds_as_a_segmentation_and_enhances_first(tmp_path):
    source, points, lesion = _write_case(tmp_path)
    k = int(lesion.sum(axis=(1, 2)).argmax())
    volume = mrml.read_volume(source)
    background = np.zeros(lesion.shape, bool)
    background[k] = ~lesion[k]
    seeds = mrml.segmentation_from_mask(lesion, volume, name="seeds", segment_name="lesion")
    mrml.segmentation_from_mask(background, volume, segment_name="background", node=seeds)
    mrml.write_segmentation(seeds, tmp_path / "seeds.seg.nrrd")
    for node in (volume, seeds):
        mrml.get_scene().RemoveNode(node)
    plain, enhanced = tmp_path / "plain.nrrd", tmp_path / "enhanced.nrrd"

    first = run_cli("segment", source, plain, "--outline", points, "--seeds", tmp_path / "seeds.seg.nrrd",
                    "--margin-map", tmp_path / "plain_margin.nrrd", "--quiet")
    second = run_cli("segment", source, enhanced, "--outline", points, "--enhance-first",
                     "--probability", tmp_path / "enhanced_margin.nrrd", "--quiet")  # former name of --margin-map

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    for labels in (plain, enhanced):
        assert dice(sitk.GetArrayFromImage(sitk.ReadImage(str(labels))), lesion) > 0.7
    margins = [sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / f"{name}_margin.nrrd")))
               for name in ("plain", "enhanced")]
    assert not np.allclose(*margins)  # seeds and enhancement reach the classifier


def test_cli_segment_help_documents_the_outline_file():
    text = " ".join(run_cli("segment", "--help").stdout.split())

    for fact in ("Slicer Markups JSON file (.mrk.json)", '"coordinateSystem"', '"controlPoints"[]."position"',
                 '"markups"[0]."type"', "LPS", "RAS", "Markups module", "closed curve", "--outline-out",
                 "at least 3 points on each outlined slice"):
        assert fact in text, fact
    for former in ("--points", "--probability", "--margin-px", "--margin-z-mm"):
        assert former not in text.replace("--points-out", ""), former
