"""The cases of a cohort as tasks on Dask distributed: worker processes on this machine, or any cluster.

The only module of the package that imports ``dask`` and ``distributed`` (inside its
functions: they are the optional ``batch`` extra). Without a scheduler address the
run starts a ``LocalCluster`` of worker processes on this machine and shuts it down at
the end; with one, the same tasks go to that cluster, whose workers must have this
package installed and see the same paths (a shared file system).

Each case is one task (:func:`~clinicalimaging.pipeline.cohort_task.run_case_task`):
failures inside a case come back as that case's result. A worker process that dies
(killed, out of memory) loses its task; the scheduler gives it once more to another
worker (``allowed-failures`` = 1 on the local cluster) and then reports the case as
lost, with the likely cause. Heavy imports and the detector stay loaded in each worker
process from one case to the next.
"""

import contextlib
import logging
import os

from .. import interrupts
from ..errors import InputError, one_line
from ..progress import report
from .cohort_task import PARTIAL_FOLDER, run_case_task

#: How often the local cluster's scheduler gives a task to a new worker after its worker died.
LOCAL_ALLOWED_FAILURES = 1
#: Seconds to wait for a remote scheduler to answer.
CONNECT_TIMEOUT_S = 20


def import_distributed():
    """The ``distributed`` package, or an :class:`InputError` saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise InputError("Cohort runs need Dask distributed, which is not installed: "
                         "pip install \"clinicalimaging[batch]\" (or pip install \"dask[distributed]\").") from None
    return distributed


def check_memory_limit(text):
    """A worker memory limit as Dask reads it (``"4GB"``, ``"3.5 GiB"``, ``"auto"``); InputError otherwise."""
    if text == "auto":
        return text
    from dask.utils import parse_bytes

    try:
        value = parse_bytes(text)
    except (ValueError, TypeError):
        raise InputError(f"--memory-limit '{text}' is not an amount of memory; give e.g. 6GB or 4GiB, "
                         "or auto (the machine's memory shared by the workers).") from None
    if value < 256 * 2**20:
        raise InputError(f"--memory-limit '{text}' is below 256 MB, too little for one case; give e.g. 6GB.")
    return text


def run_cases(cases, settings, output_folder, *, command, on_result, workers=None, scheduler=None,
              memory_limit="auto", debug=False, progress=None):
    """Run every case as one task and hand each result to ``on_result`` as it arrives.

    Parameters
    ----------
    cases : list of Case
    settings : ChainSettings
    output_folder : Path
        OUTDIR; each case's folder is made there (:mod:`.cohort_task`).
    command : list of str
        The command recorded in the outputs' provenance.
    on_result : callable
        ``on_result(case, result)`` in this process, for each case as it finishes; ``result``
        is :func:`~clinicalimaging.pipeline.cohort_task.run_case_task`'s dict.
    workers : int, optional
        Worker processes of the local cluster; default the number of CPU cores (at most one
        per case).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); default a local cluster.
    memory_limit : str
        Each local worker's memory limit (``"auto"``: the machine's memory shared by them).
    debug : bool
        Show Dask's own log messages.
    progress : callable, optional
        ``progress(fraction, message)`` over cases.

    Raises
    ------
    InputError
        Dask missing, or the scheduler unreachable.
    """
    distributed = import_distributed()
    total = len(cases)
    finished = 0

    def kept():
        return (f"{finished} of {total} cases finished and are kept in '{output_folder}'; no case folder is "
                "half-written. Run the same command again to go on.")

    workers = workers or max(1, min(os.cpu_count() or 1, total))
    with _client(distributed, workers, scheduler, memory_limit, debug) as (client, stop):
        futures = {client.submit(run_case_task, case, settings, output_folder, command, pure=False,
                                 key=f"case-{case.case_id}-{os.urandom(4).hex()}"): case for case in cases}
        with interrupts.stopped_on_interrupt(stop, kept), \
                interrupts.removed_on_interrupt(output_folder / PARTIAL_FOLDER):
            for future in distributed.as_completed(list(futures), loop=client.loop):
                case = futures.pop(future)
                try:  # gathered one by one: a result lost with its worker is computed again, not dropped
                    result = future.result()
                except Exception as error:
                    result = _lost(error, scheduler is None)
                finished += 1
                on_result(case, result)
                report(progress, finished / total, f"{case.case_id}: {result['status']} ({finished}/{total})")


def _lost(error, local):
    """The result of a case whose task did not return: its worker died, or the cluster could not run it."""
    from distributed.scheduler import KilledWorker

    if isinstance(error, KilledWorker):
        tries = f"{LOCAL_ALLOWED_FAILURES + 1} times" if local else "more often than the scheduler allows"
        reason = (f"the worker process running this case died {tries} (killed, or out of memory); give each "
                  "worker more memory with --memory-limit, or run fewer --workers")
    else:
        reason = (f"the cluster could not run this case ({type(error).__name__}: {one_line(error)}); check that "
                  "every worker has clinicalimaging installed and sees the input and output folders")
    return {"status": "failed", "error": reason, "summary": None, "warnings": [], "seconds": None, "worker": None}


@contextlib.contextmanager
def _client(distributed, workers, scheduler, memory_limit, debug):
    """A connected client and a function that stops the local workers at once (nothing for a remote cluster)."""
    import dask

    if scheduler is not None:
        try:
            client = distributed.Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:  # unreachable, or not an address
            raise InputError(f"No Dask scheduler answers at '{scheduler}' ({one_line(error)}); check the address "
                             "and that the scheduler runs, or leave out --scheduler to run on this machine.") from None
        with client:
            yield client, lambda: None
        return
    quiet = logging.DEBUG if debug else logging.CRITICAL
    # One task per worker at a time: a dying worker then takes only its own case with it.
    settings = {"distributed.scheduler.allowed-failures": LOCAL_ALLOWED_FAILURES,
                "distributed.scheduler.worker-saturation": 1.0,
                "distributed.worker.memory.target": False, "distributed.worker.memory.spill": False,
                "logging.distributed": "debug" if debug else "critical"}
    with dask.config.set(settings):
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           memory_limit=memory_limit, dashboard_address=None, silence_logs=quiet)
        try:
            with distributed.Client(cluster, set_as_default=False) as client:
                yield client, _stop_worker_processes
        finally:
            cluster.close()


def _stop_worker_processes():
    """Kill this process's child processes (the local cluster's workers) at once, on an interrupt."""
    import psutil  # a dependency of distributed

    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            child.kill()
