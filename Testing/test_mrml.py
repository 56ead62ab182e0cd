"""clinicalimaging.mrml on real slicer-core MRML nodes: reading, writing, geometry, masks, tables."""

import csv
import os
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from clinicalimaging import InputError, mrml
from clinicalimaging.phantom import make_phantom
from clinicalimaging.phantom_nodes import phantom_volume

VOLUME_NODE_CLASSES = ("vtkMRMLScalarVolumeNode", "vtkMRMLLabelMapVolumeNode", "vtkMRMLVolumeArchetypeStorageNode")


@pytest.fixture(scope="module")
def scene():
    return mrml.get_scene()


@pytest.fixture(scope="module")
def oblique_phantom():
    return make_phantom("ct", shape=(12, 40, 48), spacing=(3.0, 0.7, 0.9), oblique=True, seed=3)


def sitk_ijk_to_ras(image):
    """SimpleITK (LPS) geometry as a RAS IJK-to-RAS matrix, written independently of mrml."""
    matrix = np.eye(4)
    lps_to_ras = np.diag([-1.0, -1.0, 1.0])
    matrix[:3, :3] = lps_to_ras @ np.array(image.GetDirection()).reshape(3, 3) @ np.diag(image.GetSpacing())
    matrix[:3, 3] = lps_to_ras @ np.array(image.GetOrigin())
    return matrix


def node_counts(scene):
    return [scene.GetNumberOfNodesByClass(name) for name in VOLUME_NODE_CLASSES]


def test_get_scene_is_one_scene_with_module_logics(scene):
    import slicer

    assert mrml.get_scene() is scene
    assert slicer.mrmlScene is scene
    assert scene.GetNodeByID("vtkMRMLColorTableNodeLabels") is not None
    assert slicer.modules.segmentations.logic() is not None


@pytest.mark.parametrize("extension", [".nrrd", ".nii", ".nii.gz", ".mha"])
def test_write_read_round_trip_keeps_array_and_oblique_geometry(scene, oblique_phantom, tmp_path, extension):
    node = mrml.volume_from_array(oblique_phantom.image, ijk_to_ras=oblique_phantom.ijk_to_ras, scene=scene)
    path = tmp_path / f"phantom{extension}"
    mrml.write_volume(node, path)
    back = mrml.read_volume(path, scene=scene)
    assert np.array_equal(mrml.array_from_volume(back), oblique_phantom.image)
    assert np.allclose(mrml.ijk_to_ras(back), oblique_phantom.ijk_to_ras, atol=1e-4)
    assert back.GetName().startswith("phantom")  # made unique in the scene
    assert sorted(os.listdir(tmp_path)) == [path.name]


def test_compression_is_chosen_on_write_and_read_back_from_the_header(scene, oblique_phantom, tmp_path):
    node = phantom_volume(oblique_phantom, scene=scene, name="compressed")[0]
    for name, compress, expected in (("gz.nrrd", True, True), ("raw.nrrd", False, False), ("gz.mha", True, True),
                                     ("raw.mha", False, False), ("a.nii.gz", True, True), ("a.nii", True, False)):
        mrml.write_volume(node, tmp_path / name, compress=compress)
        assert mrml.file_is_compressed(tmp_path / name) is expected, name
    assert mrml.file_is_compressed(tmp_path) is None  # a DICOM folder
    back = mrml.read_volume(tmp_path / "raw.nrrd", scene=scene, display=False)
    assert back.GetDisplayNode() is None
    np.testing.assert_array_equal(mrml.array_from_volume(back), mrml.array_from_volume(node))
    assert mrml.new_volume_like(back, mrml.array_from_volume(back)).GetDisplayNode() is None
    assert mrml.new_volume_like(node, mrml.array_from_volume(node)).GetDisplayNode() is not None


