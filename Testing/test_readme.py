"""Every README code block that claims to run outside Slicer runs as written.

Which blocks run is decided by markers in README.md, never by the code's content:

- a ``python`` block runs unless its first line starts with ``# Slicer only`` (the
  marker the reader sees; such blocks need the Slicer application and are skipped);
- a ``bash`` block runs when the line before its fence is ``<!-- readme-test: run -->``
  (the other command lines name the reader's own files, or Slicer).

The marked bash blocks run first, in README order, in one temporary folder, with the
venv's ``bin`` first on PATH; they make the inputs the Python blocks read (the demo
phantom and an outline). Each Python block then runs there in its own interpreter, as a
reader would paste it. The detector file the blocks name, :data:`DETECTOR_FILE`, is the
``tiny_detector`` fixture's model. A failure reports the README line of the error.
"""

import dataclasses
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
#: First line of a python block that only runs in the Slicer application.
SLICER_ONLY = "# Slicer only"
#: The line before the fence of a bash block that the suite runs.
RUN_MARKER = "<!-- readme-test: run -->"
#: The model file the README's detection examples load.
DETECTOR_FILE = "my-detector.keras"
#: Most seconds one block may take (the whole module takes about a minute on 2 cores).
TIMEOUT_S = 300


@dataclasses.dataclass(frozen=True)
class Block:
    """A fenced code block of README.md; ``line`` is the README line of its first code line (1-based)."""

    language: str
    line: int
    code: str
    run_marked: bool

    @property
    def slicer_only(self):
        return self.code.startswith(SLICER_ONLY)


def readme_blocks():
    """Every fenced code block of README.md, in order."""
    lines = README.read_text(encoding="utf-8").splitlines()
    blocks, index = [], 0
    while index < len(lines):
        opening = re.fullmatch(r"```(\w*)\s*", lines[index])
        if not opening:
            index += 1
            continue
        end = lines.index("```", index + 1)
        blocks.append(Block(opening.group(1), index + 2, "\n".join(lines[index + 1:end]) + "\n",
                            index > 0 and lines[index - 1].strip() == RUN_MARKER))
        index = end + 1
    return blocks


BLOCKS = readme_blocks()
PYTHON_BLOCKS = [block for block in BLOCKS if block.language == "python"]
BASH_BLOCKS = [block for block in BLOCKS if block.language == "bash" and block.run_marked]


def _run(command, folder, block):
    """Run a block's command in ``folder`` with the venv first on PATH; the completed process."""
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    try:
        return subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True,
                              timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"README.md line {block.line}: the {block.language} block ran longer than {TIMEOUT_S} s")


