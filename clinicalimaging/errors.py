"""Exceptions shared by every stage, face and layer of the package."""


class InputError(ValueError):
    """An input the user can fix is wrong.

    The message names the input, says what is wrong with it and what to do about
    it, in words a clinician can act on. The command line turns it into a
    one-line message and exit status 2; the Slicer panels show it in an error
    dialog.
    """


class Cancelled(Exception):
    """The user cancelled a long computation (raised from a progress callback).

    Functions that accept ``progress`` let it propagate unchanged and leave every
    node and file as it was before the call.
    """


class InputWarning(UserWarning):
    """An input is probably not what the user meant, but the work can go on.

    Issued with :func:`warnings.warn`; the message is one sentence that says what
    looks wrong and what to check. The command line prints it as one line
    ``clinicalimaging: warning: ...`` on stderr; Python callers see a normal warning
    (turn it into an error with ``warnings.simplefilter("error", InputWarning)``).
    """


def one_line(text):
    """``text`` (or an exception's message) on one line, whitespace runs collapsed."""
    return " ".join(str(text).split()) or type(text).__name__


def unexpected_failure(error, *, debug=False):
    """The one-line reason for an exception that is not an :class:`InputError`.

    Parameters
    ----------
    error : Exception
    debug : bool
        Whether the traceback is shown anyway (then no hint to ask for it).

    Returns
    -------
    reason : str
        E.g. ``"not enough memory for this volume; ..."`` or ``"internal error (KeyError): 'x'. ..."``.
    is_error : bool
        Whether the reason is the user's to act on (memory, a file system error), said as
        ``error: ...``; otherwise it is an internal error.
    """
    if isinstance(error, MemoryError):
        return "not enough memory for this volume; close other programs or crop the volume.", True
    if isinstance(error, OSError):
        return one_line(error), True
    hint = "" if debug else " Run again with --debug to see the traceback."
    return f"internal error ({type(error).__name__}): {one_line(error)}{hint}", False