def test_write_does_not_redirect_the_storage_node(scene, oblique_phantom, tmp_path):
    node = mrml.volume_from_array(oblique_phantom.image, ijk_to_ras=oblique_phantom.ijk_to_ras, scene=scene)
    mrml.write_volume(node, tmp_path / "first.nrrd")
    read = mrml.read_volume(tmp_path / "first.nrrd", scene=scene)
    mrml.write_volume(read, tmp_path / "second.nii.gz")
    assert read.GetStorageNode().GetFileName() == str(tmp_path / "first.nrrd")


def test_brain1_is_read_like_slicer_with_the_physical_geometry_of_simpleitk(scene, shared_data):
    path = shared_data / "brain1_image.nrrd"
    node = mrml.read_volume(path, scene=scene)
    image = sitk.ReadImage(str(path))
    array = mrml.array_from_volume(node)
    # brain1 is stored left-handed: Slicer flips k, the voxels stay at the same physical points.
    assert np.array_equal(array[::-1], sitk.GetArrayViewFromImage(image))
    matrix = mrml.ijk_to_ras(node)
    for k, j, i in [(0, 0, 0), (3, 100, 120), (24, 255, 7)]:
        ras = matrix @ [i, j, k, 1]
        index = image.TransformPhysicalPointToIndex((-ras[0], -ras[1], ras[2]))
        assert array[k, j, i] == image[index]
    assert mrml.spacing_kji(node) == pytest.approx((6.5, 0.78125, 0.78125))


def test_abdomen_ct_matches_simpleitk(scene, shared_data):
    path = shared_data / "abdomen_ct.nii.gz"
    node = mrml.read_volume(path, scene=scene, name="ct")
    image = sitk.ReadImage(str(path))
    assert node.GetName() == "ct"
    assert np.array_equal(mrml.array_from_volume(node), sitk.GetArrayViewFromImage(image))
    assert np.allclose(mrml.ijk_to_ras(node), sitk_ijk_to_ras(image))
    assert node.GetDisplayNode() is not None


def write_dicom_series(image_int16, folder, *, series_uid, slices=None, prefix="slice"):
    """Write a 3D int16 SimpleITK image as one CT file per k slice, with the geometry tags.

    File names are deliberately not in slice order.
    """
    folder.mkdir(exist_ok=True)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    direction = image_int16.GetDirection()
    orientation = "\\".join(f"{value:.10f}" for value in (*direction[0:7:3], *direction[1:8:3]))
    depth = image_int16.GetDepth()
    for k in range(depth) if slices is None else slices:
        slice_image = image_int16[:, :, k]
        position = image_int16.TransformIndexToPhysicalPoint((0, 0, k))
        tags = {"0008|0060": "CT", "0008|0016": "1.2.840.10008.5.1.4.1.1.2", "0008|0018": f"{series_uid}.{k + 1}",
                "0020|000d": "1.2.826.0.1.3680043.2.1125.1", "0020|000e": series_uid,
                "0020|0037": orientation, "0020|0032": "\\".join(f"{value:.10f}" for value in position),
                "0020|0013": str(k + 1), "0018|0050": f"{image_int16.GetSpacing()[2]:.6f}",
                "0028|0030": "\\".join(f"{value:.6f}" for value in image_int16.GetSpacing()[1::-1]),
                "0010|0010": "Phantom^CT", "0008|103e": "phantom"}
        for tag, value in tags.items():
            slice_image.SetMetaData(tag, value)
        writer.SetFileName(str(folder / f"{prefix}{(k * 7) % depth:03d}.dcm"))
        writer.Execute(slice_image)


@pytest.fixture(scope="module")
def dicom_phantom():
    phantom = make_phantom("ct", shape=(10, 32, 40), spacing=(2.5, 0.8, 0.7), oblique=True, seed=5)
    node = mrml.volume_from_array(np.round(phantom.image).astype(np.int16), ijk_to_ras=phantom.ijk_to_ras)
    return phantom, mrml.sitk_image_from_volume(node)


