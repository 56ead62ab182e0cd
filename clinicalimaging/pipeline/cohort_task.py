"""One case of a cohort as one task: run it into a temporary folder, then move the folder into place.

:func:`run_case_task` is what a Dask worker runs (:mod:`.runner` submits it); it imports
no Dask. A case folder is complete or absent: the chain writes into a hidden folder
under ``OUTDIR/.partial/`` (:func:`partial_name`), which becomes ``OUTDIR/<case id>`` in one rename. Every
failure the case can cause (a wrong file, a bad geometry, an exception) is caught here
and returned as the case's result, so it fails that case alone; only the death of the
worker process itself is left to the runner.
"""

import os
import shutil
import time
import traceback
import uuid
import warnings
from pathlib import Path

from ..errors import InputError, one_line, unexpected_failure

#: The hidden folder of OUTDIR where cases are written before they are moved into place.
PARTIAL_FOLDER = ".partial"


def run_case_task(case, settings, output_folder, command):
    """Run the chain on one case; its folder is moved into place when it succeeds.

    Parameters
    ----------
    case : Case
        The case (:mod:`.cases`).
    settings : ChainSettings
        What every case shares (:mod:`.case`).
    output_folder : Path
        The cohort's OUTDIR; the case's folder becomes ``output_folder / case.case_id``.
    command : list of str
        The command recorded in the outputs' provenance.

    Returns
    -------
    dict
        ``status`` (``"succeeded"`` or ``"failed"``), ``seconds`` (the case's wall
        time), ``error`` (a one-line reason, or None), ``summary`` (what the case's
        ``summary.json`` holds, or None), ``warnings`` (one line each), ``worker``
        (the process id that ran it) and, after an unexpected exception, ``traceback``.
    """
    from .case import process_case

    started = time.perf_counter()
    output_folder = Path(output_folder)
    partial = output_folder / PARTIAL_FOLDER / partial_name(case.case_id)
    result = {"status": "failed", "error": None, "summary": None, "warnings": [], "worker": os.getpid()}
    try:
        partial.mkdir(parents=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            summary, _ = process_case(case.image, partial, settings, outline=case.outline,
                                      target_organ=case.target_organ, command=command)
        move_into_place(partial, output_folder / case.case_id)
        result.update(status="succeeded", summary=summary)
        result["warnings"] = [one_line(warning.message) for warning in caught]
    except InputError as error:
        result["error"] = one_line(error)
    except Exception as error:  # any failure of this case is its own, reported on its row
        result.update(error=unexpected_failure(error)[0], traceback=traceback.format_exc())
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    result["seconds"] = time.perf_counter() - started
    return result


def partial_name(case_id):
    """The name of a case's folder while it is written: ``<case id>.<worker process id>.<random>``.

    The process id says which worker writes it (what to look at when a worker dies); the
    random part keeps a retry from meeting the folder of the run it replaces.
    """
    return f"{case_id}.{os.getpid()}.{uuid.uuid4().hex[:8]}"


def move_into_place(partial, final):
    """Make the complete folder ``partial`` the case folder ``final``, replacing an earlier run's folder.

    The earlier folder is first renamed aside, and deleted once ``partial`` has taken its
    name (or put back if that rename fails): at every moment the case folder is a
    complete run's or absent.
    """
    earlier = None
    if final.exists():
        earlier = partial.with_name(partial.name + ".earlier")
        os.replace(final, earlier)
    try:
        os.replace(partial, final)
    except BaseException:
        if earlier is not None:
            os.replace(earlier, final)
        raise
    if earlier is not None:
        shutil.rmtree(earlier, ignore_errors=True)
