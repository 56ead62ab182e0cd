"""The ``pipeline`` command: the whole chain on one volume, every output in one folder.

::

    clinicalimaging pipeline INPUT OUTDIR [--outline OUTLINE.mrk.json | --target-organ NAME] [--no-enhance]
        [--no-detect] [--model FILE.keras] [--organs NAMES] [stage options]

OUTDIR (created when missing; its parent must exist) receives, under stable names:
``enhanced.nrrd`` and ``order_map.nrrd`` (enhancement), ``organs.mrk.json`` and
``organs.csv`` (detection), ``lesion.seg.nrrd`` (segmentation, with an outline or a
target organ: the file keeps its name, the segment is named after the organ),
``report.png`` (axial and coronal views through the lesion), ``scene.mrb`` (the Slicer
scene of all of them) and ``summary.json``. They are written all or nothing.
"""

from pathlib import Path

from ..cli_options import add_parameter_options, stage_parameters_from_arguments
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

    settings = chain_settings(arguments, stages=[stage for stage, wanted in (
        ("enhance", arguments.enhance), ("detect", arguments.detect), ("segment", True)) if wanted])
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


def chain_settings(arguments, *, stages):
    """The :class:`~clinicalimaging.pipeline.case.ChainSettings` of parsed chain options.

    Parameters
    ----------
    arguments : argparse.Namespace
        Parsed with the stage options of every stage, ``--model`` and ``--organs``.
    stages : iterable of str
        The stages wanted.
    """
    from .case import ChainSettings

    return ChainSettings(stages=tuple(stages),
                         enhance=stage_parameters_from_arguments(EnhanceParameters, arguments),
                         segment=stage_parameters_from_arguments(SegmentParameters, arguments),
                         detect=stage_parameters_from_arguments(DetectParameters, arguments),
                         model=arguments.model, organs=arguments.organs)