def _check(process, block):
    if process.returncode:
        pytest.fail(f"README.md line {block.line}: the {block.language} block fails as written "
                    f"(exit {process.returncode}):\n{process.stderr[-4000:]}", pytrace=False)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A folder where every marked bash block has run, in README order; ``(folder, {line: process})``."""
    folder = tmp_path_factory.mktemp("readme")
    return folder, {block.line: _run(["bash", "-e", "-c", block.code], folder, block) for block in BASH_BLOCKS}


def test_the_readme_has_blocks_to_run():
    assert BASH_BLOCKS, f"no bash block of README.md is marked {RUN_MARKER}: nothing makes the examples' inputs"
    assert [block for block in PYTHON_BLOCKS if not block.slicer_only], "no python block of README.md runs"


@pytest.mark.parametrize("block", [block for block in PYTHON_BLOCKS if block.slicer_only],
                         ids=lambda block: f"line{block.line}")
def test_slicer_only_blocks_use_slicer(block):
    """The marker only hides blocks that need the application (``slicer.util``, a module's logic)."""
    assert "slicer.util" in block.code or "Logic" in block.code, (
        f"README.md line {block.line} is marked '{SLICER_ONLY}' but uses nothing of the Slicer application; "
        "remove the marker so that the block is tested")


@pytest.mark.parametrize("block", BASH_BLOCKS, ids=lambda block: f"line{block.line}")
def test_bash_block_runs(block, workspace):
    _check(workspace[1][block.line], block)


@pytest.mark.parametrize("block", [block for block in PYTHON_BLOCKS if not block.slicer_only],
                         ids=lambda block: f"line{block.line}")
def test_python_block_runs(block, workspace, request):
    folder = workspace[0]
    if DETECTOR_FILE in block.code:
        shutil.copyfile(request.getfixturevalue("tiny_detector")[1], folder / DETECTOR_FILE)
    # Blank lines first, so that a traceback's line numbers are the README's.
    _check(_run([sys.executable, "-c", "\n" * (block.line - 1) + block.code], folder, block), block)


# What the README's "Python API" section promises beyond its examples.


def test_import_loads_neither_mrml_nor_scikit_learn_nor_keras():
    """Slicer's modules import the package when Slicer starts: the top level stays light."""
    code = ("import sys, clinicalimaging; "
            "print(sorted({name.split('.')[0] for name in sys.modules} & {'slicer', 'vtk', 'sklearn', 'keras', "
            "'tensorflow'}))")
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert process.stdout.strip() == "[]"


def test_every_public_name_resolves():
    import clinicalimaging

    missing = [name for name in clinicalimaging.__all__ if getattr(clinicalimaging, name, None) is None]
    assert not missing
    assert set(clinicalimaging.__all__) <= set(dir(clinicalimaging))


@pytest.fixture(scope="module")
def phantom_file(tmp_path_factory):
    """An oblique phantom written as NRRD, with its IJK-to-RAS matrix: ``(path, matrix)``."""
    import clinicalimaging
    from clinicalimaging.phantom import make_phantom
    from clinicalimaging.phantom_nodes import phantom_volume

    phantom = make_phantom("ct", shape=(10, 24, 20), spacing=(3.0, 1.5, 1.2), oblique=True)
    path = tmp_path_factory.mktemp("phantom") / "oblique.nrrd"
    clinicalimaging.write_volume(phantom_volume(phantom)[0], path)
    return path, phantom.ijk_to_ras


def test_ijk_to_ras_from_sitk_is_the_volume_nodes_matrix(phantom_file):
    """The SimpleITK route and the node route give one geometry: both in RAS."""
    import SimpleITK as sitk

    import clinicalimaging

    path, matrix = phantom_file
    from_sitk = clinicalimaging.ijk_to_ras_from_sitk(sitk.ReadImage(str(path)))
    np.testing.assert_allclose(from_sitk, clinicalimaging.ijk_to_ras(clinicalimaging.read_volume(path)), atol=1e-6)
    np.testing.assert_allclose(from_sitk, matrix, atol=1e-6)
    with pytest.raises(clinicalimaging.InputError, match="3-D SimpleITK image"):
        clinicalimaging.ijk_to_ras_from_sitk(np.eye(4))


@pytest.mark.parametrize("mistake, message", [
    ("image as the array", "SimpleITK image as image"),
    ("image as the matrix", "SimpleITK image as ijk_to_ras"),
    ("direction tuple", r"shape \(9,\) \(a direction matrix"),
    ("direction matrix", r"shape \(3, 3\) \(a direction matrix"),
    ("projective last row", "last row"),
    ("zero spacing", "singular"),
    ("volume node", "got a volume node"),
])
def test_detection_refuses_what_is_not_an_ijk_to_ras_matrix(phantom_file, mistake, message):
    """Each refusal comes before the detector is used, so none is needed here."""
    import SimpleITK as sitk

    import clinicalimaging

    path, matrix = phantom_file
    image = sitk.ReadImage(str(path))
    array = sitk.GetArrayFromImage(image)
    projective, flat = matrix.copy(), matrix.copy()
    projective[3, 0] = 0.01
    flat[:3, 2] = 0.0
    image_and_matrix = {
        "image as the array": (image, matrix), "image as the matrix": (array, image),
        "direction tuple": (array, image.GetDirection()), "direction matrix": (array, matrix[:3, :3]),
        "projective last row": (array, projective), "zero spacing": (array, flat),
        "volume node": (clinicalimaging.read_volume(path), matrix)}[mistake]
    with pytest.raises(clinicalimaging.InputError, match=message) as refusal:
        clinicalimaging.detect_organs_in_array(*image_and_matrix, detector=None)
    assert "\n" not in str(refusal.value)


def test_read_outline_gives_the_points_in_kji_and_leaves_no_node(workspace):
    import clinicalimaging
    from clinicalimaging import mrml

    folder = workspace[0]
    volume = clinicalimaging.read_volume(folder / "demo-output" / "phantom.nrrd")
    scene = volume.GetScene()
    before = scene.GetNumberOfNodesByClass("vtkMRMLMarkupsNode")
    points = clinicalimaging.read_outline(folder / "example.mrk.json", volume)
    assert scene.GetNumberOfNodesByClass("vtkMRMLMarkupsNode") == before
    outline = mrml.read_markups(folder / "example.mrk.json")
    np.testing.assert_array_equal(points, mrml.points_kji(outline, volume))
    scene.RemoveNode(outline)
    transform = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode")
    volume.SetAndObserveTransformNodeID(transform.GetID())
    with pytest.raises(clinicalimaging.InputError, match="harden the transform"):
        clinicalimaging.read_outline(folder / "example.mrk.json", volume)
