"""``clinicalimaging segment`` as a user runs it: real files, exit status, stderr, nothing left on failure."""

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

    first = run_cli("segment", source, segmentation, "--points", points, "--probability", margin, "--rough", rough)
    second = run_cli("segment", source, labels, "--points", points, "--quiet")

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
        ["in.nrrd", "outline.mrk.json", *(path.name for path in (segmentation, labels, margin, rough))])


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


def _flat_roi(phantom):
    image = phantom.image.copy()
    image[1:] = 100.0  # only slice 0, far from the outline, has contrast
    return image


# name -> (case options, points argument from the folder, extra arguments from the folder, message fragment)
BAD_INPUTS = {
    "no points file": ({}, lambda folder: folder / "absent.mrk.json", lambda folder: [], "does not exist"),
    "not markups": ({}, _not_markups, lambda folder: [], "markups"),
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
    before = {path.name: digest(path) for path in tmp_path.iterdir()}

    result = run_cli("segment", source, tmp_path / "out.seg.nrrd", "--points", points, "--rough",
                     tmp_path / "rough.nrrd", *extra)

    assert_clean_input_error(result)
    assert message in result.stderr
    assert {path.name: digest(path) for path in tmp_path.iterdir()} == before  # no output, no temporary folder


def test_cli_segment_help_lists_every_segmentation_option():
    result = run_cli("segment", "--help")

    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for field in describe(SegmentParameters):
        assert "--" + field["name"].replace("_", "-") in text
        assert f"default: {field['default']})" in text
