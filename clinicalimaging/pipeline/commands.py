"""The ``pipeline`` and ``batch`` commands: the whole chain on one volume, and on every case of a cohort.

::

    clinicalimaging pipeline INPUT OUTDIR [--outline OUTLINE.mrk.json | --target-organ NAME] [--no-enhance]
        [--no-detect] [--model FILE.keras] [--organs NAMES] [stage options]
    clinicalimaging batch INDIR OUTDIR [--manifest CASES.csv] [--workers N | --scheduler ADDRESS]
        [--memory-limit SIZE] [--retry-failed] [--target-organ NAME] [the chain's options]

OUTDIR (created when missing; its parent must exist) receives, under stable names:
``enhanced.nrrd`` and ``order_map.nrrd`` (enhancement), ``organs.mrk.json`` and
``organs.csv`` (detection), ``lesion.seg.nrrd`` (segmentation, with an outline or a
target organ: the file keeps its name, the segment is named after the organ),
``report.png`` (axial and coronal views through the lesion), ``scene.mrb`` (the Slicer
scene of all of them) and ``summary.json``. They are written all or nothing. ``batch``
writes the same files into ``OUTDIR/<case>`` for every case (:mod:`.batch`).
"""

from pathlib import Path

from ..cli_options import add_parameter_options, count_at_least, stage_parameters_from_arguments
from ..detect.parameters import DetectParameters
from ..enhance.parameters import EnhanceParameters
from ..errors import InputError
from ..segment.parameters import SegmentParameters

def add_commands(commands, common):
    """Add ``pipeline`` to the main parser's subcommands.

    Parameters
    ----------
    commands : argparse subparsers action
    common : argparse.ArgumentParser
        Parent parser with ``--quiet``, ``--debug``, ``--progress-lines``.
    """
    pipeline = commands.add_parser(
        "pipeline", parents=[common],
        help="The whole chain on one volume: enhance, find the organs, segment the outlined lesion (or an organ "
             "from its box), report.",
        description="Enhance the volume, find its organs, segment the lesion from its outline or a target organ "
                    "from its detected box (on the original volume, with the method of 'segment') and measure it; "
                    "write every output, a report PNG, a Slicer scene "
                    "(.mrb) and summary.json (inputs with checksums, parameters, versions, seconds per stage, CNR, "
                    "the lesion's volume, RECIST diameters and intensity statistics, organ boxes) into OUTDIR.")
    pipeline.add_argument("input", metavar="INPUT", help="Input volume (.nrrd, .nhdr, .nii, .nii.gz, .mha) or a "
                                                         "folder holding one DICOM series.")
    pipeline.add_argument("output_folder", metavar="OUTDIR",
                          help="Folder for the outputs (created if missing; files of the same names are replaced).")
    segmented = pipeline.add_mutually_exclusive_group()
    segmented.add_argument("--outline", metavar="OUTLINE.mrk.json",
                           help="The lesion's outline (as for 'segment'); default: no lesion is segmented.")
    segmented.add_argument("--target-organ", metavar="NAME",
                           help="Segment this organ (one of the model's, any case, e.g. liver) from its detected box, "
                                "without an outline: outline points on its cross-sections in the box (central and "
                                "quartile slices) seed the segmentation of 'segment' (rough speed 'auto' taking the "
                                "region model), clipped to the box grown by 5 mm. The file keeps the stable name "
                                "lesion.seg.nrrd, its segment is named after the organ, and summary.json's 'lesion' "
                                "figures describe the organ ('target_organ' names it). Needs the detection, which "
                                "looks for the organ even when --organs leaves it out; an organ it does not find is "
                                "an error (default: no organ is segmented).")
    add_chain_options(pipeline)
    pipeline.set_defaults(run=_run_pipeline, parameters=None)
    batch = commands.add_parser(
        "batch", parents=[common],
        help="The whole chain on every case of a folder or manifest, on Dask workers; summary.csv and cohort.html.",
        description="Run the pipeline on every case under INDIR (volume files, and folders of one DICOM series; an "
                    "outline NAME.mrk.json beside NAME.nrrd is its lesion's outline) or listed in a manifest, each "
                    "case one task on Dask distributed: worker processes on this machine by default, or a running "
                    "cluster (--scheduler). Each case's outputs go to OUTDIR/<case> (complete or absent); "
                    "OUTDIR/summary.csv and OUTDIR/cohort.html cover every case. Run the same command again to go "
                    "on after an interruption: finished cases with the same input and settings are kept. Exit "
                    "status 0 when every case succeeded, 1 when one failed, 2 for a bad argument.")
    batch.add_argument("input_folder", metavar="INDIR", help="Folder of the cases (searched recursively); with "
                                                             "--manifest, the folder its relative paths start from.")
    batch.add_argument("output_folder", metavar="OUTDIR",
                       help="Folder for the case folders, summary.csv, cohort.html and the ledger (created if "
                            "missing; may lie inside INDIR).")
    batch.add_argument("--manifest", metavar="CASES.csv",
                       help="CSV listing the cases instead of searching INDIR: columns image (required), case, "
                            "outline, target_organ (default: every case found under INDIR).")
    batch.add_argument("--target-organ", metavar="NAME",
                       help="Segment this organ from its detected box in every case without an outline of its own "
                            "(default: segment outlined lesions only).")
    where = batch.add_mutually_exclusive_group()
    where.add_argument("--workers", type=count_at_least(1), metavar="N",
                       help="Worker processes on this machine (default: the number of CPU cores, at most one per "
                            "case).")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="Address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786; its workers need "
                            "clinicalimaging installed and the same paths (default: a cluster on this machine).")
    batch.add_argument("--memory-limit", default="auto", metavar="SIZE",
                       help="Memory of each local worker process, e.g. 6GB; a worker above it is restarted and its "
                            "case retried once (default: auto, the machine's memory shared by the workers).")
    batch.add_argument("--retry-failed", action="store_true",
                       help="Run again the cases that failed in an earlier run (default: keep their failure).")
    add_chain_options(batch)
    batch.set_defaults(run=_run_batch, parameters=None)