def test_dicom_folder_reads_every_slice_in_order_with_its_geometry(scene, dicom_phantom, tmp_path):
    phantom, image = dicom_phantom
    write_dicom_series(image, tmp_path / "series", series_uid="1.2.826.0.1.3680043.2.1125.2")
    (tmp_path / "series" / "README.txt").write_text("not a DICOM file")
    node = mrml.read_volume(tmp_path / "series", scene=scene)
    assert node.GetName() == "series"
    assert np.array_equal(mrml.array_from_volume(node), sitk.GetArrayViewFromImage(image))
    assert mrml.spacing_kji(node) == pytest.approx(phantom.spacing, abs=1e-4)
    assert np.allclose(mrml.ijk_to_ras(node), phantom.ijk_to_ras, atol=1e-3)


def test_dicom_folder_with_two_series_or_none_is_refused(scene, dicom_phantom, tmp_path):
    _, image = dicom_phantom
    folder = tmp_path / "mixed"
    write_dicom_series(image, folder, series_uid="1.2.826.0.1.3680043.2.1125.3", slices=[0, 1])
    write_dicom_series(image, folder, series_uid="1.2.826.0.1.3680043.2.1125.4", slices=[2, 3], prefix="other")
    with pytest.raises(InputError, match="2 DICOM series"):
        mrml.read_volume(folder, scene=scene)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no DICOM files"):
        mrml.read_volume(tmp_path / "empty", scene=scene)


def make_bad_input(kind, folder):
    path = folder / {"missing": "missing.nrrd", "empty": "empty.nrrd", "text": "notes.nrrd", "rgb": "photo.nrrd",
                     "4d": "series4d.nrrd", "extension": "image.png"}[kind]
    if kind == "empty":
        path.touch()
    elif kind in ("text", "extension"):
        path.write_text("this is not an image\n")
    elif kind == "rgb":
        sitk.WriteImage(sitk.GetImageFromArray(np.zeros((4, 5, 6, 3), np.uint8), isVector=True), str(path))
    elif kind == "4d":
        frames = [sitk.GetImageFromArray(np.full((4, 5, 6), t, np.int16)) for t in range(3)]
        sitk.WriteImage(sitk.JoinSeries(frames), str(path))
    return path


@pytest.mark.parametrize("kind, message", [("missing", "does not exist"), ("empty", "empty"),
                                           ("text", "not a readable image"), ("rgb", "3 values per voxel"),
                                           ("4d", "4D image"), ("extension", "unsupported file type")])
def test_bad_input_file_raises_input_error_naming_it_and_leaves_no_node(scene, tmp_path, kind, message):
    path = make_bad_input(kind, tmp_path)
    before = node_counts(scene)
    with pytest.raises(InputError, match=message) as error:
        mrml.read_volume(path, scene=scene)
    assert path.name in str(error.value)
    assert node_counts(scene) == before


@pytest.mark.parametrize("name, kind, message", [("out.nrrd", "volume", None), ("out.nii.gz", "volume", None),
                                                 ("out.seg.nrrd", "segmentation", None), ("t.tsv", "table", None),
                                                 ("out.png", "volume", "unsupported extension"),
                                                 ("out.nhdr", "volume", "unsupported extension"),
                                                 ("t.xlsx", "table", "unsupported extension"),
                                                 ("out.nrrd", "archive", "Unknown output kind")])
def test_check_output_path_extensions(tmp_path, name, kind, message):
    if message is None:
        assert mrml.check_output_path(tmp_path / name, kind) == tmp_path / name
    else:
        with pytest.raises(InputError, match=message):
            mrml.check_output_path(tmp_path / name, kind)


