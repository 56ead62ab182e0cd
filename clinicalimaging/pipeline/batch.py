"""The ``batch`` command's work: a cohort's cases, what the ledger says is left, the run, the cohort outputs.

A re-run of the same command goes on where the last one stopped: cases finished with
the same input, settings and software are kept (:mod:`.ledger`), the others run on
Dask (:mod:`.runner`), and ``summary.csv`` and ``cohort.html`` cover every case
(:mod:`.cohort_outputs`).
"""

import dataclasses
import shlex
import shutil
import warnings
from pathlib import Path

from .. import __version__, provenance
from ..cli_options import CommandOutcome
from ..errors import InputError, InputWarning
from ..mrml.paths import replaced_outputs
from .cohort_task import PARTIAL_FOLDER

#: The cohort's own outputs in OUTDIR, beside the case folders.
SUMMARY_TABLE, COHORT_PAGE, LEDGER_FOLDER = "summary.csv", "cohort.html", "ledger"
#: Exit status of a run in which a case failed.
EXIT_CASE_FAILED = 1


def run_batch(arguments, settings, progress):
    """Run a cohort as the ``batch`` command's arguments say.

    Parameters
    ----------
    arguments : argparse.Namespace
        ``input_folder``, ``output_folder``, ``manifest``, ``target_organ``, ``workers``,
        ``scheduler``, ``memory_limit``, ``retry_failed``, ``debug``, ``quiet``.
    settings : ChainSettings
    progress : callable or None

    Returns
    -------
    CommandOutcome
        The cohort's figures and where its outputs are; exit status 0 when every case
        succeeded, 1 when one failed.
    """
    from .cases import find_cases, read_manifest
    from .runner import check_memory_limit, import_distributed

    input_folder, output_folder = Path(arguments.input_folder), Path(arguments.output_folder)
    _check_folders(input_folder, output_folder)
    check_memory_limit(arguments.memory_limit)
    if arguments.target_organ and "detect" not in settings.stages:
        raise InputError("--target-organ segments an organ from its detected box; it cannot go with --no-detect.")
    import_distributed()
    model_checksum = _model_checksum(settings)
    if arguments.manifest:
        cases = read_manifest(arguments.manifest, base=input_folder)
    else:
        cases = find_cases(input_folder, exclude=output_folder)
    if arguments.target_organ:
        cases = [_with_target_organ(case, arguments.target_organ) for case in cases]
    created = not output_folder.exists()
    output_folder.mkdir(exist_ok=True)
    try:
        return _run_cases_and_report(arguments, settings, cases, model_checksum, input_folder, output_folder,
                                     progress)
    except BaseException:
        if created and not any(path.name != LEDGER_FOLDER for path in output_folder.iterdir()) \
                and not any((output_folder / LEDGER_FOLDER).glob("*.json")):
            shutil.rmtree(output_folder, ignore_errors=True)  # nothing ran: no trace, not even an empty OUTDIR
        raise


