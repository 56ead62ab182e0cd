"""Interrupting the command line at any moment: one line, exit 130/143, no traceback, nothing half-written."""

import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import SimpleITK as sitk

from clinicalimaging.phantom import make_phantom
from test_cli import write_image

OUTPUTS = ("out.nrrd", "order.nrrd")
MESSAGES = {signal.SIGINT: "clinicalimaging: interrupted;", signal.SIGTERM: "clinicalimaging: terminated;"}
EXIT_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A volume whose enhancement takes about a second after start-up (VTK and MRML take another)."""
    path = tmp_path_factory.mktemp("interrupt") / "in.nrrd"
    return write_image(path, make_phantom("ct", shape=(24, 192, 192)).image.astype(np.float32))


def _interrupt(source, folder, delay, signum):
    folder.mkdir()
    command = [sys.executable, "-m", "clinicalimaging", "enhance", str(source), str(folder / OUTPUTS[0]),
               "--order-map", str(folder / OUTPUTS[1])]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding="utf-8")
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=600)
    return process.returncode, stdout, stderr


# From 0.3 s: before the package's first line runs, the interpreter's own start-up (about 30 ms, longer on a busy
# machine) answers a signal as Python does; Testing/Benchmarks/sweep_interrupt.py shows that window too.
@pytest.mark.slow
@pytest.mark.parametrize("delay, signum", [*((delay, signal.SIGINT) for delay in (0.3, 0.5, 0.7, 0.9, 1.2, 1.6,
                                                                                  2.0, 2.5)),
                                           (0.4, signal.SIGTERM), (1.4, signal.SIGTERM)])
def test_cli_interrupt_at_any_moment_is_one_line_and_leaves_nothing_half_written(source, tmp_path, delay, signum):
    folder = tmp_path / "outputs"

    status, stdout, stderr = _interrupt(source, folder, delay, signum)

    lines = stderr.strip().splitlines()
    assert status in (EXIT_STATUS[signum], 0), (status, stderr)
    assert "Traceback" not in stderr + stdout
    assert len(lines) <= 1, stderr
    written = sorted(path.name for path in folder.iterdir())
    if status == 0:
        assert lines == [] and written == sorted(OUTPUTS)
    else:
        assert lines[0].startswith(MESSAGES[signum]), stderr
        complete = "complete" in lines[0]
        assert written == (sorted(OUTPUTS) if complete else []), (written, stderr)  # no temporary folder either
    for name in written:
        assert sitk.ReadImage(str(folder / name)).GetSize() == (192, 192, 24)


def _run_script(body, *arguments):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(body), *map(str, arguments)], capture_output=True,
                          encoding="utf-8", timeout=120)


def test_cli_launch_defers_a_signal_until_the_outputs_are_in_place_and_then_says_they_are_complete(tmp_path):
    result = _run_script("""
        import os, signal, sys
        from clinicalimaging import interrupts, mrml
        interrupts.install_handlers()
        first, second = (os.path.join(sys.argv[1], name) for name in ("a.txt", "b.txt"))
        with mrml.staged_outputs([first, second]) as staged:
            for path in staged.values():
                path.write_text("done")
            with interrupts.deferred_interrupts():  # like the commit: the signal waits for the block's end
                os.kill(os.getpid(), signal.SIGINT)
                print("still running", flush=True)
        print("not reached")
    """, tmp_path)

    assert result.returncode == 130, result.stderr
    assert result.stdout == "still running\n"
    assert result.stderr == "clinicalimaging: interrupted; no output was written.\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == []  # the staging folder is gone too


def test_cli_launch_after_the_outputs_are_written_keeps_them_and_says_so(tmp_path):
    result = _run_script("""
        import os, signal, sys, time
        from clinicalimaging import interrupts, mrml
        interrupts.install_handlers()
        with mrml.staged_outputs([os.path.join(sys.argv[1], "a.txt")]) as staged:
            next(iter(staged.values())).write_text("done")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    """, tmp_path)

    assert result.returncode == 143, result.stderr
    assert result.stderr == "clinicalimaging: terminated; the outputs were already written and are complete.\n"
    assert [path.read_text() for path in tmp_path.iterdir()] == ["done"]


def test_cli_main_called_from_a_script_leaves_the_signal_handlers_alone(tmp_path):
    result = _run_script("""
        import signal, sys
        from clinicalimaging.cli import main
        before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
        status = main(["enhance", sys.argv[1], sys.argv[2], "--quiet"])
        print(status, (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before)
    """, tmp_path / "absent.nrrd", tmp_path / "out.nrrd")

    assert result.stdout == "2 True\n", result.stderr


def test_cli_a_second_interrupt_while_exiting_changes_nothing(tmp_path):
    result = _run_script("""
        import os, signal
        from clinicalimaging import interrupts
        interrupts.install_handlers()
        with interrupts.deferred_interrupts():
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGTERM)
    """)

    assert result.returncode == 130 and result.stderr == "clinicalimaging: interrupted; no output was written.\n"
