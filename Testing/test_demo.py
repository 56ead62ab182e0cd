"""The built-in example: its files, what it returns and a figure a radiologist can read without the README."""

import struct

import numpy as np
import pytest
from matplotlib.text import Text

from clinicalimaging.demo import DEMO_FILES, FIGURE_DPI, FIGURE_SIZE, demo_figure, run_demo
from clinicalimaging.enhance import EnhanceParameters
from clinicalimaging.phantom import LESION_LABEL, make_phantom


def texts(figure):
    return [text.get_text() for text in figure.findobj(Text) if text.get_text()]


def maps(phantom):
    """Stand-ins for the enhanced volume and the two maps, each telling the panels apart."""
    return phantom.image + 1.0, np.full(phantom.image.shape, 0.2, np.float32) - 0.4 * (phantom.labels == 0), \
        np.full(phantom.image.shape, 2.1, np.float32)


@pytest.fixture(scope="module")
def ct_phantom():
    return make_phantom("ct", shape=(10, 40, 48), spacing=(2.5, 0.8, 0.8))


def test_demo_writes_every_file_and_returns_the_table_and_the_lesion_label(tmp_path):
    result = run_demo(tmp_path / "demo", kind="mr")
    assert set(result.paths) == set(DEMO_FILES)
    assert all(path.is_file() and path.stat().st_size > 0 for path in result.paths.values())
    header = result.paths["figure"].read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == tuple(round(side * FIGURE_DPI) for side in FIGURE_SIZE)
    lines = result.comparison.splitlines()
    assert lines[0].split()[:2] == ["method", "CNR"] and len(lines) == 1 + 7
    assert lines[1].startswith("original") and lines[-1].startswith("default mode")
    assert result.lesion_label == LESION_LABEL


def test_figure_states_what_it_shows(ct_phantom):
    figure = demo_figure(ct_phantom.image, *maps(ct_phantom), ct_phantom.labels == LESION_LABEL,
                         ct_phantom.ijk_to_ras, kind="ct", lesion_label=LESION_LABEL,
                         parameters=EnhanceParameters(mode="paper", strength=0.5))
    shown = texts(figure)
    title = figure.get_suptitle()
    k = int(round(np.argwhere(ct_phantom.labels == LESION_LABEL)[:, 0].mean()))
    for words in ("CT phantom", "fractional enhancement", "paper mode", "strength 0.5", f"slice {k} (file slice index, 0 to 9"):
        assert words in title
    assert f"lesion, label {LESION_LABEL}" in shown
    assert [text for text in shown if text.startswith("CT number (HU); window 400 / level 50 HU")] == [
        "CT number (HU); window 400 / level 50 HU"] * 2
    assert "fractional order (unitless)" in shown and "fractal dimension (unitless)" in shown
    panels = [axis for axis in figure.axes if axis.images and axis.get_title()]
    assert [axis.get_title().split(" (")[0] for axis in panels] == ["Input", "Enhanced", "Fractional order",
                                                                      "Local fractal dimension"]
    for axis in panels:
        letters = sorted(text.get_text() for text in axis.texts)
        assert letters == ["A", "L", "P", "R"]
        assert "5 mm" in texts(axis)  # scale bar: 48 px of 0.8 mm
    # The phantom's i runs to the patient's left and j to the back: shown as stored, R on the left.
    np.testing.assert_array_equal(panels[0].images[0].get_array(), ct_phantom.image[k])


def test_figure_shows_any_orientation_radiologically(ct_phantom):
    # i to the right and j to the front: the panel flips both axes so that R is still on the left, A at the top.
    flipped = ct_phantom.ijk_to_ras @ np.diag([-1.0, -1.0, 1.0, 1.0])
    figure = demo_figure(ct_phantom.image, *maps(ct_phantom), ct_phantom.labels == LESION_LABEL, flipped,
                         kind="ct", lesion_label=LESION_LABEL, parameters=EnhanceParameters())
    axis = figure.axes[0]
    k = int(round(np.argwhere(ct_phantom.labels == LESION_LABEL)[:, 0].mean()))
    np.testing.assert_array_equal(axis.images[0].get_array(), ct_phantom.image[k, ::-1, ::-1])
    positions = {text.get_text(): text.get_position() for text in axis.texts}
    assert positions["R"][0] < positions["L"][0] and positions["A"][1] > positions["P"][1]
    # Rows along R-L (i and j swapped): the panel transposes.
    swapped = ct_phantom.ijk_to_ras[:, [1, 0, 2, 3]]
    figure = demo_figure(ct_phantom.image, *maps(ct_phantom), ct_phantom.labels == LESION_LABEL, swapped,
                         kind="ct", lesion_label=LESION_LABEL, parameters=EnhanceParameters())
    assert figure.axes[0].images[0].get_array().shape == ct_phantom.image[k].T.shape
    assert sorted(text.get_text() for text in figure.axes[0].texts) == ["A", "L", "P", "R"]
