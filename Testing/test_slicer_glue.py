"""The Slicer-only glue of the package (progress dialog runner, package installation) on slicer-core.

slicer-core's ``slicer.util`` is Slicer's own; the application, its dialogs and the
translation function are stand-ins that record what the user would see, in order.
"""

import sys
import types

import pytest
import slicer

from clinicalimaging.errors import Cancelled, InputError
from clinicalimaging.slicer_dependencies import ensure_requirements, missing_requirements
from clinicalimaging.slicer_progress import run_with_progress


class _ProgressDialog:
    def __init__(self, events, options):
        self.events, self.options = events, options
        self.value, self.labelText, self.wasCanceled = 0, "", False

    def close(self):
        self.events.append("progress dialog closed")


@pytest.fixture
def screen(monkeypatch):
    """What the user sees, in order; the application stand-in and Slicer's dialogs record into it."""
    events = []
    dialogs = []

    def create_progress_dialog(**options):
        dialogs.append(_ProgressDialog(events, options))
        events.append("progress dialog opened")
        return dialogs[-1]

    application = types.SimpleNamespace(processEvents=lambda: None, testingEnabled=lambda: False)
    monkeypatch.setattr(slicer, "app", application, raising=False)
    monkeypatch.setattr(slicer.util, "createProgressDialog", create_progress_dialog, raising=False)
    monkeypatch.setattr(slicer.util, "errorDisplay", lambda text, **kwargs: events.append(f"error: {text}"),
                        raising=False)
    monkeypatch.setattr(slicer.util, "showStatusMessage", lambda text, duration=0: events.append(f"status: {text}"),
                        raising=False)
    monkeypatch.setitem(sys.modules, "slicer.i18n", types.SimpleNamespace(tr=lambda text: text))
    return types.SimpleNamespace(events=events, dialogs=dialogs)


def test_error_message_comes_after_the_progress_dialog_closes(screen):
    def work(progress):
        progress(0.5, "half way")
        raise InputError("The outline has 2 points; place at least 3.")

    assert run_with_progress(work, title="Test", failure_message="Failed.") is None
    assert screen.events == ["progress dialog opened", "progress dialog closed",
                             "error: The outline has 2 points; place at least 3."]


def test_unexpected_error_is_shown_after_the_dialog_closes_and_raised(screen):
    def work(progress):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        run_with_progress(work, title="Test", failure_message="Failed.")
    assert screen.events[:2] == ["progress dialog opened", "progress dialog closed"]
    assert screen.events[2].startswith("error: Failed.") and "boom" in screen.events[2]


def test_dialog_stays_open_at_100_percent_while_work_goes_on(screen):
    def work(progress):
        progress(1.0, "segmentation done")
        screen.events.append("results table")
        return "result"

    assert run_with_progress(work, title="Test", failure_message="Failed.") == "result"
    assert screen.dialogs[0].options["autoClose"] is False
    assert screen.events == ["progress dialog opened", "results table", "progress dialog closed"]


def test_cancel_closes_the_dialog_and_says_nothing_changed(screen):
    def work(progress):
        screen.dialogs[0].wasCanceled = True
        if progress(0.1, "working") is False:
            raise Cancelled("working")

    assert run_with_progress(work, title="Test", failure_message="Failed.") is None
    assert screen.events[1] == "progress dialog closed"
    assert "nothing was changed" in screen.events[2]


