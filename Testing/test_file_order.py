"""Outputs of a left-handed or oblique input keep the input file's grid: size, origin, spacing, direction and
voxel order, so that arrays pair voxel for voxel in any program that reads both files."""

import numpy as np
import pytest
import SimpleITK as sitk

from clinicalimaging import mrml
from clinicalimaging.metrics import dice
from clinicalimaging.phantom import make_phantom
from outline import lesion_outline
from test_cli import assert_same_geometry, oblique_direction, run_cli

FORMATS = [".nrrd", ".nii.gz", ".nii", ".mha"]


def _left_handed(direction):
    """A direction (row-major 3x3, LPS) with its slice axis reversed: left-handed."""
    matrix = np.reshape(direction, (3, 3)).copy()
    matrix[:, 2] *= -1
    return tuple(matrix.ravel())


def _write_left_handed_case(folder, extension, *, direction=None, ramp=0.0):
    """An MR phantom stored left-handed (and oblique) in ``extension``, its outline, and its lesion in file order.

    The file's slices run against the right-handed frame Slicer reads it into, as in
    brain MRIs exported with a descending slice order. ``ramp`` adds that much
    intensity per slice, so that every slice differs from its mirror image.
    """
    phantom = make_phantom("mr", shape=(12, 64, 64), spacing=(2.5, 0.8, 0.8), oblique=True)
    outline, lesion = lesion_outline(phantom)
    image = phantom.image + ramp * np.arange(phantom.image.shape[0])[:, None, None]
    volume = mrml.volume_from_array(image.astype(np.float32), ijk_to_ras=phantom.ijk_to_ras, name="phantom")
    markups = mrml.markups_from_points(outline, volume)
    mrml.write_markups(markups, folder / "outline.mrk.json")
    mrml.write_volume(volume, folder / "right-handed.nrrd")
    for node in (volume, markups):
        mrml.get_scene().RemoveNode(node)
    right = sitk.ReadImage(str(folder / "right-handed.nrrd"))
    (folder / "right-handed.nrrd").unlink()
    flipped = sitk.Flip(right, [False, False, True])  # same physical voxels, slice order and direction reversed
    if direction is not None:
        flipped.SetDirection(direction)
    assert np.linalg.det(np.reshape(flipped.GetDirection(), (3, 3))) < 0
    path = folder / f"input{extension}"
    sitk.WriteImage(flipped, str(path))
    return path, folder / "outline.mrk.json", lesion[::-1]


@pytest.mark.parametrize("extension", FORMATS)
def test_written_volume_of_a_left_handed_file_has_the_file_grid_and_voxel_order(tmp_path, extension):
    source, _, _ = _write_left_handed_case(tmp_path, extension)
    node = mrml.read_volume(source, display=False)
    labels = mrml.new_volume_like(node, mrml.array_from_volume(node) > 200, labelmap=True)
    for output, written in ((f"same{extension}", node), (f"labels{extension}", labels)):
        mrml.write_volume(written, tmp_path / output)
    original = sitk.ReadImage(str(source))
    copy, mask = (sitk.ReadImage(str(tmp_path / name)) for name in (f"same{extension}", f"labels{extension}"))
    assert_same_geometry(copy, original)
    assert_same_geometry(mask, original)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(copy), sitk.GetArrayFromImage(original))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(mask), sitk.GetArrayFromImage(original) > 200)
    reread = mrml.read_volume(tmp_path / f"same{extension}", display=False)  # and back into the same node frame
    np.testing.assert_array_equal(mrml.array_from_volume(reread), mrml.array_from_volume(node))
    np.testing.assert_allclose(mrml.ijk_to_ras(reread), mrml.ijk_to_ras(node), atol=1e-5)


def _slice_order_kept(written, original):
    """Whether each slice of ``written`` resembles the same slice of ``original`` more than the mirrored one."""
    written, original = (sitk.GetArrayFromImage(image).astype(float) for image in (written, original))
    same = np.abs(written - original).mean()
    mirrored = np.abs(written - original[::-1]).mean()
    return same < 0.5 * mirrored


