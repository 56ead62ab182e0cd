"""The chain on every case of a folder, in Slicer's batch mode: the work of the shipped script ``batch_chain.py``.

::

    Slicer --no-main-window --python-script .../Resources/Scripts/batch_chain.py -- INDIR OUTDIR
        [--no-enhance] [--no-detect] [--model FILE.keras] [--organs NAMES] [--install-requirements] [stage options]

The cases are found by :func:`~clinicalimaging.pipeline.cases.find_cases` (a volume
file with, optionally, ``NAME.mrk.json`` beside it as the lesion's outline; a DICOM
series folder). Each case runs :func:`~clinicalimaging.pipeline.case.process_case` in
this process, on Slicer's own scene (each case's nodes are removed after it), with the
stages enhance and segment; organ detection runs out of process, as in the Organ
Detect panel (``PythonSlicer -m clinicalimaging detect``, see
:mod:`clinicalimaging.slicer_process`), so TensorFlow never loads into Slicer. It
writes ``organs.mrk.json`` and ``organs.csv`` into the case's folder, and its organs,
seconds and device are added to ``summary.json``; ``report.png`` and ``scene.mrb`` come
from the in-process stages and do not show the organ boxes.

Each case's folder ``OUTDIR/<case id>`` is written whole or not at all: the outputs
go into a hidden folder beside it, which then replaces it in one rename. A case that
fails is reported and the others go on. One line per case on stdout, then a total;
``summary.csv`` and ``cohort.html`` in OUTDIR cover every case, as for ``clinicalimaging batch``;
the status is :data:`EXIT_SUCCESS` when every case succeeded, :data:`EXIT_CASE_FAILED`
when any failed and :data:`EXIT_USAGE` for bad arguments or missing packages (then no
case runs).

Nothing here imports Qt; ``slicer`` is imported only to install packages. The
function runs on ``slicer-core`` too, where each case gets a scene of its own.
"""

import argparse
import importlib
import json
import os
import shutil
import sys
import time
import traceback
import uuid
from pathlib import Path

from .errors import Cancelled, InputError, one_line, unexpected_failure

EXIT_SUCCESS = 0
EXIT_CASE_FAILED = 1
EXIT_USAGE = 2
#: The program name in messages and ``--help``.
PROGRAM = "batch_chain.py"
#: What the stages run in Slicer's process need beyond a stock Slicer, by import name: the self-paced SVM
#: (Self-Paced Segment's requirement) and matplotlib for ``report.png`` (which no panel needs).
CHAIN_REQUIREMENTS = {"sklearn": ("scikit-learn>=1.6",), "matplotlib": ("matplotlib>=3.7",)}
#: What the detection child process imports (Organ Detect's requirements; pip skips the lines of other platforms).
DETECT_REQUIREMENTS = {"keras": ("keras>=3.6",),
                       "tensorflow": ('tensorflow[and-cuda]>=2.18; sys_platform == "linux"',
                                      'tensorflow>=2.18; sys_platform != "linux"')}


def batch_parser():
    """The argument parser of ``batch_chain.py``: INDIR, OUTDIR and the options of the ``pipeline`` command.

    Returns
    -------
    argparse.ArgumentParser
    """
    from .pipeline.commands import add_chain_options

    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        usage=f"Slicer --no-main-window --python-script {PROGRAM} -- INDIR OUTDIR [options]",
        description="Run the chain (enhance, find the organs, segment the outlined lesion, measure) on every case "
                    "of INDIR inside Slicer, each case's outputs in OUTDIR/<case id>. Organs are found in a separate "
                    "process (PythonSlicer), so TensorFlow stays out of Slicer.")
    parser.add_argument("input_folder", metavar="INDIR",
                        help="Folder of cases: volume files (NAME.mrk.json beside NAME.nrrd is its lesion's outline) "
                             "and DICOM series folders, searched with its subfolders.")
    parser.add_argument("output_folder", metavar="OUTDIR",
                        help="Folder for one folder per case (created if missing; a case's earlier folder is "
                             "replaced).")
    parser.add_argument("--install-requirements", action="store_true",
                        help="Install the Python packages the chain needs (scikit-learn, matplotlib; Keras and "
                             "TensorFlow when detecting) into Slicer's Python with pip first (default: stop and "
                             "name them).")
    add_chain_options(parser)
    parser.set_defaults(parameters=None)  # stage parameters come from the options only
    return parser


