"""The command line as a user runs it: a subprocess, real files, exit status and stderr."""

import argparse
import csv
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from clinicalimaging import mrml
from clinicalimaging.cli import build_parser
from clinicalimaging.cli_options import parameters_from_arguments
from clinicalimaging.enhance.parameters import EnhanceParameters
from clinicalimaging.enhance.sweep import SWEEPS
from clinicalimaging.parameters import describe
from clinicalimaging.phantom import make_phantom

ERROR_PREFIX = "clinicalimaging: error:"
TABLE_METHODS = 7  # original, 4 baselines, paper mode, adaptive mode


def run_cli(*arguments, cwd=None):
    environment = {**os.environ, "COLUMNS": "250"}  # one help entry per line
    return subprocess.run([sys.executable, "-m", "clinicalimaging", *map(str, arguments)], capture_output=True,
                          encoding="utf-8", cwd=cwd, env=environment, timeout=600)


def write_image(path, array, *, spacing=(0.8, 0.8, 2.5), direction=None, origin=(0.0, 0.0, 0.0),
                vector=False):
    """Write a KJI array with SimpleITK (LPS geometry; spacing in xyz order)."""
    image = sitk.GetImageFromArray(array, isVector=vector)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    if direction is not None:
        image.SetDirection(direction)
    sitk.WriteImage(image, str(path))
    return path


def phantom_file(path, *, shape=(8, 48, 48), dtype=np.float32, **geometry):
    phantom = make_phantom("mr", shape=shape, spacing=(2.5, 0.8, 0.8))
    return write_image(path, phantom.image.astype(dtype), **geometry)


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def oblique_direction():
    angle = np.deg2rad(20.0)
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0.0], [np.sin(angle), np.cos(angle), 0.0], [0.0, 0.0, 1.0]])
    tilt = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(0.3), -np.sin(0.3)], [0.0, np.sin(0.3), np.cos(0.3)]])
    return tuple((rotation @ tilt).ravel())


def assert_same_geometry(written, reference):
    assert written.GetSize() == reference.GetSize()
    np.testing.assert_allclose(written.GetSpacing(), reference.GetSpacing(), rtol=1e-6)
    np.testing.assert_allclose(written.GetOrigin(), reference.GetOrigin(), atol=1e-5)
    np.testing.assert_allclose(written.GetDirection(), reference.GetDirection(), atol=1e-6)