@pytest.mark.parametrize("extension", [".nrrd", ".nii.gz", ".mha"])
def test_enhance_outputs_of_a_left_handed_oblique_input_pair_with_it_by_array(tmp_path, extension):
    source, _, _ = _write_left_handed_case(tmp_path, extension, direction=_left_handed(oblique_direction()),
                                           ramp=40.0)
    outputs = [tmp_path / f"{name}{extension}" for name in ("enhanced", "order", "fd")]

    result = run_cli("enhance", source, outputs[0], "--order-map", outputs[1], "--fractal-map", outputs[2], "--quiet")

    assert result.returncode == 0, result.stderr
    original = sitk.ReadImage(str(source))
    for path in outputs:
        assert_same_geometry(sitk.ReadImage(str(path)), original)
    assert _slice_order_kept(sitk.ReadImage(str(outputs[0])), original)


@pytest.mark.parametrize("extension", [".nii.gz", ".nrrd", ".seg.nrrd"])
def test_segment_outputs_of_a_left_handed_input_pair_with_the_reference_by_array(tmp_path, extension):
    source, outline, lesion = _write_left_handed_case(tmp_path, ".nii.gz")
    labels = tmp_path / f"lesion{extension}"
    margin, rough = (tmp_path / f"{name}{extension.removeprefix('.seg')}" for name in ("margin", "rough"))

    result = run_cli("segment", source, labels, "--outline", outline, "--margin-map", margin, "--rough", rough,
                     "--quiet")

    assert result.returncode == 0, result.stderr
    original = sitk.ReadImage(str(source))
    arrays = {}
    for path in (labels, margin, rough):
        image = sitk.ReadImage(str(path))
        assert_same_geometry(image, original)
        arrays[path] = sitk.GetArrayFromImage(image)
    assert dice(arrays[labels] == 1, lesion) > 0.7  # array against array, as nibabel or numpy users pair them
    assert dice(arrays[rough] > 0, lesion) > 0.6
    assert np.median(arrays[margin][lesion]) > 0 > np.median(arrays[margin][~lesion & (arrays[margin] != 0)])


def test_pyradiomics_takes_the_input_image_with_our_label_map(tmp_path):
    """A real downstream client: pyradiomics refuses an image and a mask whose grids differ."""
    from radiomics import featureextractor

    source, outline, lesion = _write_left_handed_case(tmp_path, ".nii.gz", direction=_left_handed(oblique_direction()))
    labels = tmp_path / "lesion.nii.gz"
    assert run_cli("segment", source, labels, "--outline", outline, "--quiet").returncode == 0

    extractor = featureextractor.RadiomicsFeatureExtractor()
    extractor.disableAllFeatures()
    extractor.enableFeatureClassByName("shape")
    features = extractor.execute(str(source), str(labels), label=1)

    voxels = int((sitk.GetArrayFromImage(sitk.ReadImage(str(labels))) == 1).sum())
    voxel_volume = float(np.prod(sitk.ReadImage(str(source)).GetSpacing()))
    assert float(features["original_shape_VoxelVolume"]) == pytest.approx(voxels * voxel_volume)
    assert float(features["original_shape_Maximum3DDiameter"]) > 0


@pytest.mark.slow
def test_brain1_a_real_left_handed_file_keeps_its_grid(shared_data, tmp_path):
    source = shared_data / "brain1_image.nrrd"
    original = sitk.ReadImage(str(source))
    assert np.linalg.det(np.reshape(original.GetDirection(), (3, 3))) < 0  # the case the issue reported
    output = tmp_path / "brain1_enhanced.nii.gz"

    result = run_cli("enhance", source, output, "--quiet")

    assert result.returncode == 0, result.stderr
    enhanced = sitk.ReadImage(str(output))
    assert_same_geometry(enhanced, original)
    assert _slice_order_kept(enhanced, original)


def test_outputs_of_a_dicom_series_have_the_series_geometry(tmp_path):
    """The series as ITK's series reader (and nibabel, pydicom users) sees it: same grid, same voxel order."""
    from test_mrml import write_dicom_series

    phantom = make_phantom("ct", shape=(10, 32, 40), spacing=(2.5, 0.8, 0.7), oblique=True, seed=5)
    node = mrml.volume_from_array(np.round(phantom.image).astype(np.int16), ijk_to_ras=phantom.ijk_to_ras)
    write_dicom_series(mrml.sitk_image_from_volume(node), tmp_path / "series",
                       series_uid="1.2.826.0.1.3680043.2.1125.9")
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(tmp_path / "series")))
    series = reader.Execute()

    result = run_cli("enhance", tmp_path / "series", tmp_path / "enhanced.nii.gz", "--quiet")

    assert result.returncode == 0, result.stderr
    enhanced = sitk.ReadImage(str(tmp_path / "enhanced.nii.gz"))
    assert_same_geometry(enhanced, series)
    assert _slice_order_kept(enhanced, series)
