"""The progress protocol of long-running functions.

A long function takes ``progress=None``: a callable ``progress(fraction, message)``
with ``fraction`` in [0, 1] and a short human-readable ``message``. The callable
may raise :class:`~clinicalimaging.errors.Cancelled` to stop the work; for the
convenience of Qt progress dialogs, returning ``False`` means the same.
"""

from collections.abc import Callable
from typing import Optional

from .errors import Cancelled

ProgressCallback = Callable[[float, str], Optional[bool]]


def report(progress: Optional[ProgressCallback], fraction: float, message: str) -> None:
    """Send one progress update, turning a ``False`` answer into :class:`Cancelled`."""
    if progress is None:
        return
    if progress(min(max(float(fraction), 0.0), 1.0), message) is False:
        raise Cancelled(message)


def subrange(progress: Optional[ProgressCallback], start: float, stop: float) -> Optional[ProgressCallback]:
    """A callback that maps a sub-task's [0, 1] onto ``[start, stop]`` of ``progress``.

    Returns ``None`` when ``progress`` is ``None``, so sub-tasks stay silent.
    """
    if progress is None:
        return None

    def scaled(fraction: float, message: str) -> None:
        report(progress, start + (stop - start) * fraction, message)

    return scaled
