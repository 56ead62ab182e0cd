"""Keras and its backend, loaded without their start-up notices on the terminal.

While it loads, TensorFlow writes notices straight to the process's stderr: absl's
"All log messages before absl::InitializeLog() is called" line, the oneDNN and
CPU-feature notes, CUDA plugin registrations and warnings about missing GPU
libraries. Some of them come before TensorFlow reads ``TF_CPP_MIN_LOG_LEVEL``, so no
setting silences them. :func:`import_keras` therefore loads Keras with file
descriptor 2 sent to a temporary file (:func:`clinicalimaging.library_output.native_stderr_captured`),
which is dropped when the import succeeds and written to stderr when it fails. After
the import, ``TF_CPP_MIN_LOG_LEVEL=3`` keeps TensorFlow's C++ log to fatal errors, and
the ``tensorflow`` and absl Python loggers report errors only: every error that stops
a command reaches it as a Python exception, which the command reports itself.

A value the user set (the environment variable, a logger's level) is left as it is,
and after :func:`show_backend_notices` (the commands' ``--debug``) nothing is changed.
Every module of this package gets Keras through :func:`import_keras`, so whichever
loads it first applies this.
"""

import logging
import os
import sys

from ..library_output import native_stderr_captured
from ..errors import InputError

#: Environment read by TensorFlow when it loads; a value already in the environment wins.
QUIET_ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "3"}

_show_notices = False


def show_backend_notices(show=True):
    """Whether Keras loads with the environment and loggers left alone, so that every notice shows.

    Only a load after the call is affected; once loaded, Keras stays as it is.

    Parameters
    ----------
    show : bool
        True for ``--debug``; False (the default state) for the quiet load of the
        module docstring.
    """
    global _show_notices
    _show_notices = bool(show)


def import_keras():
    """Keras, loaded with its backend the first time (quietly, unless :func:`show_backend_notices`).

    Returns
    -------
    module
        ``keras``.

    Raises
    ------
    InputError
        Keras or its backend cannot be loaded (what the backend wrote while failing is
        on stderr).
    """
    if sys.modules.get("keras") is not None:
        return sys.modules["keras"]
    if _show_notices:
        return _load()
    for name, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    failure = None
    with native_stderr_captured() as notices:
        try:
            keras = _load()
        except Exception as error:  # whatever stops the import, what the backend wrote explains it
            notices.seek(0)
            failure, written = error, notices.read()
    if failure is not None:
        os.write(2, written)
        raise failure
    _quiet_python_loggers()
    return keras


def _load():
    try:
        import keras
    except ImportError as error:
        raise InputError(f"Organ detection needs Keras 3 and TensorFlow, which cannot be loaded ({error}): install "
                         "them with 'pip install clinicalimaging[detect]' (in Slicer, the OrganDetect module installs "
                         "them when you press Apply).") from error
    return keras


def _quiet_python_loggers():
    """Errors only from the ``tensorflow`` and absl loggers, unless their level was set."""
    tensorflow_logger = logging.getLogger("tensorflow")
    if tensorflow_logger.level == logging.NOTSET:
        tensorflow_logger.setLevel(logging.ERROR)
    absl_logging = sys.modules.get("absl.logging")
    if absl_logging is not None and absl_logging.get_verbosity() == absl_logging.WARNING:
        absl_logging.set_verbosity(absl_logging.ERROR)
