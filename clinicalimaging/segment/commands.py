"""The segmentation commands: ``segment`` and ``evaluate-segmentation``.

::

    clinicalimaging segment INPUT OUTPUT --outline OUTLINE.mrk.json [--seeds FILE] [--enhance-first]
        [--margin-map FILE] [--rough FILE] [--table OUT.csv] [options]
    clinicalimaging evaluate-segmentation IMAGE LABEL [--label-value N] [--component N]
        [--outline-slices N] [--outline-out OUT.mrk.json] [--table OUT.csv] [options]
"""

import argparse
from pathlib import Path

import numpy as np

from ..cli_options import count_at_least, reference_lesion_mask, stage_parameters_from_arguments, stage_parser
from ..errors import InputError
from ..progress import report, subrange
from .parameters import SegmentParameters

#: Outline points of the clinician that ``evaluate-segmentation`` simulates (the issue's "about 12").
_OUTLINE_POINTS = 12

#: What ``segment --help`` says about the outline file.
OUTLINE_FORMAT = """\
The outline file (--outline) is a Slicer Markups JSON file (.mrk.json) holding a closed curve (or an open curve
or a point list) placed around the lesion. Read from it: "markups"[0]."type" ("ClosedCurve", "Curve" or
"Fiducial"), "coordinateSystem" ("LPS", what Slicer writes since 5.0 and assumed when the key is absent, or "RAS")
and "controlPoints"[]."position" (x, y, z in mm in that patient coordinate system, the volume's physical space;
not voxel indices). Give at least 3 points on each outlined slice; a closed curve lies on one slice, a point list
may span several.

To make one in Slicer: load the volume; in the Markups module create a closed curve; on one axial slice where
the lesion is large, click about 8-12 points around its boundary; then File > Save Data (or right-click the curve
> Export) and save it as OUTLINE.mrk.json. 'clinicalimaging evaluate-segmentation IMAGE LABEL --outline-out
OUTLINE.mrk.json' writes an example, simulated from a reference label map, that this command accepts.

Interrupting (Ctrl-C, exit 130; SIGTERM, exit 143) before the outputs are complete leaves no output and no
temporary file; after, it keeps the complete outputs and says so."""


