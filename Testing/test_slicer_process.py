"""Commands run out of process (``clinicalimaging.slicer_process.run_cli``), on real commands and real processes.

``enhance`` runs for real on a small phantom: its progress lines reach the callback, a
bad input becomes an InputError with the command's message, and a cancel stops the
child (terminated, gone) and leaves no output. The parts of the line protocol that
no existing command exercises (the ``DEVICE`` line, undecodable bytes, the other exit
statuses) run a small shell script in place of the interpreter: a real child process
that writes exactly those lines.
"""

import os
import stat
import sys
import time
from pathlib import Path

import pytest

from clinicalimaging import mrml
from clinicalimaging.errors import Cancelled, InputError
from clinicalimaging.phantom import make_phantom
from clinicalimaging.phantom_nodes import phantom_volume
from clinicalimaging.slicer_process import CompletedCommand, child_environment, default_python, run_cli


@pytest.fixture(scope="module")
def phantom_file(tmp_path_factory):
    """A small CT phantom as a NRRD file."""
    path = tmp_path_factory.mktemp("phantom") / "phantom.nrrd"
    volume, _labels = phantom_volume(make_phantom("ct", shape=(8, 48, 48)), name="phantom")
    mrml.write_volume(volume, path)
    return path


def _processes_naming(text):
    """Pids of the live processes whose command line holds ``text`` (Linux /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command_line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = next((line for line in (entry / "status").read_text().splitlines() if line.startswith("State:")),
                         "")
        except OSError:
            continue  # ended meanwhile
        if text in command_line and "zombie" not in state:
            pids.append(int(entry.name))
    return pids


def test_enhance_reports_progress_and_writes_its_output(phantom_file, tmp_path):
    output = tmp_path / "enhanced.nrrd"
    updates, events = [], []

    result = run_cli(["enhance", phantom_file, output], progress=lambda fraction, message: updates.append(
        (fraction, message)), process_events=lambda: events.append(1))

    assert isinstance(result, CompletedCommand)
    assert output.is_file()
    assert len(updates) >= 3, updates
    fractions = [fraction for fraction, _ in updates]
    assert fractions == sorted(fractions) and 0.0 <= fractions[0] and fractions[-1] <= 1.0, updates
    assert all(message for _, message in updates)
    assert not any(line.startswith("PROGRESS") for line in result.stdout_lines)
    assert any(output.name in line for line in result.stdout_lines), result.stdout_lines  # the summary
    assert result.device is None  # enhance runs no network
    assert events, "process_events was never called while the child ran"


def test_bad_input_is_an_input_error_with_the_commands_message(tmp_path):
    missing = tmp_path / "missing.nrrd"
    with pytest.raises(InputError) as raised:
        run_cli(["enhance", missing, tmp_path / "out.nrrd"])
    message = str(raised.value)
    assert message == f"Input '{missing}' does not exist. Check the path."
    assert not (tmp_path / "out.nrrd").exists()


def test_usage_error_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no-such-command"):
        run_cli(["no-such-command"])


@pytest.mark.parametrize("how", ["cancelled", "progress"])
def test_cancel_after_the_first_progress_line_stops_the_child(phantom_file, tmp_path, how):
    output = tmp_path / "cancelled.nrrd"
    updates = []

    def progress(fraction, message):
        updates.append(message)
        return False if how == "progress" else None

    started = time.monotonic()
    with pytest.raises(Cancelled):
        run_cli(["enhance", phantom_file, output], progress=progress,
                cancelled=(lambda: bool(updates)) if how == "cancelled" else None)

    assert len(updates) == 1, updates  # cancelled at the first line, nothing read after it
    assert _processes_naming(str(output)) == [], "the child still runs after the cancel"
    assert sorted(path.name for path in tmp_path.iterdir()) == [], "the cancelled run left files behind"
    assert time.monotonic() - started < 30


def test_the_child_imports_this_package():
    environment = child_environment({"EXTRA": "1"})
    package_parent = str(Path(__import__("clinicalimaging").__file__).resolve().parent.parent)
    assert environment["PYTHONPATH"].split(os.pathsep)[0] == package_parent
    assert environment["PYTHONNOUSERSITE"] == "1" and environment["PYTHONIOENCODING"] == "utf-8"
    assert environment["EXTRA"] == "1"
    assert default_python() in (sys.executable, __import__("shutil").which("PythonSlicer"))


def _stand_in(tmp_path, body):
    """An executable shell script used as the interpreter: it ignores ``-m clinicalimaging ...`` and runs ``body``."""
    script = tmp_path / "stand-in-python"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


@pytest.mark.skipif(os.name == "nt", reason="the stand-in child is a POSIX shell script")
def test_device_line_summary_and_undecodable_bytes(tmp_path):
    python = _stand_in(tmp_path, 'echo "PROGRESS 0.5000 Running the network"\n'
                                 'echo "DEVICE GPU 0: NVIDIA H200"\n'
                                 "printf 'caf\\351 summary\\n'\n"
                                 'echo "some warning" >&2\n')
    updates = []
    result = run_cli(["detect", "in.nrrd", "out.mrk.json"], python=python,
                     progress=lambda fraction, message: updates.append((fraction, message)))
    assert updates == [(0.5, "Running the network")]
    assert result.device == "GPU 0: NVIDIA H200"
    assert result.stdout_lines == ["caf\N{REPLACEMENT CHARACTER} summary"]
    assert result.stderr_lines == ["some warning"]


@pytest.mark.skipif(os.name == "nt", reason="the stand-in child is a POSIX shell script")
@pytest.mark.parametrize("body, error, text", [
    ('echo "clinicalimaging: error: No model: give --model." >&2\necho "late warning" >&2\nexit 2\n',
     InputError, "No model: give --model."),
    ('echo "something odd" >&2\nexit 2\n', InputError, "something odd"),
    ('echo "Traceback" >&2\necho "ValueError: boom" >&2\nexit 1\n', RuntimeError, "ValueError: boom"),
    ('exit 143\n', Cancelled, "interrupted"),
    ('kill -KILL $$\n', RuntimeError, "SIGKILL"),
])
def test_exit_statuses(tmp_path, body, error, text):
    with pytest.raises(error) as raised:
        run_cli(["detect"], python=_stand_in(tmp_path, body))
    assert text in str(raised.value)
    if error is InputError:
        assert "clinicalimaging: error:" not in str(raised.value)


def test_an_interpreter_that_cannot_start_is_a_runtime_error(tmp_path):
    with pytest.raises(RuntimeError, match="Could not start"):
        run_cli(["enhance"], python=str(tmp_path / "no-such-python"))
