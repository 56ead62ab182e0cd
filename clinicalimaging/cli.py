"""The ``clinicalimaging`` command line.

::

    clinicalimaging enhance INPUT OUTPUT [--order-map FILE] [--fractal-map FILE] [options]
    clinicalimaging evaluate-enhancement IMAGE LABEL [--label-value N] [--sweep [--plot OUT.png]]
        [--ring-range LOW HIGH | --whole-ring] [--table OUT.csv] [options]
    clinicalimaging segment INPUT OUTPUT --outline OUTLINE.mrk.json [--seeds FILE] [--enhance-first]
        [--margin-map FILE] [--rough FILE] [--table OUT.csv] [options]
    clinicalimaging evaluate-segmentation IMAGE LABEL [--label-value N] [--component N]
        [--outline-slices N] [--outline-out OUT.mrk.json] [--table OUT.csv] [options]
    clinicalimaging demo [OUTDIR]

Stage options are generated from the stage's parameter dataclass
(:func:`~clinicalimaging.cli_options.add_parameter_options`), so ``--help`` always lists every parameter with its
unit and default; an option that has no effect with the other values (e.g.
``--order-at-high-dimension`` with ``--mode paper``) is refused, not ignored. Exit
status: 0 on success; 2 on a usage error or an
:class:`~clinicalimaging.errors.InputError`, with one line on stderr and no
traceback; 130 when interrupted (Ctrl-C), 143 when terminated (SIGTERM); 1 on any
other failure (``--debug`` shows the traceback). Every output path is checked before
any computation, and outputs are written all or nothing
(:func:`clinicalimaging.mrml.staged_outputs`), so a failed run leaves no output file.

Interrupts: the process entry point (:mod:`clinicalimaging.launch`, used by the
console script and by ``python -m clinicalimaging``) handles SIGINT and SIGTERM at
any moment, imports included. Until the outputs are in place, an interrupt leaves no
output and no temporary file (files that existed before keep their content) and
says ``interrupted; no output was written.``; once they are all in place (possibly
before the summary is printed) it keeps them and says that they are complete.

The same :func:`main` runs inside Slicer's batch mode, where it installs no signal
handler (Slicer's own handling stays as it is)::

    Slicer --no-splash --no-main-window --python-code \\
        "import sys; from clinicalimaging.cli import main; sys.exit(main(['enhance', 'in.nrrd', 'out.nrrd']))"
"""

import argparse
import contextlib
import functools
import signal
import sys
import traceback
import warnings
from pathlib import Path

import numpy as np

from . import __version__, interrupts, provenance
from .detect.commands import add_commands as add_detection_commands
from .enhance.parameters import EnhanceParameters
from .errors import Cancelled, InputError, InputWarning
from .library_output import show_library_output
from .mrml.paths import replaced_outputs
from .cli_options import add_parameter_options, stage_parameters_from_arguments
from .parameters import ParameterError
from .progress import report, subrange
from .segment.parameters import SegmentParameters

PROGRAM = interrupts.PROGRAM
EXIT_FAILURE = 1
EXIT_INPUT_ERROR = 2
EXIT_INTERRUPTED = interrupts.EXIT_STATUS[signal.SIGINT]
#: Outline points of the clinician that ``evaluate-segmentation`` simulates (the issue's "about 12").
_OUTLINE_POINTS = 12


#: The line prefix of ``--progress-lines``: ``PROGRESS <fraction 0..1> <message>``.
PROGRESS_PREFIX = "PROGRESS"


def _progress_lines(fraction, message):
    """Progress as one flushed stdout line, for a program that runs the command as a child process."""
    print(f"{PROGRESS_PREFIX} {fraction:.4f} {' '.join(str(message).split())}", flush=True)


@contextlib.contextmanager
def _progress_bar(enabled):
    """A progress callback that draws a tqdm bar on stderr; None when disabled or tqdm is not installed.

    tqdm is imported only to draw a bar, so the commands run on a Python without it
    (e.g. Slicer's own).
    """
    if enabled:
        try:
            from tqdm import tqdm
        except ImportError:
            enabled = False
    if not enabled:
        yield None
        return
    steps = 1000
    with tqdm(total=steps, file=sys.stderr, leave=False,
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}") as bar:
        def update(fraction, message):
            bar.set_description_str(message, refresh=False)
            bar.n = round(fraction * steps)
            bar.refresh()

        yield update