def test_check_output_path_folders(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        mrml.check_output_path(tmp_path / "missing" / "out.nrrd")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is not a folder"):  # fails even for root, unlike permissions
        mrml.check_output_path(tmp_path / "file" / "out.nrrd")
    (tmp_path / "folder.nrrd").mkdir()
    with pytest.raises(InputError, match="is a folder, not a file"):
        mrml.check_output_path(tmp_path / "folder.nrrd")
    (tmp_path / "results").mkdir()
    with pytest.raises(InputError, match="is a folder, not a file"):  # not "unsupported extension"
        mrml.check_output_path(tmp_path / "results", "table")


def test_check_output_path_unwritable_folder(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running with privileges that ignore folder permissions (root)")
        with pytest.raises(InputError, match="not writable"):
            mrml.check_output_path(locked / "out.nrrd")
    finally:
        locked.chmod(0o700)


def test_failed_write_leaves_the_old_file_and_no_temporary_file(scene, oblique_phantom, tmp_path):
    import vtk

    good = mrml.volume_from_array(oblique_phantom.image, ijk_to_ras=oblique_phantom.ijk_to_ras, scene=scene)
    path = tmp_path / "out.nrrd"
    mrml.write_volume(good, path)
    content = path.read_bytes()
    broken = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "broken")
    broken.SetAndObserveImageData(vtk.vtkImageData())  # no voxels: the writer fails
    with pytest.raises(OSError, match="out.nrrd"):
        mrml.write_volume(broken, path)
    assert sorted(os.listdir(tmp_path)) == ["out.nrrd"]
    assert path.read_bytes() == content
    with pytest.raises(InputError, match="does not exist"):
        mrml.write_volume(good, tmp_path / "missing" / "out.nrrd")
    assert not (tmp_path / "missing").exists()


def test_new_volume_like_copies_oblique_geometry_and_leaves_the_reference_alone(scene, oblique_phantom):
    reference = mrml.volume_from_array(oblique_phantom.image, ijk_to_ras=oblique_phantom.ijk_to_ras, scene=scene,
                                       name="reference")
    array_before, matrix_before = mrml.array_from_volume(reference), mrml.ijk_to_ras(reference)
    output = mrml.new_volume_like(reference, oblique_phantom.image * 2)
    assert output.GetName() == "reference_output" and output.GetScene() is scene
    assert np.array_equal(mrml.ijk_to_ras(output), matrix_before)
    assert np.array_equal(mrml.array_from_volume(output), oblique_phantom.image * 2)
    assert output.GetDisplayNode() is not None
    assert np.array_equal(mrml.array_from_volume(reference), array_before)
    assert np.array_equal(mrml.ijk_to_ras(reference), matrix_before)
    label = mrml.new_volume_like(reference, oblique_phantom.labels == 2, labelmap=True)
    assert label.IsA("vtkMRMLLabelMapVolumeNode") and mrml.array_from_volume(label).dtype == np.uint8
    updated = mrml.new_volume_like(reference, np.zeros(oblique_phantom.image.shape, np.int64), node=output,
                                   name="zeros")
    assert updated is output and output.GetName() == "zeros"
    assert mrml.array_from_volume(output).dtype == np.int32


def test_voxels_of_volume_is_a_read_only_view_of_the_node(scene, oblique_phantom):
    node = mrml.volume_from_array(oblique_phantom.image, ijk_to_ras=oblique_phantom.ijk_to_ras, scene=scene)
    view = mrml.voxels_of_volume(node)
    assert np.array_equal(view, oblique_phantom.image) and not view.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        view[0, 0, 0] = 1
    copy = mrml.array_from_volume(node)
    assert copy.flags.writeable and not np.shares_memory(copy, view)
    assert np.shares_memory(view, mrml.voxels_of_volume(node))


def test_new_volume_like_takes_over_an_empty_voxels_array_once(scene, oblique_phantom):
    reference = mrml.volume_from_array(oblique_phantom.image, ijk_to_ras=oblique_phantom.ijk_to_ras, scene=scene)
    voxels = mrml.empty_voxels_like(reference)
    assert voxels.shape == oblique_phantom.image.shape and voxels.dtype == oblique_phantom.image.dtype
    voxels[:] = oblique_phantom.image + 1
    first = mrml.new_volume_like(reference, voxels)
    assert np.shares_memory(mrml.voxels_of_volume(first), voxels)  # taken over, not copied
    second = mrml.new_volume_like(reference, voxels)  # already taken: the second node gets a copy
    assert not np.shares_memory(mrml.voxels_of_volume(second), voxels)
    assert np.array_equal(mrml.voxels_of_volume(second), oblique_phantom.image + 1)
    # Part of a staged array, or one of another type, is copied too.
    part = mrml.empty_voxels_like(reference, np.dtype(np.float32))[:, ::-1]
    part[:] = 2.0
    third = mrml.new_volume_like(reference, part)
    assert not np.shares_memory(mrml.voxels_of_volume(third), part) and mrml.voxels_of_volume(third).dtype == np.float32
    assert np.all(mrml.voxels_of_volume(third) == 2.0)
    # A view of another node's voxels is never taken over: the nodes keep their own memory.
    fourth = mrml.new_volume_like(reference, mrml.voxels_of_volume(first))
    assert not np.shares_memory(mrml.voxels_of_volume(fourth), mrml.voxels_of_volume(first))


def test_new_volume_like_refuses_wrong_shape_and_the_reference_as_output(scene, oblique_phantom):
    reference = mrml.volume_from_array(oblique_phantom.image, ijk_to_ras=oblique_phantom.ijk_to_ras, scene=scene)
    with pytest.raises(InputError, match="shape"):
        mrml.new_volume_like(reference, oblique_phantom.image[:-1])
    with pytest.raises(InputError, match="must differ"):
        mrml.new_volume_like(reference, oblique_phantom.image, node=reference)


@pytest.mark.parametrize("values, dtype", [(np.array([[[1, 2]]], np.int64), np.int32),
                                           (np.array([[[1, 2 ** 40]]], np.int64), np.float64),
                                           (np.array([[[True, False]]]), np.uint8),
                                           (np.array([[[1.5, 2]]], np.float16), np.float32)])
def test_volume_from_array_converts_dtypes_vtk_rejects(scene, values, dtype):
    node = mrml.volume_from_array(values, ijk_to_ras=np.eye(4), scene=scene)
    array = mrml.array_from_volume(node)
    assert array.dtype == dtype and np.array_equal(array, values.astype(dtype))


def test_sitk_round_trip_keeps_geometry(scene, oblique_phantom):
    node = mrml.volume_from_array(oblique_phantom.labels, ijk_to_ras=oblique_phantom.ijk_to_ras, scene=scene)
    image = mrml.sitk_image_from_volume(node)
    assert np.allclose(sitk_ijk_to_ras(image), oblique_phantom.ijk_to_ras)
    back = mrml.volume_from_sitk_image(image, scene=scene, name="back", labelmap=True)
    assert back.IsA("vtkMRMLLabelMapVolumeNode")
    assert np.allclose(mrml.ijk_to_ras(back), oblique_phantom.ijk_to_ras)
    assert np.array_equal(mrml.array_from_volume(back), oblique_phantom.labels)
    with pytest.raises(InputError, match="3D single-component"):
        mrml.volume_from_sitk_image(sitk.Image([4, 4], sitk.sitkVectorFloat32, 3), scene=scene)


def test_label_mask_like_on_the_same_grid_and_on_a_coarser_grid(scene, oblique_phantom):
    volume, labels = phantom_volume(oblique_phantom, scene=scene)
    lesion = oblique_phantom.labels == oblique_phantom.lesion_label
    assert np.array_equal(mrml.label_mask_like(labels, volume, oblique_phantom.lesion_label), lesion)
    assert np.array_equal(mrml.label_mask_like(labels, volume), oblique_phantom.labels > 0)
    # The same label map stored on a grid twice as coarse in plane, with a shifted origin.
    fine = mrml.sitk_image_from_volume(labels)
    coarse_spacing = [2 * fine.GetSpacing()[0], 2 * fine.GetSpacing()[1], fine.GetSpacing()[2]]
    coarse_size = [fine.GetSize()[0] // 2 + 2, fine.GetSize()[1] // 2 + 2, fine.GetSize()[2]]
    origin = np.array(fine.GetOrigin()) - np.array(fine.GetDirection()).reshape(3, 3) @ [1.0, 1.0, 0.0]
    coarse = sitk.Resample(fine, coarse_size, sitk.Transform(), sitk.sitkNearestNeighbor, origin.tolist(),
                           coarse_spacing, fine.GetDirection(), 0)
    coarse_node = mrml.volume_from_sitk_image(coarse, scene=scene, name="coarse", labelmap=True)
    mask = mrml.label_mask_like(coarse_node, volume, oblique_phantom.lesion_label)
    assert mask.shape == lesion.shape and mask.dtype == np.uint8
    dice = 2 * np.sum(mask & lesion) / (mask.sum() + lesion.sum())
    assert dice > 0.7  # a small lesion loses detail on the coarse grid; a misplaced one would score ~0
    assert np.allclose(np.argwhere(mask).mean(axis=0), np.argwhere(lesion).mean(axis=0), atol=1.0)


def test_label_mask_like_names_missing_label_and_present_values(scene, oblique_phantom):
    volume, labels = phantom_volume(oblique_phantom, scene=scene)
    with pytest.raises(InputError, match=r"label value 42 .*label values there: 1-8;"):
        mrml.label_mask_like(labels, volume, 42)
    far = mrml.volume_from_array(oblique_phantom.labels, ijk_to_ras=np.eye(4), scene=scene)
    far.SetOrigin(5000.0, 5000.0, 5000.0)
    with pytest.raises(InputError, match="label values there: none"):
        mrml.label_mask_like(far, volume)


def test_segment_mask_by_id_and_by_name(scene, oblique_phantom):
    import slicer

    volume, labels = phantom_volume(oblique_phantom, scene=scene)
    segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "organs")
    segmentation.SetReferenceImageGeometryParameterFromVolumeNode(volume)
    assert slicer.vtkSlicerSegmentationsModuleLogic.ImportLabelmapToSegmentationNode(labels, segmentation)
    segments = segmentation.GetSegmentation()
    lesion_id = segments.GetSegmentIdBySegmentName("lesion")  # named by phantom_volume's color table
    assert segments.GetSegment(lesion_id).GetLabelValue() == oblique_phantom.lesion_label
    lesion = oblique_phantom.labels == oblique_phantom.lesion_label
    before = scene.GetNumberOfNodes()
    assert np.array_equal(mrml.segment_mask(segmentation, lesion_id, volume), lesion)
    assert np.array_equal(mrml.segment_mask(segmentation, "lesion", volume), lesion)
    assert scene.GetNumberOfNodes() == before
    with pytest.raises(InputError, match="no segment 'tumour'.*liver, .*lesion"):
        mrml.segment_mask(segmentation, "tumour", volume)


@pytest.mark.parametrize("extension, delimiter", [(".csv", ","), (".tsv", "\t")])
def test_table_round_trip(scene, tmp_path, extension, delimiter):
    import vtk

    rows = [{"method": "original", "cnr": 1.25, "voxels": 10},
            {"method": "clahe, 2D", "cnr": 2.5, "voxels": 12, "note": "x"}]
    table = mrml.table_from_rows(rows, name="metrics", scene=scene)
    assert table.GetColumnType("cnr") == vtk.VTK_DOUBLE and table.GetColumnType("method") == vtk.VTK_STRING
    path = tmp_path / f"metrics{extension}"
    mrml.write_table(table, path)
    assert sorted(os.listdir(tmp_path)) == [path.name]  # no schema sidecar
    with open(path, newline="") as file:
        read = list(csv.DictReader(file, delimiter=delimiter))
    assert [row["method"] for row in read] == ["original", "clahe, 2D"]
    assert [float(row["cnr"]) for row in read] == [1.25, 2.5]
    assert [row["voxels"] for row in read] == ["10", "12"]
    assert [row["note"] for row in read] == ["", "x"]
    back = scene.AddNewNodeByClass("vtkMRMLTableNode")
    storage = scene.AddNewNodeByClass("vtkMRMLTableStorageNode")
    storage.SetFileName(str(path))
    assert storage.ReadData(back) and back.GetNumberOfRows() == 2  # Slicer reads it (columns as text)
    replaced = mrml.table_from_rows([{"a": 1}], node=table)
    assert replaced is table and table.GetNumberOfColumns() == 1 and table.GetNumberOfRows() == 1


def test_write_table_checks_the_path_first(scene, tmp_path):
    table = mrml.table_from_rows([{"a": 1}], scene=scene)
    with pytest.raises(InputError, match="unsupported extension"):
        mrml.write_table(table, tmp_path / "t.xlsx")
    with pytest.raises(InputError, match="does not exist"):
        mrml.write_table(table, Path(tmp_path) / "no" / "t.csv")
    assert os.listdir(tmp_path) == []


def test_staged_outputs_are_all_or_nothing(tmp_path):
    first, second = tmp_path / "a.txt", tmp_path / "sub" / "b.txt"
    second.parent.mkdir()
    first.write_text("old")

    with pytest.raises(RuntimeError):
        with mrml.staged_outputs([first, second]) as staged:
            staged[first].write_text("new")
            staged[second].write_text("new")
            raise RuntimeError("the second writer failed")
    assert first.read_text() == "old" and not second.exists()
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["a.txt", "sub"]

    with mrml.staged_outputs([first, second]) as staged:
        staged[first].write_text("new")
        staged[first].with_name("a.schema.txt").write_text("sidecar")
        staged[second].write_text("new")
    assert first.read_text() == second.read_text() == "new"
    assert (tmp_path / "a.schema.txt").read_text() == "sidecar"
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["a.schema.txt", "a.txt", "b.txt", "sub"]


def test_table_numbers_are_written_exactly_and_text_is_quoted(scene, tmp_path):
    rows = [{"method": 'say "hi", then', "value": 1 / 3, "missing": None}, {"method": "b", "value": 1e-12}]
    mrml.write_table(mrml.table_from_rows(rows, scene=scene), tmp_path / "t.csv")
    with open(tmp_path / "t.csv", newline="") as file:
        read = list(csv.DictReader(file))
    assert read[0]["method"] == 'say "hi", then'
    assert [float(row["value"]) for row in read] == [1 / 3, 1e-12]
    assert read[0]["missing"] == "nan"


def test_truncated_file_and_folder_inputs_are_described_without_internals(scene, oblique_phantom, tmp_path):
    node = mrml.volume_from_array(oblique_phantom.image, ijk_to_ras=oblique_phantom.ijk_to_ras, scene=scene)
    mrml.write_volume(node, tmp_path / "whole.nrrd")
    data = (tmp_path / "whole.nrrd").read_bytes()
    (tmp_path / "cut.nrrd").write_bytes(data[:len(data) // 2])
    (tmp_path / "folder.nrrd").mkdir()
    before = node_counts(scene)
    with pytest.raises(InputError, match="truncated or corrupt") as error:
        mrml.read_volume(tmp_path / "cut.nrrd", scene=scene)
    assert "vtkMRML" not in str(error.value)
    with pytest.raises(InputError, match="is a folder, not a file"):
        mrml.read_volume(tmp_path / "folder.nrrd", scene=scene)
    assert node_counts(scene) == before


@pytest.mark.parametrize("direction, reversed_", [((1, 0, 0, 0, 1, 0, 0, 0, -1), True),
                                                  ((-1, 0, 0, 0, 1, 0, 0, 0, 1), True),
                                                  ((1, 0, 0, 0, 1, 0, 0, 0, 1), False)])
@pytest.mark.parametrize("extension", [".nrrd", ".nii.gz", ".mha"])  # NRRD headers are read by Teem, others by ITK
def test_file_slice_index_undoes_the_reversal_of_left_handed_files(scene, tmp_path, direction, reversed_, extension):
    array = np.arange(5 * 4 * 3, dtype=np.int16).reshape(5, 4, 3)
    image = sitk.GetImageFromArray(array)
    image.SetDirection(direction)
    image.SetSpacing((0.5, 0.7, 2.0))
    sitk.WriteImage(image, str(tmp_path / f"volume{extension}"))
    node = mrml.read_volume(tmp_path / f"volume{extension}", scene=scene)
    read = mrml.array_from_volume(node)
    for k in range(5):
        assert np.array_equal(read[k], array[mrml.file_slice_index(node, k)])
    assert (mrml.file_slice_index(node, 1) == 3) == reversed_


def test_read_segmentation_round_trip_and_bad_files(scene, oblique_phantom, tmp_path):
    volume, labels = phantom_volume(oblique_phantom, scene=scene)
    lesion = oblique_phantom.labels == oblique_phantom.lesion_label
    segmentation = mrml.segmentation_from_mask(lesion, volume, segment_name="lesion")
    mrml.write_segmentation(segmentation, tmp_path / "lesion.seg.nrrd")
    read = mrml.read_segmentation(tmp_path / "lesion.seg.nrrd", scene=scene)
    assert read.GetName().startswith("lesion")
    assert np.array_equal(mrml.segment_mask(read, "lesion", volume), lesion)
    (tmp_path / "notes.seg.nrrd").write_text("not a segmentation")
    (tmp_path / "folder.seg.nrrd").mkdir()
    before = scene.GetNumberOfNodesByClass("vtkMRMLSegmentationNode")
    for name, message in (("absent.seg.nrrd", "does not exist"), ("folder.seg.nrrd", "is a folder, not a file"),
                          ("lesion.nrrd", "must be a .seg.nrrd"), ("notes.seg.nrrd", "not a readable segmentation")):
        if name == "lesion.nrrd":
            (tmp_path / name).write_text("x")
        with pytest.raises(InputError, match=message):
            mrml.read_segmentation(tmp_path / name, scene=scene)
    assert scene.GetNumberOfNodesByClass("vtkMRMLSegmentationNode") == before


def test_staged_outputs_count_as_written_only_when_the_outermost_block_has_moved_its_files(tmp_path):
    from clinicalimaging import interrupts

    before = interrupts.written_count()
    with mrml.staged_outputs([tmp_path / "a.txt"]) as staged:
        with mrml.staged_outputs([staged[tmp_path / "a.txt"]]) as inner:  # as write_node nests inside a block
            inner[staged[tmp_path / "a.txt"]].write_text("a")
        assert interrupts.written_count() == before
    assert interrupts.written_count() == before + 1
    with pytest.raises(RuntimeError), mrml.staged_outputs([tmp_path / "b.txt"]):
        raise RuntimeError("failed")
    assert interrupts.written_count() == before + 1
    with mrml.temporary_folder() as folder:
        assert folder.is_dir()
    assert not folder.exists()


def test_dicom_series_with_missing_slices_is_refused_and_names_the_gap(scene, dicom_phantom, tmp_path):
    _, image = dicom_phantom
    write_dicom_series(image, tmp_path / "gap", series_uid="1.2.826.0.1.3680043.2.1125.7",
                       slices=[0, 1, 2, 3, 6, 7, 8, 9])
    before = node_counts(scene)
    with pytest.raises(InputError, match=r"missing slices: about 2 slice\(s\) absent.*instance 4 .*instance 7 "):
        mrml.read_volume(tmp_path / "gap", scene=scene)
    assert node_counts(scene) == before


@pytest.mark.parametrize("name", ["volume.nii", "volume.nii.gz"])
@pytest.mark.parametrize("kept", [0.5, 0.999])
def test_truncated_nifti_is_refused(scene, tmp_path, name, kept):
    array = np.random.default_rng(3).normal(100, 30, (20, 32, 32)).astype(np.int16)
    sitk.WriteImage(sitk.GetImageFromArray(array), str(tmp_path / name))
    whole = mrml.array_from_volume(mrml.read_volume(tmp_path / name, scene=scene))
    np.testing.assert_array_equal(whole, array)
    data = (tmp_path / name).read_bytes()
    (tmp_path / f"cut-{name}").write_bytes(data[:int(len(data) * kept)])
    before = node_counts(scene)
    with pytest.raises(InputError, match="truncated"):
        mrml.read_volume(tmp_path / f"cut-{name}", scene=scene)
    assert node_counts(scene) == before
