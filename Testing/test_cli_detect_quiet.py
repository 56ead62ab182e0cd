"""TensorFlow's start-up notices never reach the terminal of a detection command, unless ``--debug`` asks for them."""

import os
import subprocess
import sys

import pytest

from test_cli import run_cli
from test_cli_detect import write_case

#: Runs clinicalimaging.cli.main on the arguments given after it, then prints what it left of TensorFlow's logging.
_PROBE = ("import logging, os, sys; from clinicalimaging.cli import main; status = main(sys.argv[1:]); "
          "print('level:', os.environ.get('TF_CPP_MIN_LOG_LEVEL'), logging.getLogger('tensorflow').level); "
          "sys.exit(status)")


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    return write_case(tmp_path_factory.mktemp("case"))


def test_detect_and_evaluate_write_nothing_on_stderr(tmp_path, case):
    detect = run_cli("detect", case["image"], tmp_path / "organs.mrk.json", "--views", "axial")
    evaluate = run_cli("evaluate-detection", case["image"], case["labels"], "--label-names", case["names"],
                       "--views", "axial", "--quiet")

    assert detect.returncode == 0 and evaluate.returncode == 0, detect.stderr + evaluate.stderr
    assert detect.stderr == "" and evaluate.stderr == ""  # stderr is no terminal here: no progress bar either
    assert "organs found" in detect.stdout and "mean IoU" in evaluate.stdout


@pytest.mark.parametrize("debug, user_level, expected", [(False, None, "level: 3 40"),
                                                         (True, None, "level: None 0"),
                                                         (False, "1", "level: 1 40")])
def test_tensorflow_logging_is_quiet_unless_debug_or_set_by_the_user(tmp_path, case, debug, user_level, expected):
    environment = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}
    if user_level is not None:
        environment["TF_CPP_MIN_LOG_LEVEL"] = user_level
    arguments = ["detect", case["image"], tmp_path / "organs.mrk.json", "--views", "axial", "--quiet"]
    result = subprocess.run([sys.executable, "-c", _PROBE, *map(str, arguments), *(["--debug"] if debug else [])],
                            capture_output=True, text=True, env=environment, timeout=600)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected
    assert (result.stderr == "") != debug  # --debug shows TensorFlow's notices; otherwise none


@pytest.mark.parametrize("redirection", ["native_stderr_captured", "library_output_discarded"])
def test_an_interrupt_while_library_output_is_redirected_is_still_reported(redirection):
    """While TensorFlow loads (captured) or VTK reads a file (discarded), Ctrl-C still says its one line."""
    script = ("import os, signal, sys, time\n"
              "from clinicalimaging import interrupts, library_output\n"
              "interrupts.install_handlers()\n"
              f"with library_output.{redirection}():\n"
              "    print('a notice of the library', file=sys.stderr)\n"
              "    os.kill(os.getpid(), signal.SIGINT)\n"
              "    time.sleep(30)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)

    assert result.returncode == 130
    assert result.stderr == "clinicalimaging: interrupted; no output was written.\n"


def test_a_backend_that_cannot_load_is_reported_in_one_line(tmp_path, case):
    script = ("import sys; sys.modules['keras'] = None; from clinicalimaging.cli import main; "
              "sys.exit(main(sys.argv[1:]))")
    result = subprocess.run([sys.executable, "-c", script, "detect", str(case["image"]),
                             str(tmp_path / "organs.mrk.json")], capture_output=True, text=True, timeout=120)

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "needs Keras 3 and TensorFlow" in result.stderr
    assert "pip install clinicalimaging[detect]" in result.stderr
