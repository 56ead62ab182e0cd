"""What C++ libraries (VTK, ITK, Teem, MetaIO) print themselves: kept off the user's terminal.

Their messages go straight to the process's standard output and error file
descriptors, around Python's ``sys.stdout``/``sys.stderr``; every failure they report
also reaches the caller as a return value or an exception, which the package turns
into one clear message. The command line's ``--debug`` shows them again.
"""

import contextlib
import ctypes
import os
import sys

_shown = False


def show_library_output(shown):
    """Let the libraries' own messages through (``--debug``) or keep them off the terminal (the default)."""
    global _shown
    _shown = bool(shown)


@contextlib.contextmanager
def library_output_discarded():
    """Discard what native code writes to file descriptors 1 and 2 inside the block (unless shown).

    Python's own streams are flushed first, and the C library's after, so that nothing
    written before the block is lost and nothing written inside it leaks out later.
    """
    if _shown:
        yield
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, OSError, ValueError):
            stream.flush()
    saved = []
    try:
        saved = [os.dup(1), os.dup(2)]
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            os.dup2(null.fileno(), 2)
    except OSError:  # no such descriptors (an embedding application): nothing to silence
        for descriptor in saved:
            os.close(descriptor)
        yield
        return
    try:
        yield
    finally:
        _flush_c_streams()
        for target, descriptor in zip((1, 2), saved):
            os.dup2(descriptor, target)
            os.close(descriptor)


def _flush_c_streams():
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).fflush(None)
