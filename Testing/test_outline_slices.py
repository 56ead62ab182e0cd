"""One slice numbering: progress, summaries and errors name the input file's slice index (and DICOM instance)."""

import re

import numpy as np
import pytest
import SimpleITK as sitk

from clinicalimaging import InputError, mrml
from clinicalimaging.phantom import make_phantom
from clinicalimaging.segment.evaluation import simulate_outline
from clinicalimaging.segment.nodes import SliceNames, segment_volume
from test_cli import assert_clean_input_error, run_cli, write_image
from test_mrml import write_dicom_series

LEFT_HANDED = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, -1.0)  # Slicer reads such a file with its k axis reversed


@pytest.fixture(scope="module")
def left_handed(tmp_path_factory):
    """A left-handed MR phantom file, its lesion in the file's slice order, and an outline file drawn on it.

    The outline is placed on the volume as Slicer loads it (k reversed), as a user's would be.
    """
    folder = tmp_path_factory.mktemp("left_handed")
    phantom = make_phantom("mr", shape=(24, 96, 96), spacing=(2.5, 0.8, 0.8))
    lesion = phantom.labels == phantom.lesion_label  # the file's own slice order
    image = write_image(folder / "image.nrrd", phantom.image, direction=LEFT_HANDED)
    node = mrml.read_volume(image)
    points = simulate_outline(lesion[::-1])  # on the node's slices
    outline = mrml.markups_from_points(points, node)
    mrml.write_markups(outline, folder / "outline.mrk.json")
    largest = int(np.argmax(lesion.sum(axis=(1, 2))))
    assert mrml.file_slice_index(node, int(points[0, 0])) == largest != int(points[0, 0])
    for created in (node, outline):
        created.GetScene().RemoveNode(created)
    return folder, image, lesion, points, largest


def _outline(folder, image, points, name):
    node = mrml.read_volume(image)
    outline = mrml.markups_from_points(points, node)
    mrml.write_markups(outline, folder / name)
    for created in (node, outline):
        created.GetScene().RemoveNode(created)
    return folder / name


def test_progress_summary_and_output_file_name_the_same_slices_of_a_left_handed_file(left_handed, tmp_path):
    folder, image, lesion, _, largest = left_handed

    result = run_cli("segment", image, tmp_path / "lesion.nrrd", "--outline", folder / "outline.mrk.json",
                     "--progress-lines")

    assert result.returncode == 0, result.stderr
    assert f"Refining the lesion outline on slice {largest}\n" in result.stdout
    written = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "lesion.nrrd")))
    slices = np.flatnonzero(written.any(axis=(1, 2)))  # the output file's own slice order
    assert lesion[slices].any() and slices[0] <= largest <= slices[-1]
    assert re.search(rf"lesion: [\d.]+ mL, \d+ voxels, slices {slices[0]} to {slices[-1]} \(file slice indices\)",
                     result.stdout), result.stdout


def test_a_stray_point_on_a_left_handed_file_is_named_by_the_file_slice_index(left_handed, tmp_path):
    folder, image, lesion, points, largest = left_handed
    stray = points.copy()
    stray[0, 0] += 2  # two node slices on: two file slices back
    path = _outline(tmp_path, image, stray, "stray.mrk.json")

    result = run_cli("segment", image, tmp_path / "lesion.nrrd", "--outline", path)

    assert_clean_input_error(result)
    assert f"slice {largest - 2}: 1 point(s)" in result.stderr


def test_an_outline_point_outside_a_left_handed_volume_is_said_in_mm_and_by_file_slice(left_handed, tmp_path):
    folder, image, lesion, points, _ = left_handed
    outside = points.copy()
    outside[:, 0] = -3.3  # 2.8 slices of 2.5 mm before the node's first slice: past the file's last
    path = _outline(tmp_path, image, outside, "outside.mrk.json")

    result = run_cli("segment", image, tmp_path / "lesion.nrrd", "--outline", path)

    assert_clean_input_error(result)
    last = lesion.shape[0] - 1
    assert "12 of 12 outline points lie outside the image volume: " in result.stderr
    assert re.search(rf"point 1 at LPS \(-?[\d.]+, -?[\d.]+, -?[\d.]+\) mm lies 7\.0 mm outside, nearest slice {last}",
                     result.stderr), result.stderr
    assert "k=" not in result.stderr


def test_a_dicom_series_names_its_slices_by_index_and_instance_number(tmp_path):
    phantom = make_phantom("mr", shape=(12, 64, 64), spacing=(2.5, 0.8, 0.8))
    written = mrml.volume_from_array(np.round(phantom.image).astype(np.int16), ijk_to_ras=phantom.ijk_to_ras)
    write_dicom_series(mrml.sitk_image_from_volume(written), tmp_path / "series", series_uid="1.2.826.0.1.3680043.2.9")
    volume = mrml.read_volume(tmp_path / "series")
    names = SliceNames(volume)
    lesion = phantom.labels == phantom.lesion_label
    points = simulate_outline(lesion)
    k = int(points[0, 0])
    stray = points.copy()
    stray[0, 0] = k + 2

    with pytest.raises(InputError) as error:
        segment_volume(volume, mrml.markups_from_points(stray, volume))

    assert names(k) == f"slice {k} (DICOM instance {k + 1})"  # the files are numbered from 1, named out of order
    assert names.span([k, k + 2]) == f"slices {k} to {k + 2} (file slice indices; DICOM instances {k + 1} to {k + 3})"
    assert f"slice {k + 2} (DICOM instance {k + 3}): 1 point(s)" in str(error.value)
    assert SliceNames(written)(k) == f"slice {k}"  # not read from a DICOM series


def test_on_the_working_grid_progress_names_the_input_slice_that_was_outlined():
    from clinicalimaging import Cancelled
    from clinicalimaging.segment.core import segment_lesion
    from clinicalimaging.segment.multiresolution import working_factors

    j, i = np.ogrid[:200, :200]
    disk = np.where((j - 100) ** 2 + (i - 100) ** 2 <= 75 ** 2, 200.0, 100.0)
    image = np.repeat(disk[np.newaxis], 40, axis=0)  # a large structure on 0.8 mm voxels
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    points = np.c_[np.full(16, 20.0), 100 + 75 * np.sin(angles), 100 + 75 * np.cos(angles)]
    assert working_factors(points, (0.8, 0.8, 0.8))[0] > 1  # the chain runs on slices of several input slices
    messages = []

    def progress(fraction, message):
        messages.append(message)
        return not message.startswith("Refining the lesion outline")  # enough seen: cancel

    with pytest.raises(Cancelled):
        segment_lesion(image, points, (0.8, 0.8, 0.8), slice_name=lambda k: f"input slice {k}", progress=progress)

    assert messages[-1] == "Refining the lesion outline on input slice 20"
