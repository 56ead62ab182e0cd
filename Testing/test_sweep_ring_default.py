"""The background ring evaluate-enhancement measures: soft tissue on a CT by default, the whole ring elsewhere."""

import csv

import numpy as np
import pytest
import SimpleITK as sitk

from clinicalimaging.cli import main
from clinicalimaging.enhance.compare import CT_RING_RANGE, default_ring_range
from clinicalimaging.metrics import lesion_regions
from clinicalimaging.phantom import make_phantom

SPACING_XYZ = (0.8, 0.8, 2.5)


def write(path, array):
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(SPACING_XYZ)
    sitk.WriteImage(image, str(path))
    return str(path)


@pytest.fixture(scope="module")
def ct_with_bone_in_the_ring(tmp_path_factory):
    """A CT phantom (HU) whose lesion ring holds bone on one side: (image path, label path, lesion label)."""
    phantom = make_phantom("ct", shape=(8, 64, 64))
    image = phantom.image.copy()
    lesion = phantom.labels == phantom.lesion_label
    ring = lesion_regions(lesion, SPACING_XYZ[::-1]).background
    centre = np.argwhere(lesion).mean(axis=0)
    bone = ring & (np.indices(ring.shape)[2] < centre[2] - 4)
    assert 0.1 < bone.sum() / ring.sum() < 0.5
    image[bone] = 1000.0
    folder = tmp_path_factory.mktemp("ct")
    return write(folder / "ct.nrrd", image), write(folder / "labels.nrrd", phantom.labels), phantom.lesion_label


def evaluate(capsys, tmp_path, image, label, lesion_label, *options):
    """stdout's first line and the original's row of the table of one evaluate-enhancement run."""
    table = tmp_path / f"table{len(list(tmp_path.iterdir()))}.csv"
    assert main(["evaluate-enhancement", image, label, "--label-value", str(lesion_label), "--table", str(table),
                 *options]) == 0
    with table.open(newline="", encoding="utf-8") as file:
        original = next(csv.DictReader(file))
    return capsys.readouterr().out.splitlines()[0], original


def test_a_ct_uses_the_soft_tissue_ring_by_default_and_says_so(ct_with_bone_in_the_ring, capsys, tmp_path):
    line, default = evaluate(capsys, tmp_path, *ct_with_bone_in_the_ring)
    assert line.startswith("background ring: soft tissue -150..250 HU") and "--whole-ring" in line
    assert default["background_ring"] == "-150..250"
    _, explicit = evaluate(capsys, tmp_path, *ct_with_bone_in_the_ring, "--ring-range", "-150", "250")
    assert default["noise_std"] == explicit["noise_std"]

    line, whole = evaluate(capsys, tmp_path, *ct_with_bone_in_the_ring, "--whole-ring")
    assert line == "background ring: whole (--whole-ring)" and whole["background_ring"] == "whole"
    assert float(whole["noise_std"]) > 3 * float(default["noise_std"])  # the bone's spread is not noise

    line, narrow = evaluate(capsys, tmp_path, *ct_with_bone_in_the_ring, "--ring-range", "0", "200")
    assert line == "background ring: 0..200 (--ring-range)" and narrow["background_ring"] == "0..200"


def test_an_mr_image_keeps_the_whole_ring_and_says_why(capsys, tmp_path):
    phantom = make_phantom("mr", shape=(8, 64, 64))
    image, label = write(tmp_path / "mr.nrrd", phantom.image), write(tmp_path / "labels.nrrd", phantom.labels)
    line, original = evaluate(capsys, tmp_path, image, label, phantom.lesion_label)
    assert line.startswith("background ring: whole (not a CT in HU") and "--ring-range LOW HIGH" in line
    assert original["background_ring"] == "whole"


@pytest.mark.parametrize("dtype, padding", [(np.int16, -1024), (np.int16, -3024), (np.float32, None)])
def test_any_ct_in_hu_is_recognised_by_its_air(dtype, padding):
    phantom = make_phantom("ct", shape=(8, 64, 64))
    image = phantom.image.astype(dtype)
    if padding is not None:
        image[:, :, :4] = padding  # outside the scanner's field of view
    ring_range, reason = default_ring_range(image, phantom.labels == phantom.lesion_label, phantom.spacing)
    assert ring_range == CT_RING_RANGE and "a CT" in reason


def test_a_ct_lesion_surrounded_by_air_keeps_the_whole_ring():
    phantom = make_phantom("ct", shape=(8, 64, 64))
    lesion = phantom.labels == phantom.lesion_label
    image = np.where(lesion, phantom.image, phantom.image - 850.0)  # lung around the lesion
    ring_range, reason = default_ring_range(image, lesion, phantom.spacing)
    assert ring_range is None and reason.startswith("whole (a CT, but only")


def test_ring_range_and_whole_ring_exclude_each_other(ct_with_bone_in_the_ring, capsys):
    image, label, lesion_label = ct_with_bone_in_the_ring
    assert main(["evaluate-enhancement", image, label, "--label-value", str(lesion_label), "--whole-ring",
                 "--ring-range", "-150", "250"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err
