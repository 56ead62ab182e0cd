"""Scene bundles (.mrb): a whole scene written and read back with its nodes, data, display nodes and references."""

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from clinicalimaging import mrml
from clinicalimaging.errors import InputError
from clinicalimaging.mrml.bundle import read_scene_bundle, write_scene_bundle
from clinicalimaging.mrml.scene import create_standalone_scene
from clinicalimaging.phantom import make_phantom

ORGAN_BOXES = {"liver": ((-20.0, 5.0, 1.5), (40.0, 30.0, 20.0), (0.8, 0.3, 0.2)),
               "spleen": ((25.0, -4.0, 3.0), (12.0, 15.0, 18.0), (0.2, 0.4, 0.9))}


@pytest.fixture
def filled_scene(scene):
    """``scene`` with two volumes (the enhanced one shown), a label map, a segmentation, two ROIs and a table."""
    phantom = make_phantom("ct", shape=(10, 40, 36), spacing=(3.0, 1.1, 0.7), oblique=True)
    volume = mrml.volume_from_array(phantom.image, ijk_to_ras=phantom.ijk_to_ras, scene=scene, name="ct")
    enhanced = mrml.volume_from_array(phantom.image * 1.5 + 10.0, ijk_to_ras=phantom.ijk_to_ras, scene=scene,
                                      name="ct enhanced")
    mrml.volume_from_array(phantom.labels, ijk_to_ras=phantom.ijk_to_ras, scene=scene, name="organs",
                           labelmap=True)
    mask = phantom.labels == 2
    mrml.segmentation_from_mask(mask, volume, name="liver segmentation", segment_name="liver",
                                color=(0.9, 0.6, 0.1))
    for organ, (center, size, colour) in ORGAN_BOXES.items():
        roi = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", organ)
        roi.SetCenter(*center)
        roi.SetSize(*size)
        roi.CreateDefaultDisplayNodes()
        roi.GetDisplayNode().SetColor(*colour)
        roi.GetDisplayNode().SetSelectedColor(*colour)
    mrml.table_from_rows([{"organ": "liver", "volume_ml": 1520.5}, {"organ": "spleen", "volume_ml": 210.0}],
                         name="organ volumes", scene=scene)
    scene.GetNodeByID("vtkMRMLSelectionNodeSingleton").SetActiveVolumeID(enhanced.GetID())
    return scene, phantom, mask


def node_named(scene, name):
    node = scene.GetFirstNodeByName(name)
    assert node is not None, f"no node '{name}' in the scene"
    return node


def test_bundle_round_trip_keeps_nodes_data_and_display(filled_scene, tmp_path):
    scene, phantom, mask = filled_scene
    path = write_scene_bundle(scene, tmp_path / "case.mrb")
    assert sorted(os.listdir(tmp_path)) == ["case.mrb"]  # no staging or bundle folder left behind
    for name in ["ct", "liver", "organ volumes"]:  # default storage nodes, as Slicer's save adds, without a file
        assert not scene.GetFirstNodeByName(name).GetStorageNode().GetFileName()
    assert not scene.GetURL()

    names = zipfile.ZipFile(path).namelist()
    assert "case/case.mrml" in names
    assert {"case/Data/ct.nrrd", "case/Data/ct enhanced.nrrd", "case/Data/organs.nrrd",
            "case/Data/liver segmentation.seg.nrrd", "case/Data/liver.mrk.json", "case/Data/spleen.mrk.json",
            "case/Data/organ volumes.tsv"} <= set(names)

    loaded = read_scene_bundle(path)
    assert loaded is not scene
    for name in ["ct", "ct enhanced", "organs"]:
        written, read = node_named(scene, name), node_named(loaded, name)
        assert read.GetClassName() == written.GetClassName()
        np.testing.assert_array_equal(mrml.array_from_volume(read), mrml.array_from_volume(written))
        np.testing.assert_allclose(mrml.ijk_to_ras(read), mrml.ijk_to_ras(written), atol=1e-9)
        assert read.GetDisplayNode() is not None and read.GetDisplayNode().GetColorNode() is not None
    np.testing.assert_array_equal(mrml.array_from_volume(node_named(loaded, "organs")), phantom.labels)
    active = loaded.GetNodeByID(loaded.GetNodeByID("vtkMRMLSelectionNodeSingleton").GetActiveVolumeID())
    assert active.GetName() == "ct enhanced"

    volume = node_named(loaded, "ct")
    segmentation = node_named(loaded, "liver segmentation")
    matrix, extent = _reference_geometry(segmentation)
    np.testing.assert_allclose(matrix, mrml.ijk_to_ras(volume), atol=1e-6)
    assert extent == list(volume.GetImageData().GetExtent())
    segment = segmentation.GetSegmentation().GetSegment(
        segmentation.GetSegmentation().GetSegmentIdBySegmentName("liver"))
    np.testing.assert_allclose(segment.GetColor(), (0.9, 0.6, 0.1))
    np.testing.assert_array_equal(mrml.segment_mask(segmentation, "liver", volume), mask.astype(np.uint8))
    assert segmentation.GetDisplayNode() is not None

    for organ, (center, size, colour) in ORGAN_BOXES.items():
        roi = node_named(loaded, organ)
        assert roi.IsA("vtkMRMLMarkupsROINode")
        np.testing.assert_allclose(roi.GetCenter(), center, atol=1e-9)
        np.testing.assert_allclose(roi.GetSize(), size, atol=1e-9)
        np.testing.assert_allclose(roi.GetDisplayNode().GetColor(), colour)
        np.testing.assert_allclose(roi.GetDisplayNode().GetSelectedColor(), colour)

    table = node_named(loaded, "organ volumes").GetTable()
    assert [table.GetColumn(index).GetName() for index in range(table.GetNumberOfColumns())] == ["organ", "volume_ml"]
    assert [table.GetValue(row, 0).ToString() for row in range(table.GetNumberOfRows())] == ["liver", "spleen"]
    assert table.GetValue(0, 1).ToDouble() == 1520.5