def test_missing_requirements_reads_the_file(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# comment\nnumpy>=1.0  # installed\n\nnumpy<1.0\nno-such-package-clinicalimaging>=1\n")
    assert missing_requirements(requirements) == ["numpy<1.0", "no-such-package-clinicalimaging>=1"]


def test_missing_requirements_leaves_out_other_platforms(tmp_path):
    requirements = tmp_path / "requirements.txt"
    here, elsewhere = ("==", "!=") if sys.platform == "linux" else ("!=", "==")
    requirements.write_text(f'no-such-package-a>=1; sys_platform {here} "linux"\n'
                            f'no-such-package-b>=1; sys_platform {elsewhere} "linux"\n')
    assert missing_requirements(requirements) == [f'no-such-package-a>=1; sys_platform {here} "linux"']


def test_slicer_5_10_asks_before_installing_and_respects_no(screen, monkeypatch, tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("no-such-package-clinicalimaging>=1\n")
    questions, installs = [], []
    monkeypatch.setitem(sys.modules, "slicer.packaging", None)  # Slicer 5.10 has no slicer.packaging
    monkeypatch.setattr(slicer.util, "confirmOkCancelDisplay",
                        lambda text, **kwargs: questions.append(text) or False, raising=False)
    monkeypatch.setattr(slicer.util, "pip_install", installs.append, raising=False)

    assert ensure_requirements(requirements, requester="SelfPacedSegment") is False
    assert len(questions) == 1 and "no-such-package-clinicalimaging" in questions[0]
    assert installs == []
    assert any("not installed" in event for event in screen.events)


def test_nothing_is_asked_when_everything_is_installed(screen, monkeypatch, tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("numpy\n")
    monkeypatch.setitem(sys.modules, "slicer.packaging", None)
    monkeypatch.setattr(slicer.util, "confirmOkCancelDisplay", lambda text, **kwargs: pytest.fail("asked"),
                        raising=False)
    assert ensure_requirements(requirements, requester="FractionalEnhance") is True


def _phantom_file(folder):
    from clinicalimaging import mrml
    from clinicalimaging.phantom import make_phantom
    from clinicalimaging.phantom_nodes import phantom_volume

    path = folder / "phantom.nrrd"
    volume, _labels = phantom_volume(make_phantom("ct", shape=(8, 48, 48)), name="phantom")
    mrml.write_volume(volume, path)
    return path


def test_cancel_in_the_progress_dialog_stops_a_child_process(screen, tmp_path):
    """A module's pattern: run_cli under run_with_progress; the dialog's Cancel ends the child, nothing is written."""
    from clinicalimaging.slicer_process import run_cli

    source = _phantom_file(tmp_path)
    output = tmp_path / "outputs" / "enhanced.nrrd"
    output.parent.mkdir()

    def work(progress):
        def cancelling(fraction, message):
            screen.dialogs[0].wasCanceled = True  # the user presses Cancel as the first line arrives
            return progress(fraction, message)

        return run_cli(["enhance", source, output], progress=cancelling)

    assert run_with_progress(work, title="Organ Detect", failure_message="Failed.") is None
    assert screen.events[:2] == ["progress dialog opened", "progress dialog closed"]
    assert "nothing was changed" in screen.events[2]
    assert list(output.parent.iterdir()) == []


def test_input_error_of_a_child_process_is_shown_after_the_dialog_closes(screen, tmp_path):
    from clinicalimaging.slicer_process import run_cli

    missing = tmp_path / "missing.nrrd"
    assert run_with_progress(lambda progress: run_cli(["enhance", missing, tmp_path / "out.nrrd"], progress=progress),
                             title="Organ Detect", failure_message="Failed.") is None
    assert screen.events == ["progress dialog opened", "progress dialog closed",
                             f"error: Input '{missing}' does not exist. Check the path."]


def test_organ_detect_requirements_are_asked_for_on_slicer_5_10(screen, monkeypatch, tmp_path):
    """Slicer 5.10 without TensorFlow: one question naming it; declined, nothing is installed."""
    from pathlib import Path

    source = Path(__file__).resolve().parents[1] / "OrganDetect" / "Resources" / "Requirements" / "OrganDetect.txt"
    requirements = tmp_path / "requirements.txt"  # the module's file, asking for a TensorFlow no Python has
    requirements.write_text(source.read_text(encoding="utf-8").replace(">=2.18", ">=999"))
    questions, installs = [], []
    monkeypatch.setitem(sys.modules, "slicer.packaging", None)
    monkeypatch.setattr(slicer.util, "confirmOkCancelDisplay",
                        lambda text, **kwargs: questions.append(text) or False, raising=False)
    monkeypatch.setattr(slicer.util, "pip_install", installs.append, raising=False)

    assert ensure_requirements(requirements, requester="OrganDetect") is False
    assert len(questions) == 1 and "tensorflow" in questions[0] and "OrganDetect" in questions[0]
    assert installs == []