def _run_cases_and_report(arguments, settings, cases, model_checksum, input_folder, output_folder, progress):
    """Run the cases the ledger says are left, write the cohort outputs; the command's outcome."""
    from .cohort_outputs import write_cohort_page, write_summary_table
    from .ledger import Ledger
    from .runner import run_cases

    shutil.rmtree(output_folder / PARTIAL_FOLDER, ignore_errors=True)  # what a killed earlier run left
    ledger = Ledger(output_folder / LEDGER_FOLDER)
    shared = {**settings.to_dict(), "model_sha256": model_checksum}
    records, waiting = {}, []
    for case in cases:
        fingerprint = ledger.fingerprint(case, shared, __version__)
        decision = ledger.decision(case, fingerprint, retry_failed=arguments.retry_failed,
                                   folder_exists=(output_folder / case.case_id / "summary.json").is_file())
        if decision == "run":
            waiting.append((case, fingerprint))
        else:
            records[case.case_id] = _record_from_ledger(case, ledger.entry(case.case_id))

    fingerprints = {case.case_id: fingerprint for case, fingerprint in waiting}

    def finished(case, result):
        ledger.record(case.case_id, fingerprints[case.case_id], status=result["status"], seconds=result["seconds"],
                      error=result["error"], summary=result["summary"])
        if result["status"] == "failed":
            shutil.rmtree(output_folder / case.case_id, ignore_errors=True)  # an earlier run's, of other input
        for message in result["warnings"]:
            warnings.warn(f"case {case.case_id}: {message}", InputWarning, stacklevel=1)
        if arguments.debug and result.get("traceback"):
            print(result["traceback"])
        records[case.case_id] = cohort_record(case, result, ran=True)

    if waiting:
        record = provenance.current()
        command = shlex.split(record["command"]) if record else ["clinicalimaging", "batch"]
        run_cases([case for case, _ in waiting], settings, output_folder, command=command, on_result=finished,
                  workers=arguments.workers, scheduler=arguments.scheduler, memory_limit=arguments.memory_limit,
                  debug=arguments.debug, progress=progress)
        shutil.rmtree(output_folder / PARTIAL_FOLDER, ignore_errors=True)  # what the dead workers were writing
    ordered = [records[case.case_id] for case in cases]
    write_summary_table(ordered, output_folder / SUMMARY_TABLE)
    write_cohort_page(ordered, output_folder, output_folder / COHORT_PAGE, title=f"Cohort {input_folder.name}")
    replaced_outputs(clear=True)  # a cohort's own tables are rewritten on every run, as its report says
    failed = [record for record in ordered if record["status"] == "failed"]
    status = EXIT_CASE_FAILED if failed else 0
    return CommandOutcome(None if arguments.quiet else _report(ordered, failed, output_folder), status)


def _check_folders(input_folder, output_folder):
    if not output_folder.parent.is_dir():
        raise InputError(f"The folder above OUTDIR '{output_folder}' does not exist; create it or choose another "
                         "OUTDIR.")
    if output_folder.exists() and not output_folder.is_dir():
        raise InputError(f"OUTDIR '{output_folder}' is a file, not a folder; choose a folder for the outputs.")
    if input_folder.exists() and input_folder.resolve() == output_folder.resolve():
        raise InputError(f"OUTDIR '{output_folder}' is INDIR itself; choose another folder for the outputs "
                         "(a folder inside INDIR is fine).")


def _with_target_organ(case, organ):
    """The case with the cohort's target organ, unless it has an outline or an organ of its own."""
    if case.outline is not None or case.target_organ is not None:
        return case
    return dataclasses.replace(case, target_organ=organ)


def _model_checksum(settings):
    """The detector file's SHA-256 (a retrained model at the same path re-runs the cases), or None."""
    if "detect" not in settings.stages:
        return None
    path = settings.model_path()
    if not path.is_file():
        raise InputError(f"Model file '{path}' does not exist; give a model written by 'train-detector', or leave "
                         "out --model for the shipped one.")
    return provenance.sha256(path)


def cohort_record(case, result, *, ran):
    """A case's row for the cohort outputs (:mod:`.cohort_outputs`).

    Parameters
    ----------
    case : Case
    result : dict
        ``status`` (``"succeeded"`` or ``"failed"``), and ``seconds``, ``error`` and
        ``summary`` when known.
    ran : bool
        Whether the case ran now (False: its result comes from an earlier run).
    """
    succeeded = result["status"] == "succeeded"
    return {"case": case.case_id, "status": result["status"], "ran": ran, "seconds": result.get("seconds"),
            "error": result.get("error"), "input": str(case.image), "folder": case.case_id if succeeded else None,
            "summary": result.get("summary")}


def _record_from_ledger(case, entry):
    return cohort_record(case, {"status": entry["status"], "seconds": entry.get("seconds"), "error": entry.get("error"),
                          "summary": entry.get("summary")}, ran=False)


def _report(records, failed, output_folder):
    """What the command prints: counts, where the outputs are, one line per failed case."""
    reused = sum(not record["ran"] for record in records)
    lines = [f"{len(records)} cases: {len(records) - len(failed)} succeeded, {len(failed)} failed"
             + (f" ({reused} kept from an earlier run)" if reused else ""),
             f"summary table: {output_folder / SUMMARY_TABLE}", f"cohort page: {output_folder / COHORT_PAGE}"]
    lines += [f"failed: {record['case']}: {record['error']}" for record in failed]
    if any(not record["ran"] for record in failed):
        lines.append("cases that failed in an earlier run are not run again; add --retry-failed to run them")
    return "\n".join(lines)
