"""Outlines that mark the wrong place: the wrong coordinate system, an outline in air or on nothing distinct."""

import json
import warnings

import numpy as np
import pytest

from clinicalimaging import InputError, mrml
from clinicalimaging.errors import InputWarning
from clinicalimaging.phantom import make_phantom
from clinicalimaging.phantom_nodes import phantom_volume
from clinicalimaging.segment.nodes import segment_volume
from clinicalimaging.segment.outline_check import INDISTINCT_OVERLAP, check_outline, outline_contrast
from outline import lesion_outline
from test_cli import run_cli


def _phantom_case(kind, *, oblique=False, shape=(24, 96, 96)):
    phantom = make_phantom(kind, shape=shape, spacing=(2.5, 0.8, 0.8), oblique=oblique)
    volume, labels = phantom_volume(phantom, name=f"{kind}_outline_case")
    points, lesion = lesion_outline(phantom)
    return phantom, volume, labels, points, lesion


@pytest.fixture(scope="module")
def mr_case():
    """An axial MR phantom centred on the origin: its lesion's mirror image (x and y negated) lies in the body."""
    phantom, volume, labels, points, lesion = _phantom_case("mr")
    yield phantom, volume, points
    for node in (volume, labels):
        node.GetScene().RemoveNode(node)


def _outline_file(volume, points, path, *, says=None):
    """The outline written as Slicer writes it (LPS numbers); ``says`` relabels its coordinateSystem."""
    node = mrml.markups_from_points(points, volume)
    mrml.write_markups(node, path)
    node.GetScene().RemoveNode(node)
    if says is not None:
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document["markups"][0]["coordinateSystem"] == "LPS"
        document["markups"][0]["coordinateSystem"] = says  # the numbers stay LPS
        path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_an_lps_outline_labelled_ras_is_segmented_with_a_warning_that_names_the_coordinate_system(mr_case, tmp_path):
    _, volume, points = mr_case
    outline = mrml.read_markups(_outline_file(volume, points, tmp_path / "outline.mrk.json", says="RAS"))

    with pytest.warns(InputWarning) as caught:
        segmentation = segment_volume(volume, outline)

    messages = [str(warning.message) for warning in caught if issubclass(warning.category, InputWarning)]
    assert len(messages) == 1 and "\n" not in messages[0]
    assert 'coordinate system is likely wrong: it says "coordinateSystem": "RAS", but read as LPS' in messages[0]
    assert f"on slice {int(points[0, 0])}" in messages[0]
    assert segmentation.GetSegmentation().GetNumberOfSegments() == 1  # a warning: the result is there


def test_the_same_outline_labelled_lps_gives_no_warning(mr_case, tmp_path):
    _, volume, points = mr_case
    outline = mrml.read_markups(_outline_file(volume, points, tmp_path / "outline.mrk.json"))

    with warnings.catch_warnings():
        warnings.simplefilter("error", InputWarning)
        segment_volume(volume, outline)


def test_a_mislabelled_outline_whose_points_leave_the_volume_is_refused_with_the_coordinate_system_named(tmp_path):
    phantom, volume, labels, points, _ = _phantom_case("mr", oblique=True, shape=(12, 64, 64))
    outline = mrml.read_markups(_outline_file(volume, points, tmp_path / "outline.mrk.json", says="RAS"))

    with pytest.raises(InputError) as error:
        segment_volume(volume, outline)

    message = str(error.value)
    assert "outside the image volume" in message and " mm outside, nearest slice " in message
    assert 'it says "coordinateSystem": "RAS", but read as LPS (x and y negated) its points fit' in message
    assert f"on slice {int(points[0, 0])}" in message


def test_an_outline_in_air_is_said_to_lie_outside_the_body(tmp_path):
    phantom, volume, labels, points, _ = _phantom_case("ct")
    k = int(points[0, 0])
    corner = np.array([[k, 3, 3], [k, 3, 14], [k, 14, 14], [k, 14, 3]], float)  # air, beside the body

    contrast = outline_contrast(phantom.image, corner, phantom.spacing)
    found = check_outline(phantom.image, corner, phantom.spacing, phantom.ijk_to_ras)
    with pytest.raises(InputError) as error:  # a warning that comes first when the segmentation itself fails
        segment_volume(volume, mrml.markups_from_points(corner, volume))

    assert contrast.in_background and contrast.background_share == 1.0
    assert len(found) == 1 and found[0].startswith(f"The outline on slice {k} lies mostly outside the body")
    assert str(error.value).startswith(f"The outline on slice {k} lies mostly outside the body")
    assert "The segmentation failed:" in str(error.value)


def test_a_lesion_outline_is_distinct_and_in_the_body(mr_case):
    phantom, _, points = mr_case

    contrast = outline_contrast(phantom.image, points, phantom.spacing)

    assert contrast.overlap < INDISTINCT_OVERLAP and contrast.background_share == 0.0
    assert contrast.slices == (int(points[0, 0]),)


def test_a_lesion_hard_to_tell_from_its_surroundings_is_warned_about_not_refused():
    rng = np.random.default_rng(0)
    image = rng.normal(100.0, 10.0, (12, 64, 64)).astype(np.float32)
    k, j, i = np.ogrid[:12, :64, :64]
    faint = (k - 6) ** 2 * 9 + (j - 32) ** 2 + (i - 32) ** 2 <= 10 ** 2
    image[faint] += 2.0  # a fifth of the noise: there, but no intensity tells it from its surroundings
    angles = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    points = np.c_[np.full(12, 6.0), 32 + 10 * np.sin(angles), 32 + 10 * np.cos(angles)]

    found = check_outline(image, points, (2.5, 0.8, 0.8), np.diag([0.8, 0.8, 2.5, 1.0]))

    assert len(found) == 1 and "is hard to tell from its surroundings" in found[0]
    assert "coordinate system" not in found[0]


def test_cli_warns_on_a_real_image_whose_outline_says_ras_but_holds_lps(shared_data, tmp_path):
    from clinicalimaging.segment.evaluation import simulate_outline

    image = mrml.read_volume(shared_data / "brain1_image.nrrd")
    tumour = mrml.label_mask_like(mrml.read_volume(shared_data / "brain1_label.nrrd", labelmap=True), image, 1)
    outline = _outline_file(image, simulate_outline(tumour), tmp_path / "outline.mrk.json", says="RAS")

    result = run_cli("segment", shared_data / "brain1_image.nrrd", tmp_path / "tumour.nrrd", "--outline", outline)

    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("clinicalimaging: warning: ")
    assert '"coordinateSystem": "RAS", but read as LPS' in lines[0]
    assert (tmp_path / "tumour.nrrd").is_file()
