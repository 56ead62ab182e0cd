"""A module panel's long computation under a progress dialog with Cancel: for the Slicer modules only.

Slicer modules cannot share loose ``.py`` files, so the panels' common runner lives
here. It needs the Slicer application (``slicer.app``, Qt dialogs), imported inside
the function, so importing the file itself works anywhere.
"""

from .errors import Cancelled, InputError


def run_with_progress(work, *, title: str, failure_message: str):
    """Run ``work(progress)`` under a modal progress dialog with a Cancel button.

    Parameters
    ----------
    work : callable
        ``work(progress)`` with ``progress(fraction, message) -> bool`` (see
        :mod:`clinicalimaging.progress`); False means the user pressed Cancel.
    title : str
        Window title of the dialog and of an error message.
    failure_message : str
        First line of the dialog shown for an unexpected error.

    Returns
    -------
    object or None
        What ``work`` returns; None when the input was wrong (an error dialog says
        what to fix) or the user cancelled (a status-bar message says nothing was
        changed). Any other error is shown with its details and raised.
    """
    import slicer
    from slicer.i18n import tr as _

    # Work that reaches 100 % may go on (e.g. a results table after the segmentation): no auto-close.
    dialog = slicer.util.createProgressDialog(windowTitle=title, labelText=_("Starting..."), maximum=100,
                                              autoClose=False, autoReset=False)

    def progress(fraction: float, message: str) -> bool:
        dialog.value = round(100 * fraction)
        dialog.labelText = message
        slicer.app.processEvents()
        return not dialog.wasCanceled

    with slicer.util.tryWithErrorDisplay(failure_message):
        try:
            try:
                return work(progress)
            finally:  # before any message is shown, so that no dialog covers it
                dialog.close()
        except InputError as error:
            slicer.util.errorDisplay(str(error), windowTitle=title)
        except Cancelled:
            slicer.util.showStatusMessage(_("{title}: cancelled, nothing was changed.").format(title=title), 5000)
    return None