def _run_enhance(arguments, progress):
    """Each ``_run_*`` command returns the text for stdout (or None); :func:`main` prints it."""
    from . import mrml
    from .enhance.nodes import enhance_volume

    parameters = stage_parameters_from_arguments(EnhanceParameters, arguments)
    outputs = {"enhanced volume": arguments.output, "fractional-order map": arguments.order_map,
               "fractal-dimension map": arguments.fractal_map}
    outputs = {what: Path(path) for what, path in outputs.items() if path is not None}
    mrml.check_outputs([arguments.input], [(path, "volume") for path in outputs.values()])
    report(progress, 0.0, "Reading the input")
    input_node = mrml.read_volume(arguments.input, display=False)  # file to file: no views, no window/level
    scene = input_node.GetScene()
    maps = {what: scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", scene.GenerateUniqueName(what))
            for what in ("fractional-order map", "fractal-dimension map") if what in outputs}
    output_node = enhance_volume(input_node, None, parameters, progress=subrange(progress, 0.05, 0.9),
                                 order_map_node=maps.get("fractional-order map"),
                                 fractal_map_node=maps.get("fractal-dimension map"))
    nodes = {"enhanced volume": output_node, **maps}
    report(progress, 0.9, "Writing the outputs")
    compress = mrml.file_is_compressed(arguments.input) is not False  # as the input; DICOM in: compressed out
    with mrml.staged_outputs(outputs.values()) as staged:
        for what, path in outputs.items():
            mrml.write_volume(nodes[what], staged[path], compress=compress)
    return None if arguments.quiet else "\n".join(f"{what}: {path}" for what, path in outputs.items())


def _run_segment(arguments, progress):
    """The lesion segmented from its outline; OUTPUT is a .seg.nrrd segmentation or a label map (1 = lesion)."""
    from . import mrml
    from .segment.nodes import LESION_SEGMENT, segment_volume, segmentation_results_table

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
    from . import mrml
    from .segment.nodes import SliceNames

    voxels = int(mask.sum())
    volume_ml = voxels * float(np.prod(mrml.spacing_kji(volume_node))) / 1000.0
    if not voxels:
        return "lesion: empty (0 voxels); check the outline and the seeds"
    span = SliceNames(volume_node).span(np.flatnonzero(mask.any(axis=(1, 2))))
    return f"lesion: {volume_ml:.2f} mL, {voxels} voxels, {span}"


def _lesion_mask(arguments, image_node, label_node):
    """The lesion of the reference label map on the image's grid; several labels need ``--label-value``.

    Image and label map swapped, an image as the label map or a label map as the image,
    and a label map of another scan are refused (a label half outside the image is said).
    """
    from . import mrml

    mrml.check_label_map(label_node, image_node, label_name=arguments.label, image_name=arguments.image)
    mrml.check_image(image_node, label_role="LABEL")
    if arguments.label_value is None:
        values = np.unique(mrml.array_from_volume(label_node))
        values = values[values != 0]
        if len(values) > 1:
            listed = mrml.label_values_text(values)
            raise InputError(f"Label map '{arguments.label}' holds {len(values)} labels ({listed}); choose the "
                             f"lesion's with --label-value N (e.g. --label-value {values[0]}).")
    mask = mrml.label_mask_like(label_node, image_node, arguments.label_value)
    mrml.check_label_inside(label_node, mask, image_node, label_value=arguments.label_value)
    return mask


