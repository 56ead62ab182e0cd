"""The process entry point of the command line, safe to interrupt at any moment.

``clinicalimaging`` (the console script) and ``python -m clinicalimaging`` both run
:func:`main`, which installs the interrupt handlers (:mod:`clinicalimaging.interrupts`)
before it imports anything heavy. A normal run ends with :func:`os._exit` once stdout
and stderr are flushed, so that a late signal cannot hit the interpreter's shutdown.
"""

import os
import sys

from .interrupts import install_handlers


def main():
    """Run the command line as the process entry point; never returns.

    Installs the signal handlers first, then imports and runs
    :func:`clinicalimaging.cli.main` on ``sys.argv[1:]`` and ends the process with its
    exit status.
    """
    install_handlers()
    from .cli import main as run

    status = run()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
    os._exit(status)