def run_batch(argv, *, command=None, python=None, stdout=None, stderr=None):
    """Run the chain on every case of INDIR: ``batch_chain.py``'s arguments in, its exit status out.

    Parameters
    ----------
    argv : sequence of str
        The arguments after the script's name; a leading ``--`` (which ends Slicer's
        own options) is dropped.
    command : list of str, optional
        The command line recorded in each case's provenance; default
        ``["batch_chain.py", *argv]``.
    python : str, optional
        The interpreter that runs organ detection; default ``PythonSlicer`` when on PATH,
        else this Python (:func:`~clinicalimaging.slicer_process.default_python`).
    stdout, stderr : text stream, optional
        Where the case lines and the messages go; default ``sys.stdout`` and ``sys.stderr``.

    Returns
    -------
    int
        :data:`EXIT_SUCCESS`, :data:`EXIT_CASE_FAILED` or :data:`EXIT_USAGE`.
    """
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    argv = [str(argument) for argument in argv]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    try:
        arguments = batch_parser().parse_args(argv)
    except SystemExit as stop:  # --help (0) or a usage error (2), already printed
        return EXIT_SUCCESS if not stop.code else EXIT_USAGE
    try:
        plan = _plan(arguments)
    except InputError as error:
        print(f"{PROGRAM}: error: {one_line(error)}", file=stderr, flush=True)
        return EXIT_USAGE
    from .pipeline.batch import COHORT_PAGE, SUMMARY_TABLE, cohort_record
    from .pipeline.case_outputs import key_figures
    from .pipeline.cohort_outputs import write_cohort_page, write_summary_table

    command = list(command) if command is not None else [PROGRAM, *argv]
    records = []
    for case in plan["cases"]:
        started = time.perf_counter()
        try:
            summary = _run_case(case, plan, command, python)
        except (KeyboardInterrupt, Cancelled):
            raise
        except Exception as error:  # noqa: BLE001 - a bad case fails alone
            result = {"status": "failed", "error": _reason(error, stderr), "seconds": time.perf_counter() - started}
            print(f"{case.case_id}: FAILED: {result['error']}", file=stdout, flush=True)
        else:
            result = {"status": "succeeded", "summary": summary, "seconds": time.perf_counter() - started}
            print(f"{case.case_id}: done in {result['seconds']:.1f} s: {key_figures(summary)}", file=stdout,
                  flush=True)
        records.append(cohort_record(case, result, ran=True))
    output_root = plan["output_root"]
    write_summary_table(records, output_root / SUMMARY_TABLE)
    write_cohort_page(records, output_root, output_root / COHORT_PAGE, title=f"Cohort {plan['input_root'].name}")
    failed = sum(record["status"] == "failed" for record in records)
    print(f"{len(records) - failed} of {len(records)} cases done, {failed} failed; outputs, {SUMMARY_TABLE} and "
          f"{COHORT_PAGE} in {output_root}", file=stdout, flush=True)
    return EXIT_CASE_FAILED if failed else EXIT_SUCCESS


def missing_packages(requirements):
    """The packages of ``requirements`` that Slicer's Python cannot import (looked up, not imported).

    Parameters
    ----------
    requirements : dict of str to tuple of str
        Import name to the pip requirements that provide it (:data:`CHAIN_REQUIREMENTS`).

    Returns
    -------
    dict of str to tuple of str
        The entries whose import name is not found.
    """
    import importlib.util

    return {name: lines for name, lines in requirements.items() if importlib.util.find_spec(name) is None}


def install_packages(requirements):
    """Install requirements into Slicer's Python with pip, without a dialog (batch mode asks no one).

    Parameters
    ----------
    requirements : list of str

    Raises
    ------
    InputError
        pip failed (the message says which packages).
    """
    import subprocess

    import slicer

    try:
        try:
            import slicer.packaging as packaging  # Slicer 5.12 and newer
        except ImportError:  # Slicer 5.10: no progress dialog to switch off
            slicer.util.pip_install(list(requirements))
        else:
            packaging.pip_install(list(requirements), show_progress=False, requester=PROGRAM)
    except subprocess.CalledProcessError as error:
        raise InputError(f"pip could not install {', '.join(requirements)} into Slicer's Python (exit status "
                         f"{error.returncode}); install them from Slicer's Python console with "
                         "slicer.util.pip_install, or check the network connection.") from None


def _plan(arguments):
    """The settings, cases and output folder of a run; InputError for anything that stops it before any case."""
    from .pipeline.cases import find_cases

    settings = _settings(arguments)
    output_root = Path(os.path.abspath(Path(arguments.output_folder).expanduser()))
    if output_root.exists() and not output_root.is_dir():
        raise InputError(f"OUTDIR '{output_root}' is a file, not a folder; choose a folder for the case folders.")
    if not output_root.parent.is_dir():
        raise InputError(f"The folder above OUTDIR '{output_root}' does not exist; create it or choose another "
                         "OUTDIR.")
    cases = find_cases(arguments.input_folder, exclude=output_root)
    _check_packages(arguments)
    model = settings.model_path() if arguments.detect else None
    if model is not None and not model.is_file():
        raise InputError(f"Detector model '{model}' does not exist; give --model FILE.keras, or --no-detect.")
    output_root.mkdir(exist_ok=True)
    return {"settings": settings, "cases": cases, "input_root": Path(arguments.input_folder),
            "output_root": output_root, "model": model, "organs": arguments.organs}