def _run_evaluate_enhancement(arguments, progress):
    """The background ring used, then the comparison table (or with ``--sweep`` the strength sweep), as text."""
    from . import mrml
    from .enhance.compare import compare_enhancements, default_ring_range, format_table
    from .enhance.sweep import format_sweep, sweep_enhancements, sweep_figure, sweep_table

    parameters = stage_parameters_from_arguments(EnhanceParameters, arguments)
    if arguments.plot is not None and not arguments.sweep:
        raise InputError("--plot draws the strength sweep: add --sweep, or leave --plot out.")
    outputs = [(path, kind) for path, kind in ((arguments.table, "table"), (arguments.plot, "figure"))
               if path is not None]
    mrml.check_outputs([arguments.image, arguments.label], outputs)
    report(progress, 0.0, "Reading the image and the label map")
    image_node = mrml.read_volume(arguments.image)
    label_node = mrml.read_volume(arguments.label, labelmap=True)
    lesion_mask = _lesion_mask(arguments, image_node, label_node)
    image, spacing = mrml.array_from_volume(image_node), mrml.spacing_kji(image_node)
    if arguments.whole_ring:
        ring_range, ring = None, "whole (--whole-ring)"
    elif arguments.ring_range is not None:
        ring_range = tuple(arguments.ring_range)
        ring = "{:g}..{:g} (--ring-range)".format(*ring_range)
    else:
        ring_range, ring = default_ring_range(image, lesion_mask, spacing)
        ring += "; --whole-ring for all of it" if ring_range else "; --ring-range LOW HIGH limits it"
    ring_label = "whole" if ring_range is None else "{:g}..{:g}".format(*ring_range)
    if arguments.sweep:
        curves = sweep_enhancements(image, lesion_mask, spacing, parameters=parameters, ring_range=ring_range,
                                    progress=subrange(progress, 0.05, 1.0))
        rows, text, name = sweep_table(curves), format_sweep(curves), "enhancement sweep"
    else:
        rows = compare_enhancements(image, lesion_mask, spacing, parameters=parameters, ring_range=ring_range,
                                    progress=subrange(progress, 0.05, 1.0))
        text, name = format_table(rows), "enhancement comparison"
    if outputs:
        with mrml.staged_outputs([path for path, _ in outputs]) as staged:
            if arguments.table is not None:
                mrml.write_table(mrml.table_from_rows([{**row, "background_ring": ring_label} for row in rows],
                                                      name=name), staged[Path(arguments.table)])
            if arguments.plot is not None:
                sweep_figure(curves, title=f"{Path(arguments.image).name}, background ring: {ring_label}").savefig(
                    staged[Path(arguments.plot)])
    return f"background ring: {ring}\n{text}"


def _run_evaluate_segmentation(arguments, progress):
    """The segmentation comparison table, as text, from a simulated outline written as a real markups file."""
    from . import mrml
    from .segment.evaluation import compare_segmentations, format_segmentation_table, simulate_outline
    from .segment.postprocess import largest_component
    from .segment.nodes import SliceNames

    parameters = stage_parameters_from_arguments(SegmentParameters, arguments)
    outputs = [(path, kind) for path, kind in ((arguments.outline_out, "markups"), (arguments.table, "table"))
               if path is not None]
    mrml.check_outputs([arguments.image, arguments.label], outputs)
    report(progress, 0.0, "Reading the image and the label map")
    image_node = mrml.read_volume(arguments.image)
    label_node = mrml.read_volume(arguments.label, labelmap=True)
    lesion_mask = _lesion_mask(arguments, image_node, label_node)
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


def _run_demo(arguments, progress):
    """Where the demo files went."""
    from .demo import run_demo

    demo = run_demo(arguments.output_folder, kind=arguments.kind, progress=progress)
    if arguments.quiet:
        return None
    return "\n".join([f"Demo written to {Path(arguments.output_folder).resolve()}:",
                      *(f"  {what}: {path}" for what, path in demo.paths.items()),
                      f"Comparison around the lesion (label {demo.lesion_label} of the label map):",
                      demo.comparison])


def stage_parser(cls, title):
    """A parent parser with ``--parameters`` and one option per field of the stage's parameter dataclass."""
    stage = Parser(add_help=False)
    stage.add_argument("--parameters", metavar="JSON_FILE",
                       help="JSON object of parameter values (names as below, with underscores); "
                            "options given on the command line take precedence (default: none).")
    add_parameter_options(stage, cls, title=title)
    return stage


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr, like every other error."""

    def error(self, message):
        self.exit(EXIT_INPUT_ERROR, f"{PROGRAM}: error: {message[:1].upper()}{message[1:]}. "
                                    f"Run '{self.prog} --help' for the usage.\n")


def _finite_number(text):
    """An argparse type: a finite number (NaN and infinities are refused, as for every stage parameter)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number; got {text}")
    return value


def _count(minimum):
    """An argparse type: a whole number of at least ``minimum``."""
    def count(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}; got {value}")
        return value

    return count


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