def assert_clean_input_error(result):
    """Exit 2, exactly one stderr line with the error prefix, no traceback."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(ERROR_PREFIX), result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_cli_enhance_writes_outputs_with_input_geometry(tmp_path):
    source = phantom_file(tmp_path / "in.nrrd", dtype=np.int16, spacing=(0.7, 0.9, 2.5),
                          direction=oblique_direction(), origin=(-30.0, 12.5, 40.0))
    before = digest(source)
    outputs = [tmp_path / "out.nii.gz", tmp_path / "order.nrrd", tmp_path / "fd.mha"]

    result = run_cli("enhance", source, outputs[0], "--order-map", outputs[1], "--fractal-map", outputs[2])

    assert result.returncode == 0, result.stderr
    reference = sitk.ReadImage(str(source))
    enhanced, order, dimension = (sitk.ReadImage(str(path)) for path in outputs)
    for image in (enhanced, order, dimension):
        assert_same_geometry(image, reference)
    assert enhanced.GetPixelID() == sitk.sitkInt16
    assert order.GetPixelID() == dimension.GetPixelID() == sitk.sitkFloat32
    input_array, output_array = sitk.GetArrayFromImage(reference), sitk.GetArrayFromImage(enhanced)
    assert input_array.min() <= output_array.min() and output_array.max() <= input_array.max()
    assert not np.array_equal(input_array, output_array)
    assert digest(source) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        ["in.nrrd", *(p.name for p in outputs), "out.nii.gz.provenance.json"])  # NIfTI keeps it beside


def test_cli_enhance_output_is_compressed_as_the_input(tmp_path):
    raw = write_image(tmp_path / "raw.nrrd", make_phantom("ct", shape=(8, 48, 48)).image)
    gzipped = tmp_path / "gzipped.nrrd"
    sitk.WriteImage(sitk.ReadImage(str(raw)), str(gzipped), useCompression=True)
    for source in (raw, gzipped):
        output = tmp_path / f"out_{source.name}"
        assert run_cli("enhance", source, output).returncode == 0
        header = output.read_bytes()[:2000].split(b"\n\n")[0]
        assert (b"encoding: gzip" in header) is (source is gzipped), header


def test_cli_enhance_options_and_parameter_file_reach_the_filter(tmp_path):
    source = phantom_file(tmp_path / "in.nrrd")
    parameters = tmp_path / "parameters.json"
    parameters.write_text(json.dumps({"mode": "paper", "strength": 0.0}))

    # strength 0 from the file gives back the input; the command line overrides it.
    unchanged = run_cli("enhance", source, tmp_path / "same.nrrd", "--parameters", parameters)
    changed = run_cli("enhance", source, tmp_path / "changed.nrrd", "--parameters", parameters, "--strength", "1")

    assert unchanged.returncode == 0 and changed.returncode == 0, unchanged.stderr + changed.stderr
    original = sitk.GetArrayFromImage(sitk.ReadImage(str(source)))
    np.testing.assert_allclose(sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "same.nrrd"))), original,
                               atol=1e-4)
    assert not np.allclose(sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "changed.nrrd"))), original)


@pytest.mark.parametrize("command", ["enhance", "evaluate-enhancement"])
def test_cli_help_lists_every_stage_option_with_its_default(command):
    result = run_cli(command, "--help")

    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for field in describe(EnhanceParameters):
        flag = "--" + field["name"].replace("_", "-")
        entry = text[text.index(flag, text.index("enhancement options")):]
        entry = entry[:entry.index("default: ")]
        assert text[text.index(entry) + len(entry):].startswith(f"default: {field['default']})"), flag
        if field["unit"]:
            assert f"[{field['unit']}]" in entry, flag


def test_cli_help_documents_every_option_of_every_command():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # argparse offers no public accessor
    assert set(commands) == {"enhance", "evaluate-enhancement", "segment", "evaluate-segmentation", "demo",
                             "detect", "train-detector", "evaluate-detection", "pipeline", "batch"}
    for name, command in commands.items():
        text = " ".join(run_cli(name, "--help").stdout.split())
        for action in command._actions:
            if action.option_strings and action.dest != "help" and action.help != argparse.SUPPRESS:
                assert action.option_strings[-1] in text
                assert action.help and " ".join(action.help.replace("%%", "%").split()) in text
                if action.default is None and action.const is None:
                    assert "default" in action.help, action.option_strings


def test_cli_parameters_from_arguments_match_the_dataclass():
    parser = build_parser()
    negative = next(field for field in describe(EnhanceParameters)
                    if field["type"] is float and (field["minimum"] or 0) < 0 and field["default"] != -0.25)
    flag = "--" + negative["name"].replace("_", "-")
    arguments = parser.parse_args(["enhance", "a.nrrd", "b.nrrd", "--mode", "paper", "--number-of-terms", "5",
                                   flag, "-0.25"])

    parameters = parameters_from_arguments(EnhanceParameters, arguments)

    assert parameters == EnhanceParameters(mode="paper", number_of_terms=5, **{negative["name"]: -0.25})
    assert parameters_from_arguments(EnhanceParameters, parser.parse_args(["demo"])) == EnhanceParameters()


def _nan_image(path):
    array = make_phantom("mr", shape=(8, 48, 48)).image
    array[3, 20, 20] = np.nan
    return write_image(path, array)


def _inf_image(path):
    array = make_phantom("mr", shape=(8, 48, 48)).image
    array[2, 5, 7] = np.inf
    return write_image(path, array)


def _rgb_image(path):
    rng = np.random.default_rng(1)
    return write_image(path, rng.integers(0, 255, size=(4, 32, 32, 3), dtype=np.uint8), vector=True)


# name -> (make the input in the folder, output path relative to the folder or a callable, extra arguments)
BAD_INPUTS = {
    "missing file": (lambda folder: folder / "absent.nrrd", "out.nrrd", []),
    "not an image": (lambda folder: _text(folder / "notes.nrrd", "these are notes, not an image\n"), "out.nrrd", []),
    "unsupported input type": (lambda folder: _text(folder / "notes.txt", "plain text\n"), "out.nrrd", []),
    "empty file": (lambda folder: _text(folder / "empty.nrrd", ""), "out.nrrd", []),
    "truncated nrrd": (lambda folder: _truncated(folder / "cut.nrrd"), "out.nrrd", []),
    "NaN voxels": (lambda folder: _nan_image(folder / "nan.nrrd"), "out.nrrd", []),
    "infinite voxels": (lambda folder: _inf_image(folder / "inf.nrrd"), "out.nrrd", []),
    "constant image": (lambda folder: write_image(folder / "flat.nrrd", np.full((5, 32, 32), 7, np.int16)),
                       "out.nrrd", []),
    "RGB volume": (lambda folder: _rgb_image(folder / "rgb.nrrd"), "out.nrrd", []),
    "output folder missing": (lambda folder: phantom_file(folder / "in.nrrd"), "missing/out.nrrd", []),
    "output parent is a file": (lambda folder: phantom_file(folder / "in.nrrd"), "in.nrrd/out.nrrd", []),
    "output is the input": (lambda folder: phantom_file(folder / "in.nrrd"), "in.nrrd", []),
    "unsupported output type": (lambda folder: phantom_file(folder / "in.nrrd"), "out.jpg", []),
    "order map is the output": (lambda folder: phantom_file(folder / "in.nrrd"), "out.nrrd",
                                ["--order-map", "{folder}/out.nrrd"]),
    "order map folder missing": (lambda folder: phantom_file(folder / "in.nrrd"), "out.nrrd",
                                 ["--order-map", "{folder}/nowhere/order.nrrd"]),
    "parameter out of range": (lambda folder: phantom_file(folder / "in.nrrd"), "out.nrrd",
                               ["--number-of-terms", "1"]),
    "inconsistent parameters": (lambda folder: phantom_file(folder / "in.nrrd"), "out.nrrd",
                                ["--fractal-dimension-low", "2.5", "--fractal-dimension-high", "2.0"]),
    "even fractal window": (lambda folder: phantom_file(folder / "in.nrrd"), "out.nrrd", ["--fractal-window", "14"]),
    "parameter file missing": (lambda folder: phantom_file(folder / "in.nrrd"), "out.nrrd",
                               ["--parameters", "{folder}/absent.json"]),
    "parameter file not JSON": (lambda folder: phantom_file(folder / "in.nrrd"), "out.nrrd",
                                ["--parameters", str(Path(__file__))]),
    "unknown parameter in file": (lambda folder: phantom_file(folder / "in.nrrd"), "out.nrrd",
                                  ["--parameters", "{folder}/unknown.json"]),
}


def _text(path, content):
    path.write_text(content)
    return path


def _truncated(path):
    phantom_file(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_cli_enhance_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, case):
    make_input, output, extra = BAD_INPUTS[case]
    source = make_input(tmp_path)
    (tmp_path / "unknown.json").write_text('{"number_of_terms": 3, "colour": "red"}')
    before = {path.name: digest(path) for path in tmp_path.iterdir() if path.is_file()}
    outputs = [tmp_path / output] + [Path(arg.format(folder=tmp_path)) for arg in extra if arg.endswith(".nrrd")]
    existing_outputs = {path for path in outputs if path.exists()}

    result = run_cli("enhance", source, tmp_path / output, *(arg.format(folder=tmp_path) for arg in extra))

    assert_clean_input_error(result)
    after = {path.name: digest(path) for path in tmp_path.iterdir() if path.is_file()}
    assert after == before  # inputs unchanged, no output and no temporary file
    assert not any(path.exists() for path in outputs if path not in existing_outputs)
    assert not [path for path in tmp_path.iterdir() if path.is_dir()]


@pytest.mark.parametrize("shape", [(1, 48, 48), (4, 3, 3), (2, 1, 40)], ids=["single slice", "3x3 in-plane",
                                                                          "one row"])
def test_cli_enhance_small_images_work(tmp_path, shape):
    rng = np.random.default_rng(0)
    array = (rng.normal(100.0, 20.0, size=shape)).astype(np.float32)
    source = write_image(tmp_path / "small.nrrd", array)

    result = run_cli("enhance", source, tmp_path / "out.nrrd", "--order-map", tmp_path / "order.nrrd")

    assert result.returncode == 0, result.stderr
    enhanced = sitk.ReadImage(str(tmp_path / "out.nrrd"))
    assert_same_geometry(enhanced, sitk.ReadImage(str(source)))
    values = sitk.GetArrayFromImage(enhanced)
    assert np.all(np.isfinite(values)) and array.min() <= values.min() and values.max() <= array.max()
    assert (tmp_path / "order.nrrd").exists()


def test_cli_usage_errors_exit_2_without_traceback(tmp_path):
    source = phantom_file(tmp_path / "in.nrrd")
    for arguments in (["enhance", source], ["enhance", source, tmp_path / "o.nrrd", "--mode", "magic"],
                      ["enhance", source, tmp_path / "o.nrrd", "--strength", "strong"], ["frobnicate"], []):
        result = run_cli(*arguments)
        assert_clean_input_error(result)
        assert "--help" in result.stderr, arguments
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.nrrd"]


def test_cli_interrupt_exits_130_and_writes_nothing(tmp_path):
    # Large enough that the alarm, 0.15 s after the imports, falls inside the command (reading, enhancing or
    # writing) on any machine.
    source = write_image(tmp_path / "in.nrrd", make_phantom("ct", shape=(128, 256, 256)).image)
    before = digest(source)
    script = textwrap.dedent(f"""
        import signal, sys
        from clinicalimaging.cli import main
        # Imported first: an interrupt inside a half-finished import of a C extension can crash the interpreter
        # (the console script ends through clinicalimaging.launch for that reason); on a loaded machine the
        # command's own imports could still be running when the alarm fires.
        import slicer, vtk
        import clinicalimaging.enhance.nodes, clinicalimaging.mrml
        def interrupt(*_):
            raise KeyboardInterrupt
        signal.signal(signal.SIGALRM, interrupt)
        signal.setitimer(signal.ITIMER_REAL, 0.15)
        sys.exit(main(["enhance", {str(source)!r}, {str(tmp_path / "out.nrrd")!r},
                       "--order-map", {str(tmp_path / "order.nrrd")!r}]))
    """)

    result = subprocess.run([sys.executable, "-c", script], capture_output=True, encoding="utf-8", timeout=600)

    assert result.returncode == 130, result.stderr
    assert result.stdout == "" and result.stderr == "clinicalimaging: interrupted; no output was written.\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.nrrd"]
    assert digest(source) == before


def _evaluate(image, label, tmp_path, *extra):
    table = tmp_path / "comparison.csv"
    result = run_cli("evaluate-enhancement", image, label, "--table", table, *extra)
    assert result.returncode == 0, result.stderr
    with table.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == TABLE_METHODS
    methods = [row["method"] for row in rows]
    for method in methods:
        assert method in result.stdout
    return result, methods


def test_cli_evaluate_enhancement_on_a_phantom(tmp_path):
    phantom = make_phantom("mr", shape=(8, 64, 64))
    image = write_image(tmp_path / "image.nrrd", phantom.image)
    label = write_image(tmp_path / "label.nrrd", phantom.labels)

    result, methods = _evaluate(image, label, tmp_path, "--label-value", phantom.lesion_label)

    assert len(set(methods)) == TABLE_METHODS
    assert sorted(path.name for path in tmp_path.iterdir()) == ["comparison.csv", "comparison.csv.provenance.json",
                                                               "image.nrrd", "label.nrrd"]


def test_cli_evaluate_enhancement_sweep_writes_the_read_off_table_and_the_plot(tmp_path):
    phantom = make_phantom("mr", shape=(8, 64, 64))
    image = write_image(tmp_path / "image.nrrd", phantom.image)
    label = write_image(tmp_path / "label.nrrd", phantom.labels)

    result = run_cli("evaluate-enhancement", image, label, "--label-value", phantom.lesion_label, "--sweep",
                     "--plot", tmp_path / "sweep.png", "--table", tmp_path / "sweep.csv")

    assert result.returncode == 0, result.stderr
    assert "CNR at +25%" in result.stdout and "unsharp mask [amount]" in result.stdout
    with (tmp_path / "sweep.csv").open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [row["method"] for row in rows] == list(SWEEPS)
    assert (tmp_path / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_evaluate_enhancement_ring_range_limits_the_noise_region(tmp_path):
    phantom = make_phantom("ct", shape=(8, 64, 64))
    image = write_image(tmp_path / "image.nrrd", phantom.image)
    label = write_image(tmp_path / "label.nrrd", phantom.labels)
    low, high = np.percentile(phantom.image[phantom.labels == 2], [20, 80])  # the liver around the lesion
    tables = {}
    for name, extra in (("whole", ("--whole-ring",)), ("soft", ("--ring-range", low, high))):
        tables[name] = tmp_path / f"{name}.csv"
        result = run_cli("evaluate-enhancement", image, label, "--label-value", phantom.lesion_label,
                         "--table", tables[name], *extra)
        assert result.returncode == 0, result.stderr
    noise = {name: float(next(csv.DictReader(path.open(newline="", encoding="utf-8")))["noise_std"])
             for name, path in tables.items()}
    assert noise["soft"] < noise["whole"]

    result = run_cli("evaluate-enhancement", image, label, "--label-value", phantom.lesion_label,
                     "--ring-range", 2000, 3000, "--table", tmp_path / "t.csv")
    assert_clean_input_error(result)
    assert "background ring" in result.stderr and not (tmp_path / "t.csv").exists()


def test_cli_evaluate_enhancement_plot_needs_the_sweep(tmp_path):
    phantom = make_phantom("mr", shape=(8, 48, 48))
    image = write_image(tmp_path / "image.nrrd", phantom.image)
    label = write_image(tmp_path / "label.nrrd", phantom.labels)

    result = run_cli("evaluate-enhancement", image, label, "--label-value", phantom.lesion_label,
                     "--plot", tmp_path / "sweep.png", "--table", tmp_path / "t.csv")

    assert_clean_input_error(result)
    assert "--sweep" in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["image.nrrd", "label.nrrd"]


def test_cli_evaluate_enhancement_refuses_to_merge_the_labels_of_a_multi_label_map(tmp_path):
    phantom = make_phantom("mr", shape=(8, 48, 48))
    image = write_image(tmp_path / "image.nrrd", phantom.image)
    label = write_image(tmp_path / "label.nrrd", phantom.labels)
    values = [int(value) for value in np.unique(phantom.labels) if value]

    result = run_cli("evaluate-enhancement", image, label, "--table", tmp_path / "t.csv")

    assert_clean_input_error(result)
    assert f"holds {len(values)} labels ({mrml.label_values_text(values)})" in result.stderr
    assert "--label-value" in result.stderr


def test_every_label_value_is_listed_with_runs_compressed(tmp_path):
    labels = np.zeros((4, 40, 40), np.uint8)
    values = [*range(1, 26), 30, 40, 41, 42]  # more than the 20 a message used to show
    for index, value in enumerate(values):
        labels[index % 4, index, :] = value
    image = write_image(tmp_path / "image.nrrd", np.random.default_rng(0).normal(100, 20, labels.shape))
    label = write_image(tmp_path / "label.nrrd", labels)

    result = run_cli("evaluate-enhancement", image, label)

    assert_clean_input_error(result)
    assert f"holds {len(values)} labels (1-25, 30, 40-42)" in result.stderr
    assert not (tmp_path / "t.csv").exists()


def test_cli_evaluate_enhancement_absent_label_value(tmp_path):
    phantom = make_phantom("mr", shape=(8, 48, 48))
    image = write_image(tmp_path / "image.nrrd", phantom.image)
    label = write_image(tmp_path / "label.nrrd", phantom.labels)

    result = run_cli("evaluate-enhancement", image, label, "--label-value", 250, "--table", tmp_path / "t.csv")

    assert_clean_input_error(result)
    assert "250" in result.stderr
    assert not (tmp_path / "t.csv").exists()


@pytest.mark.slow
@pytest.mark.parametrize("case", ["breast1", "brain1"])
def test_cli_evaluate_enhancement_on_real_lesions(shared_data, tmp_path, case):
    _evaluate(shared_data / f"{case}_image.nrrd", shared_data / f"{case}_label.nrrd", tmp_path,
              "--label-value", 1)


@pytest.mark.slow
def test_cli_evaluate_enhancement_on_the_liver(shared_data, tmp_path):
    names = json.loads((shared_data / "organ_labels.json").read_text())["abdomen_ct_organs.nii.gz"]
    liver = next(value for value, name in names.items() if name == "liver")

    _evaluate(shared_data / "abdomen_ct.nii.gz", shared_data / "abdomen_ct_organs.nii.gz", tmp_path,
              "--label-value", liver)


def test_cli_demo_into_a_file_is_an_input_error(tmp_path):
    target = _text(tmp_path / "demo-output", "a file")

    result = run_cli("demo", target)

    assert_clean_input_error(result)
    assert target.read_text() == "a file"


@pytest.mark.parametrize("name", ["OUT.NII.GZ", "OUT.NII", "OUT.NRRD", "Out.Seg.Nrrd"])
def test_upper_case_output_names_are_written_in_the_format_they_name(tmp_path, name):
    source = phantom_file(tmp_path / "in.nrrd")
    output = tmp_path / name
    if name.lower().endswith(".seg.nrrd"):
        from clinicalimaging import mrml

        node = mrml.read_volume(source)
        bright = mrml.array_from_volume(node) > np.percentile(mrml.array_from_volume(node), 90)
        mrml.write_segmentation(mrml.segmentation_from_mask(bright, node), output)
    else:
        result = run_cli("enhance", source, output, "--quiet")
        assert result.returncode == 0 and result.stderr == "", result.stderr
    sidecars = [f"{name}.provenance.json"] if ".NII" in name else []
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(["in.nrrd", name, *sidecars])
    assert_same_geometry(sitk.ReadImage(str(output)), sitk.ReadImage(str(source)))


def test_upper_case_metaimage_output_is_refused_before_the_work(tmp_path):
    source = phantom_file(tmp_path / "in.nrrd")

    result = run_cli("enhance", source, tmp_path / "OUT.MHA")

    assert_clean_input_error(result)
    assert "lower case" in result.stderr and "OUT.mha" in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.nrrd"]


def test_library_messages_stay_off_the_terminal_unless_debug(tmp_path):
    """VTK's logger (a 2-D NRRD) and MetaIO (a truncated .mha) print on their own; the user sees one line at most."""
    flat = write_image(tmp_path / "slice.nrrd", np.random.default_rng(0).normal(100, 20, (30, 40)).astype(np.int16))
    source = phantom_file(tmp_path / "in.mha")
    data = source.read_bytes()
    (tmp_path / "cut.mha").write_bytes(data[:len(data) - 1000])

    single_slice = run_cli("enhance", flat, tmp_path / "out.nrrd", "--quiet")
    truncated = run_cli("enhance", tmp_path / "cut.mha", tmp_path / "cut-out.nrrd")
    debug = run_cli("enhance", tmp_path / "cut.mha", tmp_path / "cut-out.nrrd", "--debug")

    assert single_slice.returncode == 0 and single_slice.stderr == ""
    assert_clean_input_error(truncated)
    assert "truncated" in truncated.stderr
    assert "MetaImage" in debug.stderr and debug.returncode == 2
