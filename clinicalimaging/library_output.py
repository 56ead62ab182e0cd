"""What C++ libraries (VTK, ITK, Teem, MetaIO, TensorFlow) print themselves: kept off the user's terminal.

Their messages go straight to the process's standard output and error file
descriptors, around Python's ``sys.stdout``/``sys.stderr``; every failure they report
also reaches the caller as a return value or an exception, which the package turns
into one clear message. The command line's ``--debug`` shows them again.

While descriptor 2 points elsewhere, :func:`real_stderr_fd` still names the
terminal's stderr, where an interrupt's one line goes
(:mod:`clinicalimaging.interrupts`).
"""

import contextlib
import os
import sys

_shown = False
_real_stderr = 2  # the process's stderr while descriptor 2 is redirected (a duplicate of it), else 2
_depth = 0  # redirections now open


def show_library_output(shown):
    """Let the libraries' own messages through (``--debug``) or keep them off the terminal (the default)."""
    global _shown
    _shown = bool(shown)


def real_stderr_fd():
    """The descriptor of the process's real stderr, also inside a redirection."""
    return _real_stderr


@contextlib.contextmanager
def library_output_discarded():
    """Discard what native code writes to descriptors 1 and 2 inside the block (unless shown).

    Python's own streams are flushed first, and the C library's after, so that nothing
    written before the block is lost and nothing written inside it leaks out later.
    """
    if _shown:
        yield
        return
    with open(os.devnull, "wb") as null, _redirected(null.fileno(), stdout_too=True):
        yield


@contextlib.contextmanager
def native_stderr_captured():
    """A block whose writes to descriptor 2 go to a temporary file instead of stderr.

    C libraries write their notices to the descriptor directly, past ``sys.stderr``;
    Python's own writes to ``sys.stderr`` land in the file too.

    Yields
    ------
    file
        The temporary binary file that received the writes; read it inside the block
        (it is deleted when the block ends).
    """
    import tempfile  # only once a command loads a library that needs it

    with tempfile.TemporaryFile() as captured, _redirected(captured.fileno(), stdout_too=False):
        yield captured


@contextlib.contextmanager
def _redirected(target, *, stdout_too):
    """Point descriptor 2 (and with ``stdout_too`` descriptor 1) at ``target`` inside the block."""
    global _real_stderr, _depth
    descriptors = (1, 2) if stdout_too else (2,)
    _flush_streams()
    saved = []
    try:
        saved = [os.dup(descriptor) for descriptor in descriptors]
    except OSError:  # no such descriptor (a GUI application without a console): nothing to redirect
        for original in saved:
            os.close(original)
        yield
        return
    if _depth == 0:
        _real_stderr = saved[-1]  # before descriptor 2 moves, so that an interrupt line always has a real stderr
    _depth += 1
    try:
        for descriptor in descriptors:
            os.dup2(target, descriptor)
        yield
    finally:
        _flush_streams()
        _flush_c_streams()
        for descriptor, original in zip(descriptors, saved):
            os.dup2(original, descriptor)
        _depth -= 1
        if _depth == 0:
            _real_stderr = 2
        for original in saved:
            os.close(original)


def _flush_streams():
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, OSError, ValueError):  # none, or a closed one: nothing to flush
            stream.flush()


def _flush_c_streams():
    import ctypes

    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).fflush(None)