def build_parser():
    """The argument parser of every command (exposed for documentation and tests)."""
    parser = Parser(
        prog=PROGRAM, description="Clinical image analysis: fractional-order enhancement of CT/MR volumes and "
                                  "self-paced lesion segmentation from outline points.",
        epilog=f"Run '{PROGRAM} COMMAND --help' for the options of a command. Exit status: 0 success, "
               "2 bad input or usage, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM), 1 other failure. An "
               "interrupt before the outputs are complete leaves no output and no temporary file; after, it keeps "
               "the complete outputs and says so.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = Parser(add_help=False)
    common.add_argument("--quiet", action="store_true", help="No progress bar and no summary on stdout.")
    common.add_argument("--debug", action="store_true",
                        help="Show the full traceback of an unexpected error, and the messages that the imaging and "
                             "deep-learning libraries print themselves.")
    common.add_argument("--progress-lines", action="store_true",
                        help=f"Report progress as lines '{PROGRESS_PREFIX} <fraction 0..1> <message>' on stdout "
                             "instead of a bar (for a program that runs this command, e.g. a Slicer module).")
    stage = stage_parser(EnhanceParameters, "enhancement options")
    evaluation = Parser(add_help=False)  # the reference of both evaluate commands
    evaluation.add_argument("image", metavar="IMAGE", help="Input volume (as for 'enhance').")
    evaluation.add_argument("label", metavar="LABEL", help="Label map volume marking the lesion (any grid; it is "
                                                           "resampled onto the image by nearest neighbour).")
    evaluation.add_argument("--label-value", type=int, metavar="N",
                            help="Label value of the lesion; needed when the label map holds more than one "
                                 "label (default: every non-zero voxel of a single-label map).")
    evaluation.add_argument("--table", metavar="OUT.csv",
                            help="Also write the table as .csv or .tsv (default: printed only).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    enhance = commands.add_parser(
        "enhance", parents=[common, stage],
        help="Enhance a volume with the variable-order fractional differential filter.",
        description="Enhance a volume with the variable-order fractional differential filter. The output keeps "
                    "the input's geometry, data type and units (clipped to the input's intensity range), and its "
                    "compression: an uncompressed NRRD or MetaImage gives uncompressed outputs.")
    enhance.add_argument("input", metavar="INPUT", help="Input volume: .nrrd, .nhdr, .nii, .nii.gz, .mha file, "
                                                        "or a folder holding one DICOM series.")
    enhance.add_argument("output", metavar="OUTPUT", help="Enhanced volume: .nrrd, .nii, .nii.gz or .mha.")
    enhance.add_argument("--order-map", metavar="FILE", help="Also write the per-voxel fractional order (float32; default: not written).")
    enhance.add_argument("--fractal-map", metavar="FILE",
                         help="Also write the local fractal dimension (float32; default: not written).")
    enhance.set_defaults(run=_run_enhance)

    evaluate = commands.add_parser(
        "evaluate-enhancement", parents=[common, evaluation, stage],
        help="Compare the enhancement with baselines on a lesion: CNR, background noise, edge sharpness.",
        description="Compare the original, each baseline (constant order 0.5, CLAHE, unsharp mask, Laplacian "
                    "sharpening), paper mode and the chosen mode on a lesion given by a label map, and print "
                    "the table.")
    evaluate.add_argument("--sweep", action="store_true",
                          help="Run every method over its strength instead (unsharp amount; Laplacian, Tiansi and "
                               "CLAHE blends; curvature anisotropic diffusion; both fractional modes) and print each "
                               "curve of (edge sharpness ratio, CNR ratio) and the CNR ratio read off at +25 %% and "
                               "+40 %% sharpness; runs that keep less than half the lesion's contrast are marked "
                               "'contrast lost' and left off the curves; --table then holds the read-off table.")
    evaluate.add_argument("--plot", metavar="OUT.png",
                          help="With --sweep: also draw the curves in a PNG (default: not drawn).")
    ring = evaluate.add_mutually_exclusive_group()
    ring.add_argument("--ring-range", type=_finite_number, nargs=2, metavar=("LOW", "HIGH"),
                      help="Measure the background ring only where the original's grey value lies in LOW..HIGH "
                           "(default: -150 250, soft tissue without air, fat and bone, on a CT in HU, recognised by "
                           "air: values at or below -900; the whole ring where the image is no such CT or the window "
                           "leaves less than half the ring). The ring used is printed first.")
    ring.add_argument("--whole-ring", action="store_true",
                      help="Measure the whole background ring, also on a CT.")
    evaluate.set_defaults(run=_run_evaluate_enhancement)

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
    evaluate_segmentation.add_argument("--outline-slices", type=_count(1), default=1, metavar="N",
                                       help="Outline N slices: the largest and N-1 more spread over the lesion "
                                            "(default: 1).")
    evaluate_segmentation.add_argument("--component", type=_count(0), default=0, metavar="N",
                                       help="Measure against the label's N-th largest connected component only "
                                            "(1 = the largest), e.g. one structure of a label that has several "
                                            "(default: 0, the whole label).")
    evaluate_segmentation.set_defaults(run=_run_evaluate_segmentation)

    add_detection_commands(commands, common, stage_parser)

    demo = commands.add_parser(
        "demo", parents=[common],
        help="Enhance a generated phantom and write volumes, maps, a PNG figure and the comparison table.",
        description="Generate a CT-like or MR-like phantom with a lesion, enhance it, and write the input, "
                    "the enhanced volume, the order and fractal-dimension maps, the label map, a PNG figure "
                    "and the comparison table into OUTDIR (created if needed).")
    demo.add_argument("output_folder", metavar="OUTDIR", nargs="?", default="demo-output",
                      help="Folder for the results (default: demo-output).")
    demo.add_argument("--kind", choices=("ct", "mr"), default="ct", help="Which phantom to generate (default: ct).")
    demo.set_defaults(run=_run_demo)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None, *, debug=False):
    """Show a warning: an :class:`InputWarning` as one line ``clinicalimaging: warning: ...`` on stderr.

    Other warnings (the libraries' own) appear only with ``--debug``, with where they come from.
    """
    if issubclass(category, InputWarning):
        print(f"{PROGRAM}: warning: {_one_line(message)}", file=sys.stderr)
    elif debug:
        print(f"{PROGRAM}: warning ({category.__name__}, {filename}:{lineno}): {_one_line(message)}", file=sys.stderr)


