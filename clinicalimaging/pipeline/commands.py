"""The ``pipeline`` command: the whole chain on one volume, every output in one folder.

::

    clinicalimaging pipeline INPUT OUTDIR [--outline OUTLINE.mrk.json] [--no-enhance] [--no-detect]
        [--model FILE.keras] [--organs NAMES] [stage options]

OUTDIR (created when missing; its parent must exist) receives, under stable names:
``enhanced.nrrd`` and ``order_map.nrrd`` (enhancement), ``organs.mrk.json`` and
``organs.csv`` (detection), ``lesion.seg.nrrd`` (segmentation, with an outline),
``report.png`` (axial and coronal views through the lesion), ``scene.mrb`` (the Slicer
scene of all of them) and ``summary.json``. They are written all or nothing.
"""

import json
from pathlib import Path

from .. import __version__, provenance
from ..cli_options import add_parameter_options, stage_parameters_from_arguments
from ..detect.parameters import DetectParameters
from ..enhance.parameters import EnhanceParameters
from ..errors import InputError
from ..progress import report, subrange
from ..segment.parameters import SegmentParameters

#: Output file names in OUTDIR, by what they hold.
OUTPUT_NAMES = {"enhanced volume": "enhanced.nrrd", "fractional-order map": "order_map.nrrd",
                "organ ROIs": "organs.mrk.json", "organ table": "organs.csv", "segmentation": "lesion.seg.nrrd",
                "report": "report.png", "scene": "scene.mrb", "summary": "summary.json"}


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
        help="The whole chain on one volume: enhance, find the organs, segment the outlined lesion, report.",
        description="Enhance the volume, find its organs, segment the lesion from its outline (on the original "
                    "volume, as 'segment' does) and measure it; write every output, a report PNG, a Slicer scene "
                    "(.mrb) and summary.json (inputs with checksums, parameters, versions, seconds per stage, CNR, "
                    "the lesion's volume, RECIST diameters and intensity statistics, organ boxes) into OUTDIR.")
    pipeline.add_argument("input", metavar="INPUT", help="Input volume (.nrrd, .nhdr, .nii, .nii.gz, .mha) or a "
                                                         "folder holding one DICOM series.")
    pipeline.add_argument("output_folder", metavar="OUTDIR",
                          help="Folder for the outputs (created if missing; files of the same names are replaced).")
    pipeline.add_argument("--outline", metavar="OUTLINE.mrk.json",
                          help="The lesion's outline (as for 'segment'); default: no lesion is segmented.")
    pipeline.add_argument("--no-enhance", dest="enhance", action="store_false",
                          help="Skip the enhancement (default: enhance).")
    pipeline.add_argument("--no-detect", dest="detect", action="store_false",
                          help="Skip the organ detection, and with it TensorFlow (default: detect).")
    pipeline.add_argument("--model", metavar="FILE.keras", help="Detector model (default: the shipped model).")
    pipeline.add_argument("--organs", metavar="NAMES",
                          help="Comma-separated organs to report (default: every organ of the model).")
    for cls, title in ((EnhanceParameters, "enhancement options"), (SegmentParameters, "segmentation options"),
                       (DetectParameters, "detection options")):
        add_parameter_options(pipeline, cls, title=title)
    pipeline.set_defaults(run=_run_pipeline, parameters=None)


def _run_pipeline(arguments, progress):
    """The chain on INPUT; the outputs in OUTDIR; what was written and the key figures as text."""
    parameters = {cls: stage_parameters_from_arguments(cls, arguments)
                  for cls in (EnhanceParameters, SegmentParameters, DetectParameters)}
    folder = Path(arguments.output_folder)
    if not folder.parent.is_dir():
        raise InputError(f"The folder above OUTDIR '{folder}' does not exist; create it or choose another OUTDIR.")
    if folder.exists() and not folder.is_dir():
        raise InputError(f"OUTDIR '{folder}' is a file, not a folder; choose a folder for the outputs.")
    stages = [stage for stage, wanted in (("enhance", arguments.enhance), ("detect", arguments.detect),
                                          ("segment", arguments.outline is not None)) if wanted]
    outputs = _outputs(folder, stages)
    created = not folder.exists()
    folder.mkdir(exist_ok=True)
    try:
        summary = _run_and_write(arguments, parameters, stages, outputs, progress)
    except BaseException:
        if created and not any(folder.iterdir()):  # a failed run leaves no trace, not even an empty folder
            folder.rmdir()
        raise
    if arguments.quiet:
        return None
    return "\n".join([*(f"{what}: {path}" for what, path in outputs.items()), _key_figures(summary)])


