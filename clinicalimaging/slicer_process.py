"""A ``clinicalimaging`` command run in a child process, with progress and cancel: for the Slicer modules.

A module whose computation needs packages that must stay out of Slicer's own
process (TensorFlow's native libraries and GPU memory) runs the command line
out of process, as SlicerTotalSegmentator does: ``PythonSlicer -m clinicalimaging
COMMAND ... --progress-lines``. The child reports on stdout:

- ``PROGRESS <fraction 0..1> <message>`` lines, passed to the ``progress`` callback;
- a ``DEVICE <text>`` line naming the device that ran the network, returned as
  :attr:`CompletedCommand.device`;
- anything else (the command's summary), returned as :attr:`CompletedCommand.stdout_lines`.

Its exit status becomes an exception: 2 an :class:`~clinicalimaging.errors.InputError`
holding the command's one-line message, 130 or 143 (interrupted, terminated)
:class:`~clinicalimaging.errors.Cancelled`, anything else a :class:`RuntimeError` with
the end of its stderr. While the child runs, the caller's ``process_events`` (Slicer's
``slicer.app.processEvents``) keeps the GUI responsive and ``cancelled()`` is asked
every :data:`POLL_INTERVAL_S`; a cancel terminates the child (SIGTERM: the command
line deletes its unfinished outputs, see :mod:`clinicalimaging.interrupts`), kills it if
it is still alive after :data:`TERMINATE_GRACE_S`, and raises ``Cancelled``.

Nothing here imports Slicer: the file works in any Python, and the tests run it on
real commands.
"""

import dataclasses
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Optional

from .errors import Cancelled, InputError

#: Line prefixes of ``--progress-lines`` (see :mod:`clinicalimaging.cli`).
PROGRESS_PREFIX = "PROGRESS"
DEVICE_PREFIX = "DEVICE"
#: The start of the one line the command line writes on stderr for an input error.
ERROR_PREFIX = "clinicalimaging: error:"
EXIT_INPUT_ERROR = 2
#: Exit statuses of a command ended by SIGINT or SIGTERM (see :mod:`clinicalimaging.interrupts`).
EXIT_INTERRUPTED = (130, 143)
#: Seconds between two looks at ``cancelled()`` and two calls of ``process_events``.
POLL_INTERVAL_S = 0.05
#: Seconds a terminated child gets to delete its unfinished outputs before it is killed.
TERMINATE_GRACE_S = 10.0
#: Lines of stderr quoted in the message of an unexpected failure.
STDERR_TAIL_LINES = 15


@dataclasses.dataclass(frozen=True)
class CompletedCommand:
    """What a command that exited with status 0 wrote.

    Attributes
    ----------
    stdout_lines : list of str
        Its stdout lines other than ``PROGRESS`` and ``DEVICE`` lines (its summary), in order.
    device : str or None
        The text of its last ``DEVICE`` line; None when it wrote none.
    stderr_lines : list of str
        Its stderr lines (warnings of the libraries it used), in order.
    """

    stdout_lines: list
    device: Optional[str]
    stderr_lines: list = dataclasses.field(default_factory=list)


def default_python() -> str:
    """The interpreter that runs the command: ``PythonSlicer`` when on PATH (inside Slicer), else this Python."""
    return shutil.which("PythonSlicer") or sys.executable


def child_environment(update: Optional[dict] = None) -> dict:
    """The child's environment: this process's, plus what makes the command run the same way everywhere.

    - ``PYTHONPATH`` starts with the folder holding this package, so the child imports the
      same ``clinicalimaging`` (inside Slicer the package lives in the extension's
      scripted-modules folder, which is not on a plain interpreter's path);
    - ``PYTHONNOUSERSITE=1``: packages in the user's own site folder do not shadow
      Slicer's;
    - ``PYTHONIOENCODING=utf-8`` and ``PYTHONUNBUFFERED=1``: lines arrive as UTF-8, at once.

    Parameters
    ----------
    update : dict, optional
        More variables (they win).

    Returns
    -------
    dict
    """
    environment = dict(os.environ)
    package_parent = str(Path(__file__).resolve().parent.parent)
    paths = [package_parent] + [path for path in environment.get("PYTHONPATH", "").split(os.pathsep)
                                if path and path != package_parent]
    environment["PYTHONPATH"] = os.pathsep.join(paths)
    environment.update(PYTHONNOUSERSITE="1", PYTHONIOENCODING="utf-8", PYTHONUNBUFFERED="1")
    environment.update(update or {})
    return environment