def _settings(arguments):
    """The :class:`~clinicalimaging.pipeline.case.ChainSettings` of the options, without detection.

    Detection runs out of process (:func:`_detect_out_of_process`); ``process_case`` runs
    the enhancement (unless ``--no-enhance``) and the segmentation (for a case with an
    outline). The detection parameters are kept for the child process.
    """
    from .cli_options import stage_parameters_from_arguments
    from .detect.parameters import DetectParameters
    from .enhance.parameters import EnhanceParameters
    from .pipeline.case import ChainSettings
    from .segment.parameters import SegmentParameters

    parameters = {name: stage_parameters_from_arguments(cls, arguments) for name, cls in (
        ("enhance", EnhanceParameters), ("segment", SegmentParameters), ("detect", DetectParameters))}
    stages = ("enhance", "segment") if arguments.enhance else ("segment",)
    return ChainSettings(stages=stages, model=arguments.model, organs=arguments.organs, **parameters)


def _check_packages(arguments):
    """InputError naming the packages the run needs and Slicer's Python lacks (installed first when asked)."""
    from packaging.requirements import Requirement

    requirements = {**CHAIN_REQUIREMENTS, **(DETECT_REQUIREMENTS if arguments.detect else {})}
    missing = missing_packages(requirements)
    if missing and arguments.install_requirements:
        install_packages([line for lines in missing.values() for line in lines])
        importlib.invalidate_caches()
        missing = missing_packages(requirements)
    if missing:
        hint = (", or with --no-detect to skip organ detection (Keras and TensorFlow)."
                if set(missing) & set(DETECT_REQUIREMENTS) else ".")
        named = sorted(f"{requirement.name}{requirement.specifier}"
                       for requirement in (Requirement(lines[0]) for lines in missing.values()))
        raise InputError(f"Slicer's Python lacks the packages {', '.join(named)}. Run again with "
                         f"--install-requirements to install them with pip first{hint}")


def _run_case(case, plan, command, python):
    """One case's folder, written whole: the chain in this process, detection out of process; its summary."""
    from .pipeline.case import process_case
    from .pipeline.cohort_task import move_into_place

    final = plan["output_root"] / case.case_id
    if final.exists() and not final.is_dir():
        raise InputError(f"'{final}' is a file; move it away so that the case's folder can be written.")
    staging = plan["output_root"] / f".{case.case_id}.partial-{os.getpid()}.{uuid.uuid4().hex[:8]}"
    try:
        staging.mkdir()
        summary, _outputs = process_case(case.image, staging, plan["settings"], outline=case.outline,
                                         command=command)
        if plan["model"] is not None:
            summary = _detect_out_of_process(case.image, staging, summary, plan, python)
        move_into_place(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # left only when the case failed
    return summary


def _detect_out_of_process(image, folder, summary, plan, python):
    """Run ``detect`` in a child process into ``folder``; the summary with its organs, seconds and device."""
    from . import mrml, provenance
    from .detect.nodes_output import boxes_from_table_file
    from .pipeline.case_outputs import OUTPUT_NAMES
    from .pipeline.chain import STAGES, CaseResult
    from .slicer_process import run_cli

    model, table = plan["model"], folder / OUTPUT_NAMES["organ table"]
    started = time.perf_counter()
    with mrml.temporary_folder() as scratch:
        parameters = scratch / "detect-parameters.json"
        parameters.write_text(plan["settings"].detect.to_json(), encoding="utf-8")
        arguments = ["detect", image, folder / OUTPUT_NAMES["organ ROIs"], "--table", table, "--model", model,
                     "--parameters", parameters, "--quiet"]
        if plan["organs"]:
            arguments += ["--organs", plan["organs"]]
        completed = run_cli(arguments, python=python)
    seconds = {**summary["seconds"], "detect": round(time.perf_counter() - started, 3)}
    boxes = boxes_from_table_file(table)
    ran = set(summary["stages"]) | {"detect"}
    summary = {**summary, "stages": [stage for stage in STAGES if stage in ran],
               "seconds": {stage: seconds[stage] for stage in STAGES if stage in seconds},
               "device": completed.device, "organs": CaseResult(input_node=None, boxes=boxes).figures()["organs"],
               "model": {"path": str(model), "name": model.name, "sha256": provenance.sha256(model)}}
    (folder / OUTPUT_NAMES["summary"]).write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


def _reason(error, stderr):
    """One line saying why a case failed; the traceback of an unexpected error goes to ``stderr``."""
    if isinstance(error, InputError):
        return one_line(error)
    traceback.print_exception(type(error), error, error.__traceback__, file=stderr)
    return unexpected_failure(error, debug=True)[0] + " (traceback on stderr)"
