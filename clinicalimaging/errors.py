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
