"""The built-in example: the whole chain on a phantom, what it prints, and a figure a radiologist can read without
the README."""

import json
import re
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from matplotlib.text import Text

from clinicalimaging import mrml
from clinicalimaging.demo import FIGURE_DPI, FIGURE_SIZE, demo_figure
from clinicalimaging.demo_chain import DEMO_FILES, DETECT_INSTALL, OUTLINE_POINTS, run_demo
from clinicalimaging.enhance import EnhanceParameters
from clinicalimaging.errors import Cancelled
from clinicalimaging.metrics import dice
from clinicalimaging.phantom import LESION_LABEL, make_phantom
from clinicalimaging.pipeline.case_outputs import OUTPUT_NAMES
from test_cli import assert_same_geometry, digest, run_cli

#: Lowest Dice of the demo's lesion against the phantom's. Measured: 0.818 (CT phantom, 2 cores, the same with one
#: thread); on the CT phantoms of seeds 901 and 902 of this geometry 0.872 and 0.861, and 0.922 on the MR phantom.
#: An outline 10 mm off the lesion gives 0.55 and a mirrored one 0.0: 0.75 catches a chain that reads the outline
#: wrongly and leaves a margin for other BLAS builds and thread counts.
DICE_FLOOR = 0.75
#: The organs of the phantom, in the detector's spelling.
PHANTOM_ORGANS = ("liver", "spleen", "kidney_left", "kidney_right", "aorta")
# Runs ``python -m clinicalimaging ARGS`` as on a Python without the detect extra: Keras and TensorFlow unimportable.
WITHOUT_DETECTION = textwrap.dedent("""
    import runpy, sys
    sys.modules.update(keras=None, tensorflow=None)  # importing them raises ImportError
    sys.argv = ["clinicalimaging", *sys.argv[1:]]
    runpy.run_module("clinicalimaging", run_name="__main__", alter_sys=True)
""")


def texts(figure):
    return [text.get_text() for text in figure.findobj(Text) if text.get_text()]


def maps(phantom):
    """Stand-ins for the enhanced volume and the two maps, each telling the panels apart."""
    return phantom.image + 1.0, np.full(phantom.image.shape, 0.2, np.float32) - 0.4 * (phantom.labels == 0), \
        np.full(phantom.image.shape, 2.1, np.float32)


def printed(pattern, stdout):
    """The numbers of the one stdout line that matches ``pattern``."""
    found = [match.groups() for match in map(re.compile(pattern).search, stdout.splitlines()) if match]
    assert len(found) == 1, stdout
    return found[0]


@pytest.fixture(scope="module")
def ct_phantom():
    return make_phantom("ct", shape=(10, 40, 48), spacing=(2.5, 0.8, 0.8))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The README's command as a user runs it, with organ detection: ``(folder, completed process)``."""
    folder = tmp_path_factory.mktemp("demo")
    return folder / "demo-output", run_cli("demo", "demo-output", cwd=folder)


@pytest.fixture(scope="module")
def truth(demo):
    """The phantom volume node and its lesion, from the demo's files."""
    folder, _ = demo
    labels = mrml.read_volume(folder / DEMO_FILES["label map"], labelmap=True)
    return mrml.read_volume(folder / DEMO_FILES["input volume"]), mrml.array_from_volume(labels) == LESION_LABEL


def test_demo_runs_the_whole_chain_on_its_phantom(demo):
    folder, process = demo

    assert process.returncode == 0 and process.stderr == "", process.stderr
    names = {path.name for path in folder.iterdir()}
    assert set(DEMO_FILES.values()) | set(OUTPUT_NAMES.values()) <= names
    assert not [name for name in names if name.startswith(".")]
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["stages"] == ["enhance", "detect", "segment"] and summary["model"]["name"] == "organ-detector.keras"
    assert summary["command"] == "clinicalimaging demo demo-output"
    assert [entry["path"] for entry in summary["inputs"][:2]] == [str(Path("demo-output", DEMO_FILES[what]))
                                                                  for what in ("input volume", "outline")]
    assert summary["inputs"][0]["sha256"] == digest(folder / "phantom.nrrd")
    for name in ("report.png", DEMO_FILES["figure"]):
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    header = (folder / DEMO_FILES["figure"]).read_bytes()[:24]
    assert struct.unpack(">II", header[16:24]) == tuple(round(side * FIGURE_DPI) for side in FIGURE_SIZE)
    assert zipfile.is_zipfile(folder / "scene.mrb")
    assert_same_geometry(sitk.ReadImage(str(folder / "enhanced.nrrd")), sitk.ReadImage(str(folder / "phantom.nrrd")))
    assert len(json.loads((folder / "organs.mrk.json").read_text(encoding="utf-8"))["markups"]) == \
        len(summary["organs"])