def _one_line(error):
    return " ".join(str(error).split()) or type(error).__name__


def main(argv=None):
    """Run one command.

    Installs no signal handler: run as a process, the command line goes through
    :func:`clinicalimaging.launch.main`, which does. Called from a script (e.g. in
    Slicer's batch mode), a :class:`KeyboardInterrupt` during the command gives the
    same one-line message and exit status 130.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 success, 2 usage or input error, 130 interrupted, 1 other failure.
    """
    parser = build_parser()
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, or a usage error argparse already reported
        return stop.code if isinstance(stop.code, int) else EXIT_INPUT_ERROR
    show_library_output(arguments.debug)
    show_bar = not arguments.quiet and not arguments.progress_lines and sys.stderr.isatty()
    written_before = interrupts.written_count()
    try:
        replaced_outputs(clear=True)
        with (_progress_bar(show_bar) as progress, warnings.catch_warnings(),  # bar cleared before the result
              provenance.recording([PROGRAM, *(sys.argv[1:] if argv is None else argv)], _inputs(arguments))):
            warnings.showwarning = functools.partial(_show_warning, debug=arguments.debug)
            result = arguments.run(arguments, _progress_lines if arguments.progress_lines else progress)
    except (Cancelled, KeyboardInterrupt):
        print(interrupts.interrupted_message(complete=interrupts.written_count() > written_before), file=sys.stderr)
        return EXIT_INTERRUPTED
    except InputError as error:
        if arguments.debug:
            traceback.print_exc()
        text = error.spelled(command_line=True) if isinstance(error, ParameterError) else str(error)
        print(f"{PROGRAM}: error: {_one_line(text)}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except Exception as error:
        if arguments.debug:
            traceback.print_exc()
        if isinstance(error, MemoryError):
            message = "error: not enough memory for this volume; close other programs or crop the volume."
        elif isinstance(error, OSError):
            message = f"error: {_one_line(error)}"
        else:
            hint = "" if arguments.debug else " Run again with --debug to see the traceback."
            message = f"internal error ({type(error).__name__}): {_one_line(error)}{hint}"
        print(f"{PROGRAM}: {message}", file=sys.stderr)
        return EXIT_FAILURE
    replaced = replaced_outputs(clear=True)
    if replaced and not arguments.quiet:
        result = "\n".join(filter(None, [result, f"replaced existing file(s): {', '.join(map(str, replaced))}"]))
    if result:
        print(result)
    return 0


#: Argument names that hold input files or folders, recorded with their checksums in every output.
_INPUT_ARGUMENTS = ("input", "image", "label", "labels", "images", "outline", "seeds", "model", "init", "parameters",
                    "label_names")


def _inputs(arguments):
    """The input paths of a parsed command, in argument order."""
    inputs = []
    for name in _INPUT_ARGUMENTS:
        value = getattr(arguments, name, None)
        inputs += value if isinstance(value, list) else [] if value is None else [value]
    return [path for path in inputs if Path(path).exists()]