def _reference_geometry(segmentation_node):
    """The IJK-to-RAS matrix and extent of a segmentation's reference image geometry."""
    import slicer
    from vtkmodules.vtkCommonMath import vtkMatrix4x4

    converter = slicer.vtkSegmentationConverter
    text = segmentation_node.GetSegmentation().GetConversionParameter(
        converter.GetReferenceImageGeometryParameterName())
    matrix = vtkMatrix4x4()
    extent = [0] * 6
    assert converter.DeserializeImageGeometry(text, matrix, extent)
    return np.array([[matrix.GetElement(row, column) for column in range(4)] for row in range(4)]), extent


def test_read_into_a_given_scene_keeps_its_nodes(filled_scene, tmp_path):
    scene, _, _ = filled_scene
    path = write_scene_bundle(scene, tmp_path / "case.mrb")
    target, logics = create_standalone_scene()
    try:
        kept = target.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "already there")
        assert read_scene_bundle(path, target) is target
        assert target.GetNodeByID(kept.GetID()) is kept
        assert node_named(target, "liver").IsA("vtkMRMLMarkupsROINode")
        assert target.GetDataIOManager() is None  # the temporary unpacking set-up is gone
    finally:
        target.Clear(True)
        del logics


@pytest.mark.parametrize("name", ["case.zip", "case.mrml", ".mrb", "case.mrb.nrrd"])
def test_bad_extension_is_refused_before_writing(scene, tmp_path, name):
    with pytest.raises(InputError, match=r"\.mrb"):
        write_scene_bundle(scene, tmp_path / name)
    assert os.listdir(tmp_path) == []


def test_missing_or_unwritable_folder_is_refused_before_writing(scene, tmp_path, monkeypatch):
    with pytest.raises(InputError, match="does not exist"):
        write_scene_bundle(scene, tmp_path / "missing" / "case.mrb")
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="is not a folder"):
        write_scene_bundle(scene, tmp_path / "file" / "case.mrb")
    with pytest.raises(InputError, match="is a folder"):
        write_scene_bundle(scene, tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root writes anywhere: the folder is refused as it would be for others
            access = os.access
            monkeypatch.setattr(os, "access", lambda path, mode: access(path, mode) and Path(path) != locked)
        with pytest.raises(InputError, match="not writable"):
            write_scene_bundle(scene, locked / "case.mrb")
        assert os.listdir(locked) == []
    finally:
        locked.chmod(0o700)


def test_a_failed_write_leaves_no_file_and_keeps_an_old_one(filled_scene, tmp_path):
    scene, _, _ = filled_scene
    path = tmp_path / "case.mrb"
    path.write_bytes(b"old bundle")
    roi = node_named(scene, "liver")
    wrong_storage = scene.AddNewNodeByClass("vtkMRMLVolumeArchetypeStorageNode")  # cannot write a markups node
    roi.SetAndObserveStorageNodeID(wrong_storage.GetID())
    with pytest.raises(OSError, match="Could not write the scene bundle"):
        write_scene_bundle(scene, path)
    assert sorted(os.listdir(tmp_path)) == ["case.mrb"]
    assert path.read_bytes() == b"old bundle"
    with pytest.raises(OSError):
        write_scene_bundle(scene, tmp_path / "new.mrb")
    assert sorted(os.listdir(tmp_path)) == ["case.mrb"]


def test_missing_or_corrupt_bundle_is_an_input_error(filled_scene, tmp_path):
    scene, _, _ = filled_scene
    with pytest.raises(InputError, match="does not exist"):
        read_scene_bundle(tmp_path / "missing.mrb")
    with pytest.raises(InputError, match="is a folder"):
        read_scene_bundle(tmp_path)
    not_zip = tmp_path / "text.mrb"
    not_zip.write_text("not a bundle")
    truncated = tmp_path / "truncated.mrb"
    truncated.write_bytes(write_scene_bundle(scene, tmp_path / "case.mrb").read_bytes()[:2000])
    no_scene = tmp_path / "no_scene.mrb"
    with zipfile.ZipFile(no_scene, "w") as archive:
        archive.writestr("case/Data/notes.txt", "no scene file here")
    for path in [not_zip, truncated, no_scene]:
        with pytest.raises(InputError, match="not a readable Slicer scene bundle"):
            read_scene_bundle(path)


def test_a_bundle_whose_scene_file_is_broken_leaves_the_scene_as_it_was(scene, tmp_path):
    broken = tmp_path / "broken.mrb"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("broken/broken.mrml", "<MRML><this is not xml")
    before = scene.GetNumberOfNodes()
    with pytest.raises(InputError, match="could not be loaded"):
        read_scene_bundle(broken, scene)
    assert scene.GetNumberOfNodes() == before