def add_commands(commands, common, evaluation):
    """Add ``segment`` and ``evaluate-segmentation`` to the main parser's subcommands.

    Parameters
    ----------
    commands : argparse subparsers action
    common : argparse.ArgumentParser
        Parent parser with ``--quiet``, ``--debug``, ``--progress-lines``.
    evaluation : argparse.ArgumentParser
        Parent parser of the evaluate commands: IMAGE, LABEL, ``--label-value``, ``--table``.
    """
    segment = commands.add_parser(
        "segment", parents=[common, stage_parser(SegmentParameters, "segmentation options")],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="Segment a lesion from its outline with the self-paced SVM.",
        description="Segment the lesion outlined by a few points (a Slicer closed curve or point list, at least 3 "
                    "points on each\noutlined slice): preprocessing, level set and self-paced SVM. The outputs have "
                    "the input's grid and geometry.\nPrints the lesion's volume (mL), voxel count and the slices it "
                    "spans (slice indices of the input file).",
        epilog=OUTLINE_FORMAT)
    segment.add_argument("input", metavar="INPUT",
                         help="Input volume (as for 'enhance'); 3-D: a single slice is rejected.")
    segment.add_argument("output", metavar="OUTPUT",
                         help="Segmentation: .seg.nrrd (one segment 'lesion'), or a label map (.nrrd, .nii, "
                              ".nii.gz, .mha; 1 = lesion, 0 elsewhere).")
    segment.add_argument("--outline", metavar="OUTLINE.mrk.json",
                         help="The lesion's outline as a Slicer markups file, see below (required; no default).")
    segment.add_argument("--points", dest="outline", help=argparse.SUPPRESS)
    segment.add_argument("--seeds", metavar="FILE",
                         help="Scribbles: a label map on any grid (1 lesion, 2 background), or a .seg.nrrd "
                              "segmentation with segments named 'lesion' and 'background'; both classes needed "
                              "(default: none).")
    segment.add_argument("--enhance-first", action="store_true",
                         help="Segment a Fractional Enhance copy of the input (default enhancement parameters) "
                              "instead of the input itself; the outputs stay on the input's grid.")
    segment.add_argument("--margin-map", metavar="FILE",
                         help="Also write the classifier's signed margin, positive = lesion (float32; "
                              "default: not written).")
    segment.add_argument("--probability", dest="margin_map", help=argparse.SUPPRESS)
    segment.add_argument("--rough", metavar="FILE",
                         help="Also write the rough level-set segmentation as a label map (default: not written).")
    segment.add_argument("--table", metavar="OUT.csv",
                         help="Also write the results (volume in mL, voxels, mean intensity, most important "
                              "features) as .csv or .tsv (default: not written).")
    segment.set_defaults(run=_run_segment)

    evaluate_segmentation = commands.add_parser(
        "evaluate-segmentation",
        parents=[common, evaluation, stage_parser(SegmentParameters, "segmentation options")],
        help="Compare the segmentation with its stages and Grow from seeds on a lesion: Dice, HD95, time.",
        description=f"Simulate a clinician's outline ({_OUTLINE_POINTS} points on the lesion's boundary on its "
                    "largest axial slice, written as a Slicer markups file), segment the lesion from it with "
                    "preprocessing alone, the level set alone, a plain SVM, the self-paced SVM (with the options "
                    "below) and Grow from seeds, and print Dice and HD95 against the whole label.")
    evaluate_segmentation.add_argument("--outline-out", metavar="OUT.mrk.json",
                                       help="Also keep the simulated outline as a markups file, usable as "
                                            "'segment --outline' (default: a temporary file).")
    evaluate_segmentation.add_argument("--points-out", dest="outline_out", help=argparse.SUPPRESS)
    evaluate_segmentation.add_argument("--outline-slices", type=count_at_least(1), default=1, metavar="N",
                                       help="Outline N slices: the largest and N-1 more spread over the lesion "
                                            "(default: 1).")
    evaluate_segmentation.add_argument("--component", type=count_at_least(0), default=0, metavar="N",
                                       help="Measure against the label's N-th largest connected component only "
                                            "(1 = the largest), e.g. one structure of a label that has several "
                                            "(default: 0, the whole label).")
    evaluate_segmentation.set_defaults(run=_run_evaluate_segmentation)


def _run_segment(arguments, progress):
    """The lesion segmented from its outline; OUTPUT is a .seg.nrrd segmentation or a label map (1 = lesion)."""
    from .. import mrml
    from .nodes import LESION_SEGMENT, segment_volume, segmentation_results_table

    parameters = stage_parameters_from_arguments(SegmentParameters, arguments)
    if arguments.outline is None:
        raise InputError("No outline: give --outline OUTLINE.mrk.json, the lesion's outline saved from Slicer's "
                         "Markups module (see 'clinicalimaging segment --help').")
    as_segmentation = _is_segmentation_file(arguments.output)
    outputs = {"segmentation" if as_segmentation else "label map": (arguments.output,
                                                                    "segmentation" if as_segmentation else "volume"),
               "margin map": (arguments.margin_map, "volume"), "rough segmentation": (arguments.rough, "volume"),
               "results table": (arguments.table, "table")}
    outputs = {what: (Path(path), kind) for what, (path, kind) in outputs.items() if path is not None}
    inputs = [path for path in (arguments.input, arguments.outline, arguments.seeds) if path is not None]
    mrml.check_outputs(inputs, list(outputs.values()))
    report(progress, 0.0, "Reading the inputs")
    input_node = mrml.read_volume(arguments.input)
    outline_node = mrml.read_markups(arguments.outline)
    seeds_node = None
    if arguments.seeds is not None:
        seeds_node = (mrml.read_segmentation(arguments.seeds) if _is_segmentation_file(arguments.seeds)
                      else mrml.read_volume(arguments.seeds, labelmap=True))
    scene = input_node.GetScene()
    maps = {what: scene.AddNewNodeByClass(node_class, scene.GenerateUniqueName(what))
            for what, node_class in (("margin map", "vtkMRMLScalarVolumeNode"),
                                     ("rough segmentation", "vtkMRMLLabelMapVolumeNode")) if what in outputs}
    segmentation = segment_volume(input_node, outline_node, None, parameters, enhance_first=arguments.enhance_first,
                                  seeds_node=seeds_node, margin_map_node=maps.get("margin map"),
                                  rough_node=maps.get("rough segmentation"), progress=subrange(progress, 0.05, 0.9))
    report(progress, 0.9, "Writing the outputs")
    mask = mrml.segment_mask(segmentation, LESION_SEGMENT, input_node, allow_empty=True)
    table = segmentation_results_table(segmentation, input_node) if "results table" in outputs else None
    with mrml.staged_outputs([path for path, _ in outputs.values()]) as staged:
        for what, (path, _) in outputs.items():
            if what == "segmentation":
                mrml.write_segmentation(segmentation, staged[path])
            elif what == "label map":
                mrml.write_volume(mrml.new_volume_like(input_node, mask, labelmap=True), staged[path])
            elif what == "results table":
                mrml.write_table(table, staged[path])
            else:
                mrml.write_volume(maps[what], staged[path])
    if arguments.quiet:
        return None
    return "\n".join([_lesion_summary(mask, input_node),
                      *(f"{what}: {path}" for what, (path, _) in outputs.items())])