def test_demo_prints_where_its_results_are_and_the_figures_of_its_summary(demo):
    folder, process = demo
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))

    for name in ("scene.mrb", "report.png", "summary.json"):
        assert str(Path("demo-output", name)) in process.stdout
    original, enhanced, gain = map(float, printed(
        r"^CNR of the lesion: ([\d.]+) original -> ([\d.]+) enhanced \(x([\d.]+)\)$", process.stdout))
    cnr = summary["cnr"]
    assert (original, enhanced, gain) == (pytest.approx(cnr["original"], abs=0.005),
                                          pytest.approx(cnr["enhanced"], abs=0.005),
                                          pytest.approx(cnr["ratio"], abs=0.005))
    volume_ml, = map(float, printed(r"^Lesion: ([\d.]+) mL segmented", process.stdout))
    assert volume_ml == pytest.approx(summary["lesion"]["volume_ml"], abs=0.005)
    found, hits, total = printed(r"^Organs found: (.*) \((\d+) of the phantom's (\d+) organs\)$", process.stdout)
    assert found.split(", ") == [organ["organ"] for organ in summary["organs"]]
    assert (int(hits), int(total)) == (len(set(PHANTOM_ORGANS) & set(found.split(", "))), len(PHANTOM_ORGANS))
    assert set(PHANTOM_ORGANS) <= set(found.split(", "))  # the model card's unseen CT phantom: 5 of 5
    assert DETECT_INSTALL not in process.stdout


def test_demo_lesion_matches_the_phantoms_truth(demo, truth):
    folder, process = demo
    volume, lesion_truth = truth

    lesion = mrml.segment_mask(mrml.read_segmentation(folder / "lesion.seg.nrrd"), "lesion", volume)
    measured = dice(lesion, lesion_truth)

    assert measured > DICE_FLOOR
    true_ml, printed_dice = map(float, printed(r"mL segmented, ([\d.]+) mL true \(phantom\); Dice ([\d.]+) ",
                                               process.stdout))
    assert printed_dice == pytest.approx(measured, abs=5e-4)
    assert true_ml == pytest.approx(lesion_truth.sum() * np.prod(mrml.spacing_kji(volume)) / 1000.0, abs=0.005)


def test_demo_outline_is_a_closed_curve_on_the_lesions_largest_axial_slice(demo, truth):
    folder, _ = demo
    volume, lesion_truth = truth
    path = folder / DEMO_FILES["outline"]

    assert json.loads(path.read_text(encoding="utf-8"))["markups"][0]["type"] == "ClosedCurve"
    points = mrml.points_kji(mrml.read_markups(path), volume)
    assert len(points) == OUTLINE_POINTS
    np.testing.assert_allclose(points[:, 0], lesion_truth.sum(axis=(1, 2)).argmax(), atol=1e-3)


def test_demo_without_tensorflow_runs_the_chain_without_detection(tmp_path):
    folder = tmp_path / "out"

    process = subprocess.run([sys.executable, "-c", WITHOUT_DETECTION, "demo", folder], capture_output=True,
                             encoding="utf-8", timeout=600)

    assert process.returncode == 0 and process.stderr == "", process.stderr
    assert [line for line in process.stdout.splitlines() if DETECT_INSTALL in line] == [
        f"Organs: not detected (Keras and TensorFlow are not installed); to detect them: {DETECT_INSTALL}"]
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["stages"] == ["enhance", "segment"] and summary["organs"] == [] and summary["model"] is None
    assert not (folder / "organs.mrk.json").exists()
    assert all((folder / name).is_file() for name in ("scene.mrb", "report.png", "lesion.seg.nrrd", "enhanced.nrrd"))


def test_a_cancelled_demo_leaves_no_file_of_its_own(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    placed = []

    def progress(fraction, message):
        """Cancel during the segmentation, once the phantom's files are in place."""
        placed.append((folder / DEMO_FILES["input volume"]).is_file())
        return fraction < 0.5

    with pytest.raises(Cancelled):
        run_demo(folder, detect=False, progress=progress)
    with pytest.raises(Cancelled):
        run_demo(tmp_path / "new" / "demo", detect=False, progress=lambda fraction, message: False)

    assert placed[-1] and [path.name for path in folder.iterdir()] == ["notes.txt"]
    assert not (tmp_path / "new" / "demo").exists()


def test_figure_states_what_it_shows(ct_phantom):
    figure = demo_figure(ct_phantom.image, *maps(ct_phantom), ct_phantom.labels == LESION_LABEL,
                         ct_phantom.ijk_to_ras, kind="ct", lesion_label=LESION_LABEL,
                         parameters=EnhanceParameters(mode="paper", strength=0.5))
    shown = texts(figure)
    title = figure.get_suptitle()
    k = int(round(np.argwhere(ct_phantom.labels == LESION_LABEL)[:, 0].mean()))
    for words in ("CT phantom", "fractional enhancement", "paper mode", "strength 0.5",
                  f"slice {k} (file slice index, 0 to 9"):
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
