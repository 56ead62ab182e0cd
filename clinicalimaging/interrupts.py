"""Interrupts at any moment of a command: one line, exit status 130 or 143, nothing half-written.

:func:`install_handlers` (called by :func:`clinicalimaging.launch.main`, the process
entry point, before anything heavy is imported) makes SIGINT (Ctrl-C) and SIGTERM end
the process at once with exactly one line on stderr and exit status 130 (SIGINT) or
143 (SIGTERM):

- before the outputs are in place, every temporary output folder registered with
  :func:`removed_on_interrupt` is deleted first and the line says that no output was
  written (files that existed before keep their content);
- once the outputs are in place (:func:`outputs_written`), they are kept and the line
  says that they are complete.

The process ends with :func:`os._exit` rather than by raising
:class:`KeyboardInterrupt`: an exception raised inside a half-finished import of a
C extension (VTK, MRML) crashes the interpreter or leaves a broken module behind.
Blocks that must not be split, such as moving several finished outputs into place,
run inside :func:`deferred_interrupts`; a signal arriving there takes effect when the
block ends. The line goes to the process's real stderr even while a library's own
messages are sent elsewhere (:mod:`clinicalimaging.library_output`).

Without :func:`install_handlers` nothing here touches the process's signal handling
(:func:`clinicalimaging.cli.main` called from a script, e.g. in Slicer's batch mode);
the bookkeeping functions are cheap and work the same with or without handlers.
"""


import contextlib
import os
import signal

from .library_output import real_stderr_fd

PROGRAM = "clinicalimaging"
#: Exit status for each handled signal (128 + signal number, as a shell reports it).
EXIT_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}
_WORDS = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}

_cleanup = []  # folders to delete when a signal ends the process
_stoppers = []  # callables that stop what still writes into those folders (worker processes)
_outcome = None  # a callable saying what a long run leaves behind, instead of the one-set-of-outputs wording
_deferring = 0  # depth of deferred_interrupts blocks
_pending = None  # a signal that arrived inside one
_written = 0  # how many complete sets of outputs were moved into place


def install_handlers():
    """Handle SIGINT and SIGTERM as described in the module docstring (main thread only)."""
    for signum in EXIT_STATUS:
        signal.signal(signum, _handle)


def _handle(signum, frame):
    global _pending
    if _deferring:
        _pending = _pending or signum
        return
    _exit_on_signal(signum)


def _exit_on_signal(signum):
    for other in EXIT_STATUS:  # a second Ctrl-C while cleaning up changes nothing
        signal.signal(other, signal.SIG_IGN)
    for stop in list(_stoppers):
        stop()
    for folder in _cleanup:
        _remove_tree(folder)
    stderr = real_stderr_fd()  # not where a library's messages are being discarded
    clear_bar = b"\r\x1b[K" if os.isatty(stderr) else b""  # a progress bar may occupy the line
    os.write(stderr, clear_bar + interrupted_message(signum).encode() + b"\n")
    os._exit(EXIT_STATUS[signum])


def _remove_tree(folder):
    import shutil  # already imported by whoever registered the folder

    shutil.rmtree(folder, ignore_errors=True)


def interrupted_message(signum=signal.SIGINT, *, complete=None):
    """The one line that reports a signal (or a cancel), and what it left behind.

    Parameters
    ----------
    signum : int
        ``signal.SIGINT`` or ``signal.SIGTERM``.
    complete : bool, optional
        Whether the outputs were already in place; default whether any set of outputs
        was moved into place in this process (:func:`outputs_written`).
    """
    if _outcome is not None:
        return f"{PROGRAM}: {_WORDS.get(signum, 'interrupted')}; {_outcome()}"
    complete = _written > 0 if complete is None else complete
    outcome = "the outputs were already written and are complete." if complete else "no output was written."
    return f"{PROGRAM}: {_WORDS.get(signum, 'interrupted')}; {outcome}"


@contextlib.contextmanager
def removed_on_interrupt(folder):
    """Register a temporary folder that a signal must delete before it ends the process.

    Create the folder inside :func:`deferred_interrupts` and enter this block there
    too, so that no signal falls between the two.
    """
    _cleanup.append(folder)
    try:
        yield folder
    finally:
        _cleanup.remove(folder)


@contextlib.contextmanager
def stopped_on_interrupt(stop, outcome):
    """Register how a signal stops a long run with many outputs, and what it says it kept.

    Parameters
    ----------
    stop : callable
        Called first when a signal ends the process, before the temporary folders are
        deleted: it stops whatever still writes into them (e.g. worker processes).
    outcome : callable
        Returns the end of the one line, after ``"interrupted; "``: what was kept.
    """
    global _outcome
    _stoppers.append(stop)
    previous, _outcome = _outcome, outcome
    try:
        yield
    finally:
        _stoppers.remove(stop)
        _outcome = previous


@contextlib.contextmanager
def deferred_interrupts():
    """A block that a signal must not split: a signal arriving inside takes effect when it ends."""
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
        if not _deferring and _pending is not None:
            _exit_on_signal(_pending)


def outputs_written():
    """Record that a complete set of outputs is in place (from here on, a signal keeps them)."""
    global _written
    _written += 1


def written_count():
    """How many complete sets of outputs were moved into place in this process."""
    return _written