def _is_segmentation_file(path):
    return str(path).lower().endswith(".seg.nrrd")


def _lesion_summary(mask, volume_node):
    """``lesion: <mL>, <voxels>, slices a to b`` with the slice indices of the volume's file (and DICOM instances)."""
    from .. import mrml
    from .nodes import SliceNames

    voxels = int(mask.sum())
    volume_ml = voxels * float(np.prod(mrml.spacing_kji(volume_node))) / 1000.0
    if not voxels:
        return "lesion: empty (0 voxels); check the outline and the seeds"
    span = SliceNames(volume_node).span(np.flatnonzero(mask.any(axis=(1, 2))))
    return f"lesion: {volume_ml:.2f} mL, {voxels} voxels, {span}"


def _run_evaluate_segmentation(arguments, progress):
    """The segmentation comparison table, as text, from a simulated outline written as a real markups file."""
    from .. import mrml
    from .evaluation import compare_segmentations, format_segmentation_table, simulate_outline
    from .postprocess import largest_component
    from .nodes import SliceNames

    parameters = stage_parameters_from_arguments(SegmentParameters, arguments)
    outputs = [(path, kind) for path, kind in ((arguments.outline_out, "markups"), (arguments.table, "table"))
               if path is not None]
    mrml.check_outputs([arguments.image, arguments.label], outputs)
    report(progress, 0.0, "Reading the image and the label map")
    image_node = mrml.read_volume(arguments.image)
    label_node = mrml.read_volume(arguments.label, labelmap=True)
    lesion_mask = reference_lesion_mask(arguments, image_node, label_node)
    if arguments.component:
        lesion_mask = largest_component(lesion_mask, arguments.component)
    slice_names = SliceNames(image_node)
    # The clinician's outline goes through a real .mrk.json, as a user's would (the seed is the comparison's);
    # a closed curve lies in one plane, so outlines on several slices go as a point list.
    outline = mrml.markups_from_points(
        simulate_outline(lesion_mask, count=_OUTLINE_POINTS, seed=parameters.seed, slices=arguments.outline_slices,
                         slice_name=slice_names),
        image_node, closed=arguments.outline_slices == 1)
    with mrml.staged_outputs([path for path, _ in outputs]) as staged, mrml.temporary_folder() as folder:
        outline_path = folder / "outline.mrk.json" if arguments.outline_out is None \
            else staged[Path(arguments.outline_out)]
        mrml.write_markups(outline, outline_path)
        points = mrml.points_kji(mrml.read_markups(outline_path), image_node)
        rows = compare_segmentations(mrml.array_from_volume(image_node), lesion_mask, mrml.spacing_kji(image_node),
                                     points=points, parameters=parameters, slice_name=slice_names,
                                     progress=subrange(progress, 0.05, 1.0))
        if arguments.table is not None:
            mrml.write_table(mrml.table_from_rows(rows, name="segmentation comparison"),
                             staged[Path(arguments.table)])
    text = [format_segmentation_table(rows)]
    if arguments.outline_out is not None and not arguments.quiet:
        outlined = slice_names.listing(np.floor(points[:, 0] + 0.5).astype(int))
        text.append(f"outline: {len(points)} points on slice(s) {outlined} in {arguments.outline_out}")
    return "\n".join(text)