def add_chain_options(parser):
    """Add the options every chain command shares: stages switched off, the detector, every stage's parameters.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    parser.add_argument("--no-enhance", dest="enhance", action="store_false",
                        help="Skip the enhancement (default: enhance).")
    parser.add_argument("--no-detect", dest="detect", action="store_false",
                        help="Skip the organ detection, and with it TensorFlow (default: detect).")
    parser.add_argument("--model", metavar="FILE.keras", help="Detector model (default: the shipped model).")
    parser.add_argument("--organs", metavar="NAMES",
                        help="Comma-separated organs to report (default: every organ of the model).")
    for cls, title in ((EnhanceParameters, "enhancement options"), (SegmentParameters, "segmentation options"),
                       (DetectParameters, "detection options")):
        add_parameter_options(parser, cls, title=title)


def _run_pipeline(arguments, progress):
    """The chain on INPUT; the outputs in OUTDIR; what was written and the key figures as text."""
    from .case import process_case
    from .case_outputs import key_figures

    settings = chain_settings(arguments)
    folder = Path(arguments.output_folder)
    if not folder.parent.is_dir():
        raise InputError(f"The folder above OUTDIR '{folder}' does not exist; create it or choose another OUTDIR.")
    if folder.exists() and not folder.is_dir():
        raise InputError(f"OUTDIR '{folder}' is a file, not a folder; choose a folder for the outputs.")
    created = not folder.exists()
    folder.mkdir(exist_ok=True)
    try:
        summary, outputs = process_case(arguments.input, folder, settings, outline=arguments.outline,
                                        target_organ=arguments.target_organ, progress=progress)
    except BaseException:
        if created and not any(folder.iterdir()):  # a failed run leaves no trace, not even an empty folder
            folder.rmdir()
        raise
    if arguments.quiet:
        return None
    return "\n".join([*(f"{what}: {path}" for what, path in outputs.items()), key_figures(summary)])


def _run_batch(arguments, progress):
    """Every case of the cohort through the chain; the cohort's figures and exit status."""
    from .batch import run_batch

    settings = chain_settings(arguments)
    return run_batch(arguments, settings, progress)


def chain_settings(arguments):
    """The :class:`~clinicalimaging.pipeline.case.ChainSettings` of parsed chain options (:func:`add_chain_options`)."""
    from .case import ChainSettings

    stages = [stage for stage, wanted in (("enhance", arguments.enhance), ("detect", arguments.detect),
                                          ("segment", True)) if wanted]
    return ChainSettings(stages=tuple(stages),
                         enhance=stage_parameters_from_arguments(EnhanceParameters, arguments),
                         segment=stage_parameters_from_arguments(SegmentParameters, arguments),
                         detect=stage_parameters_from_arguments(DetectParameters, arguments),
                         model=arguments.model, organs=arguments.organs)