def run_cli(arguments, *, progress: Optional[Callable] = None, cancelled: Optional[Callable] = None,
            python: Optional[str] = None, process_events: Optional[Callable] = None,
            environment: Optional[dict] = None, cwd=None) -> CompletedCommand:
    """Run ``python -m clinicalimaging ARGUMENTS... --progress-lines`` and wait for it, GUI alive.

    Parameters
    ----------
    arguments : sequence of str or Path
        The command and its arguments, e.g. ``["enhance", "in.nrrd", "out.nrrd"]``.
    progress : callable, optional
        ``progress(fraction, message)`` for each ``PROGRESS`` line (fraction in [0, 1]);
        returning False or raising :class:`Cancelled` cancels.
    cancelled : callable, optional
        ``cancelled() -> bool``, asked every :data:`POLL_INTERVAL_S` s; True cancels.
    python : str, optional
        The interpreter; default :func:`default_python`.
    process_events : callable, optional
        Called every :data:`POLL_INTERVAL_S` s while waiting (``slicer.app.processEvents``).
    environment : dict, optional
        Variables added to :func:`child_environment`.
    cwd : str or Path, optional
        The child's working folder; default this process's.

    Returns
    -------
    CompletedCommand

    Raises
    ------
    InputError
        Exit status 2: the command's message (without ``clinicalimaging: error:``).
    Cancelled
        A cancel (the child is terminated, then killed if needed, before this returns),
        or the child was interrupted (exit status 130 or 143).
    RuntimeError
        The interpreter could not start, or any other exit status (with the end of stderr).
    """
    command = [str(python or default_python()), "-m", "clinicalimaging", *map(str, arguments), "--progress-lines"]
    name = f"clinicalimaging {arguments[0]}" if arguments else "clinicalimaging"
    options = {}
    if os.name == "nt":
        options["creationflags"] = subprocess.CREATE_NO_WINDOW  # no console window over Slicer
    try:
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env=child_environment(environment), cwd=cwd, **options)
    except OSError as error:
        raise RuntimeError(f"Could not start '{command[0]}' to run {name}: {error}") from error
    lines = queue.Queue()
    readers = [threading.Thread(target=_read_lines, args=(stream, kind, lines), daemon=True)
               for stream, kind in ((child.stdout, "stdout"), (child.stderr, "stderr"))]
    for reader in readers:
        reader.start()
    stdout_lines, stderr_lines, device = [], [], None
    wants_cancel = _cancel_check(cancelled)
    try:
        open_streams = len(readers)
        while open_streams or child.poll() is None:
            if wants_cancel():
                _stop(child, process_events)
                raise Cancelled(f"{name} was cancelled")
            try:
                kind, line = lines.get(timeout=POLL_INTERVAL_S)
            except queue.Empty:
                _call(process_events)
                continue
            if line is None:
                open_streams -= 1
            elif kind == "stderr":
                stderr_lines.append(line)
            elif line.startswith(DEVICE_PREFIX + " "):
                device = line[len(DEVICE_PREFIX) + 1:].strip()
            else:
                update = _progress_update(line)
                if update is None:
                    stdout_lines.append(line)
                elif progress is not None and progress(*update) is False:
                    _stop(child, process_events)
                    raise Cancelled(f"{name} was cancelled")
            _call(process_events)
    finally:
        if child.poll() is None:  # an exception (e.g. from the progress callback) left it running
            _stop(child, process_events)
        for reader in readers:
            reader.join(timeout=5)
        for stream in (child.stdout, child.stderr):
            stream.close()
    return _result(name, child.returncode, stdout_lines, stderr_lines, device)


def _progress_update(line):
    """``(fraction, message)`` of a ``PROGRESS`` line; None for any other line."""
    prefix, _, rest = line.partition(" ")
    if prefix != PROGRESS_PREFIX:
        return None
    fraction_text, _, message = rest.partition(" ")
    try:
        fraction = float(fraction_text)
    except ValueError:
        return None
    return min(max(fraction, 0.0), 1.0), message


def _read_lines(stream, kind, lines):
    """Feed ``(kind, line)`` for every line of a pipe into ``lines``, then ``(kind, None)``."""
    try:
        for raw in iter(stream.readline, b""):
            lines.put((kind, raw.decode("utf-8", errors="replace").rstrip("\r\n")))
    except (OSError, ValueError):  # the pipe was closed under us
        pass
    finally:
        lines.put((kind, None))


def _cancel_check(cancelled):
    if cancelled is None:
        return lambda: False
    return lambda: bool(cancelled())


def _call(process_events):
    if process_events is not None:
        process_events()


def _stop(child, process_events):
    """Terminate the child, give it :data:`TERMINATE_GRACE_S` to clean up, then kill it; wait until it is gone."""
    if child.poll() is not None:
        return
    try:
        child.terminate()
    except OSError:  # already gone
        pass
    deadline = time.monotonic() + TERMINATE_GRACE_S
    while child.poll() is None and time.monotonic() < deadline:
        _call(process_events)
        time.sleep(POLL_INTERVAL_S)
    if child.poll() is None:
        child.kill()
        child.wait()


def _result(name, status, stdout_lines, stderr_lines, device):
    if status == 0:
        return CompletedCommand(stdout_lines=stdout_lines, device=device, stderr_lines=stderr_lines)
    if status == EXIT_INPUT_ERROR:
        raise InputError(_error_message(stderr_lines) or f"{name} rejected its input (exit status 2).")
    if status in EXIT_INTERRUPTED:
        raise Cancelled(f"{name} was interrupted")
    tail = "\n".join(stderr_lines[-STDERR_TAIL_LINES:])
    if status < 0:
        try:
            signal_name = signal.Signals(-status).name
        except ValueError:
            signal_name = f"signal {-status}"
        raise RuntimeError(f"{name} was ended by {signal_name} (out of memory?).\n{tail}".rstrip())
    raise RuntimeError(f"{name} failed (exit status {status}).\n{tail}".rstrip())


def _error_message(stderr_lines):
    """The command's one-line error message: its last ``clinicalimaging: error:`` line, else its last line."""
    for line in reversed(stderr_lines):
        if line.startswith(ERROR_PREFIX):
            return line[len(ERROR_PREFIX):].strip()
    for line in reversed(stderr_lines):
        if line.strip():
            return line.strip()
    return ""