def _run_and_write(arguments, parameters, stages, outputs, progress):
    """Check the outputs, run the chain, write every output; the summary."""
    from .. import mrml
    from .chain import run_case

    mrml.check_outputs([path for path in (arguments.input, arguments.outline, arguments.model) if path],
                       [(path, _kind(path)) for path in outputs.values()])
    detector = _detector(arguments) if "detect" in stages else None
    report(progress, 0.0, "Reading the inputs")
    input_node = mrml.read_volume(arguments.input)
    outline_node = mrml.read_markups(arguments.outline) if arguments.outline else None
    result = run_case(input_node, outline_node=outline_node, stages=stages,
                      enhance_parameters=parameters[EnhanceParameters],
                      segment_parameters=parameters[SegmentParameters],
                      detect_parameters=parameters[DetectParameters], detector=detector, organs=arguments.organs,
                      progress=subrange(progress, 0.03, 0.9))
    report(progress, 0.9, "Writing the outputs")
    summary = {**provenance.current(), "software": f"clinicalimaging {__version__}",
               "model": None if detector is None else _model_description(arguments),
               "stages": stages, **result.figures()}
    with mrml.staged_outputs(outputs.values()) as staged:
        _write_outputs(result, staged, outputs, summary)
    return summary


def _outputs(folder, stages):
    """The output paths of the stages that run."""
    wanted = {"summary", "report", "scene"}
    if "enhance" in stages:
        wanted |= {"enhanced volume", "fractional-order map"}
    if "detect" in stages:
        wanted |= {"organ ROIs", "organ table"}
    if "segment" in stages:
        wanted.add("segmentation")
    return {what: folder / name for what, name in OUTPUT_NAMES.items() if what in wanted}


def _kind(path):
    """The output kind of :func:`~clinicalimaging.mrml.check_output_path` for a file of :data:`OUTPUT_NAMES`."""
    for ending, kind in ((".seg.nrrd", "segmentation"), (".mrk.json", "markups"), (".nrrd", "volume"),
                         (".csv", "table"), (".png", "figure"), (".mrb", "bundle"), (".json", "record")):
        if path.name.endswith(ending):
            return kind
    raise ValueError(f"no output kind for '{path.name}'")


def _detector(arguments):
    from ..detect.model_files import default_model_path, load_detector

    return load_detector(arguments.model or default_model_path())


def _model_description(arguments):
    from ..detect.model_files import default_model_path, read_metadata

    path = Path(arguments.model or default_model_path())
    metadata = read_metadata(path)
    return {"path": str(path), "name": metadata.get("name", path.name), "sha256": provenance.sha256(path)}


def _write_outputs(result, staged, outputs, summary):
    """Write each output into its staged path."""
    from .. import mrml
    from ..detect.nodes_output import detection_table
    from ..report import case_report_figure

    image = mrml.voxels_of_volume(result.input_node)
    if "enhanced volume" in outputs:
        mrml.write_volume(result.enhanced_node, staged[outputs["enhanced volume"]])
        mrml.write_volume(result.order_map_node, staged[outputs["fractional-order map"]])
    if "organ ROIs" in outputs:
        mrml.write_markups_list(result.roi_nodes, staged[outputs["organ ROIs"]])
        mrml.write_table(detection_table(result.boxes, scene=result.input_node.GetScene()),
                         staged[outputs["organ table"]])
    if "segmentation" in outputs:
        mrml.write_segmentation(result.segmentation_node, staged[outputs["segmentation"]])
    mask = result.lesion_mask if result.lesion_mask is not None else image.astype(bool) & False
    figure = case_report_figure(image, mask, mrml.ijk_to_ras(result.input_node),
                                enhanced=None if result.enhanced_node is None else
                                mrml.voxels_of_volume(result.enhanced_node),
                                boxes=result.boxes, title=result.input_node.GetName(), unit=result.unit)
    figure.savefig(staged[outputs["report"]])
    scene = result.input_node.GetScene()
    selection = scene.GetNodeByID("vtkMRMLSelectionNodeSingleton")
    if selection is not None:  # what Slicer shows first: the enhanced volume, else the input
        selection.SetActiveVolumeID((result.enhanced_node or result.input_node).GetID())
    mrml.write_scene_bundle(scene, staged[outputs["scene"]])
    staged[outputs["summary"]].write_text(json.dumps(summary, indent=2), encoding="utf-8")


def _key_figures(figures):
    """One line of the figures a reader looks for first."""
    parts = [f"{len(figures['organs'])} organs found"] if "detect" in figures["seconds"] else []
    lesion = figures["lesion"]
    if lesion is not None:
        parts.append(f"lesion {lesion['volume_ml']:.2f} mL, {lesion['longest_diameter_mm']:.1f} x "
                     f"{lesion['perpendicular_diameter_mm']:.1f} mm")
        cnr = figures["cnr"]
        if cnr.get("ratio") is not None:
            parts.append(f"CNR {cnr['original']:.2f} -> {cnr['enhanced']:.2f} (x{cnr['ratio']:.2f})")
    parts.append("seconds: " + ", ".join(f"{stage} {value:.1f}" for stage, value in figures["seconds"].items()))
    return "; ".join(parts)
