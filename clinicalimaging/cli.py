"""The ``clinicalimaging`` command line.

::

    clinicalimaging enhance INPUT OUTPUT [--order-map FILE] [--fractal-map FILE] [options]
    clinicalimaging evaluate-enhancement IMAGE LABEL [--label-value N] [--table OUT.csv] [options]
    clinicalimaging segment INPUT OUTPUT --points POINTS.mrk.json [--seeds LABELMAP] [--probability FILE]
        [--rough FILE] [options]
    clinicalimaging evaluate-segmentation IMAGE LABEL [--label-value N] [--component N]
        [--outline-slices N] [--points-out OUT.mrk.json] [--table OUT.csv] [options]
    clinicalimaging demo [OUTDIR]

Stage options are generated from the stage's parameter dataclass
(:func:`add_parameter_options`), so ``--help`` always lists every parameter with its
unit and default. Exit status: 0 on success; 2 on a usage error or an
:class:`~clinicalimaging.errors.InputError`, with one line on stderr and no
traceback; 130 when interrupted; 1 on any other failure (``--debug`` shows the
traceback). Every output path is checked before any computation, and outputs are
written all or nothing (:func:`clinicalimaging.mrml.staged_outputs`), so a failed run leaves no output file.

The same :func:`main` runs inside Slicer's batch mode::

    Slicer --no-splash --no-main-window --python-code \\
        "import sys; from clinicalimaging.cli import main; sys.exit(main(['enhance', 'in.nrrd', 'out.nrrd']))"
"""

import argparse
import contextlib
import sys
import tempfile
import traceback
from pathlib import Path

from . import __version__
from .enhance.parameters import EnhanceParameters
from .errors import Cancelled, InputError
from .parameters import describe, summary
from .progress import report, subrange
from .segment.parameters import SegmentParameters

PROGRAM = "clinicalimaging"
EXIT_FAILURE = 1
EXIT_INPUT_ERROR = 2
EXIT_INTERRUPTED = 130
_METAVARS = {int: "INT", float: "FLOAT", str: "TEXT"}
#: Outline points of the clinician that ``evaluate-segmentation`` simulates (the issue's "about 12").
_OUTLINE_POINTS = 12


def add_parameter_options(parser, cls, *, title=None):
    """Add one ``--kebab-case`` option per field of a parameter dataclass.

    Each option's type comes from the field's default, its choices from the field,
    and its help is :func:`~clinicalimaging.parameters.summary`. Options default to
    ``None`` so that :func:`parameters_from_arguments` can tell given from omitted.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    cls : type
        A :class:`~clinicalimaging.parameters.Parameters` dataclass.
    title : str, optional
        Title of the option group in ``--help``; default ``"<cls name> options"``.
    """
    group = parser.add_argument_group(title or f"{cls.__name__} options")
    for field in describe(cls):
        flag = "--" + field["name"].replace("_", "-")
        options = {"dest": _destination(cls, field["name"]), "default": None, "help": summary(field).replace("%", "%%")}
        if field["type"] is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction, **options)
        else:
            group.add_argument(flag, type=field["type"], choices=field.get("choices"),
                               metavar=None if field.get("choices") else _METAVARS.get(field["type"], "VALUE"),
                               **options)


def parameters_from_arguments(cls, namespace, *, base=None):
    """Build a parameter dataclass from parsed options (see :func:`add_parameter_options`).

    Parameters
    ----------
    cls : type
        The parameter dataclass the options were made from.
    namespace : argparse.Namespace
        Parsed arguments.
    base : Parameters, optional
        Values for the options that were not given; default the dataclass defaults.

    Returns
    -------
    Parameters
        Validated; an out-of-range value raises :class:`InputError`.
    """
    values = {} if base is None else base.to_dict()
    for field in describe(cls):
        value = getattr(namespace, _destination(cls, field["name"]), None)
        if value is not None:
            values[field["name"]] = value
    return cls.from_dict(values)


def _destination(cls, name):
    # Prefixed so that a field name can never collide with a positional argument or a common option.
    return f"{cls.__name__}.{name}"


def _stage_parameters(cls, arguments):
    """The stage parameters: the ``--parameters`` JSON file, then the options given on the command line."""
    base = None
    if arguments.parameters is not None:
        try:
            text = Path(arguments.parameters).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            raise InputError(f"Parameter file '{arguments.parameters}' cannot be read ({reason}). "
                             "Pass a JSON file of parameter values.") from None
        base = cls.from_json(text)
    return parameters_from_arguments(cls, arguments, base=base)


@contextlib.contextmanager
def _progress_bar(enabled):
    """A progress callback that draws a tqdm bar on stderr (or does nothing when disabled)."""
    from tqdm import tqdm

    steps = 1000
    with tqdm(total=steps, disable=not enabled, file=sys.stderr, leave=False,
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

    parameters = _stage_parameters(EnhanceParameters, arguments)
    outputs = {"enhanced volume": arguments.output, "fractional-order map": arguments.order_map,
               "fractal-dimension map": arguments.fractal_map}
    outputs = {what: Path(path) for what, path in outputs.items() if path is not None}
    mrml.check_outputs([arguments.input], [(path, "volume") for path in outputs.values()])
    report(progress, 0.0, "Reading the input")
    input_node = mrml.read_volume(arguments.input)
    scene = input_node.GetScene()
    maps = {what: scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", scene.GenerateUniqueName(what))
            for what in ("fractional-order map", "fractal-dimension map") if what in outputs}
    output_node = enhance_volume(input_node, None, parameters, progress=subrange(progress, 0.05, 0.9),
                                 order_map_node=maps.get("fractional-order map"),
                                 fractal_map_node=maps.get("fractal-dimension map"))
    nodes = {"enhanced volume": output_node, **maps}
    report(progress, 0.9, "Writing the outputs")
    with mrml.staged_outputs(outputs.values()) as staged:
        for what, path in outputs.items():
            mrml.write_volume(nodes[what], staged[path])
    return None if arguments.quiet else "\n".join(f"{what}: {path}" for what, path in outputs.items())


def _run_segment(arguments, progress):
    """The lesion segmented from outline points; OUTPUT is a .seg.nrrd segmentation or a label map (1 = lesion)."""
    from . import mrml
    from .segment.nodes import LESION_SEGMENT, segment_volume

    parameters = _stage_parameters(SegmentParameters, arguments)
    as_segmentation = str(arguments.output).lower().endswith(".seg.nrrd")
    outputs = {"segmentation" if as_segmentation else "label map": (arguments.output,
                                                                    "segmentation" if as_segmentation else "volume"),
               "margin map": (arguments.probability, "volume"), "rough segmentation": (arguments.rough, "volume")}
    outputs = {what: (Path(path), kind) for what, (path, kind) in outputs.items() if path is not None}
    inputs = [path for path in (arguments.input, arguments.points, arguments.seeds) if path is not None]
    mrml.check_outputs(inputs, list(outputs.values()))
    report(progress, 0.0, "Reading the inputs")
    input_node = mrml.read_volume(arguments.input)
    points_node = mrml.read_markups(arguments.points)
    seeds_node = None if arguments.seeds is None else mrml.read_volume(arguments.seeds, labelmap=True)
    scene = input_node.GetScene()
    maps = {what: scene.AddNewNodeByClass(node_class, scene.GenerateUniqueName(what))
            for what, node_class in (("margin map", "vtkMRMLScalarVolumeNode"),
                                     ("rough segmentation", "vtkMRMLLabelMapVolumeNode")) if what in outputs}
    segmentation = segment_volume(input_node, points_node, None, parameters, seeds_node=seeds_node,
                                  probability_node=maps.get("margin map"), rough_node=maps.get("rough segmentation"),
                                  progress=subrange(progress, 0.05, 0.9))
    report(progress, 0.9, "Writing the outputs")
    with mrml.staged_outputs([path for path, _ in outputs.values()]) as staged:
        for what, (path, _) in outputs.items():
            if what == "segmentation":
                mrml.write_segmentation(segmentation, staged[path])
            elif what == "label map":
                mrml.write_volume(mrml.labelmap_from_segment(segmentation, LESION_SEGMENT, input_node), staged[path])
            else:
                mrml.write_volume(maps[what], staged[path])
    return None if arguments.quiet else "\n".join(f"{what}: {path}" for what, (path, _) in outputs.items())


def _run_evaluate_enhancement(arguments, progress):
    """The comparison table, as text."""
    from . import mrml
    from .enhance.compare import compare_enhancements, format_table

    parameters = _stage_parameters(EnhanceParameters, arguments)
    if arguments.table is not None:
        mrml.check_outputs([arguments.image, arguments.label], [(arguments.table, "table")])
    report(progress, 0.0, "Reading the image and the label map")
    image_node = mrml.read_volume(arguments.image)
    label_node = mrml.read_volume(arguments.label, labelmap=True)
    lesion_mask = mrml.label_mask_like(label_node, image_node, arguments.label_value)
    rows = compare_enhancements(mrml.array_from_volume(image_node), lesion_mask, mrml.spacing_kji(image_node),
                                parameters=parameters, progress=subrange(progress, 0.05, 1.0))
    if arguments.table is not None:
        mrml.write_table(mrml.table_from_rows(rows, name="enhancement comparison"), arguments.table)
    return format_table(rows)


def _run_evaluate_segmentation(arguments, progress):
    """The segmentation comparison table, as text, from a simulated outline written as a real markups file."""
    from . import mrml
    from .segment.evaluation import compare_segmentations, format_segmentation_table, simulate_outline
    from .segment.postprocess import largest_component

    parameters = _stage_parameters(SegmentParameters, arguments)
    outputs = [(path, kind) for path, kind in ((arguments.points_out, "markups"), (arguments.table, "table"))
               if path is not None]
    mrml.check_outputs([arguments.image, arguments.label], outputs)
    report(progress, 0.0, "Reading the image and the label map")
    image_node = mrml.read_volume(arguments.image)
    label_node = mrml.read_volume(arguments.label, labelmap=True)
    lesion_mask = mrml.label_mask_like(label_node, image_node, arguments.label_value)
    if arguments.component:
        lesion_mask = largest_component(lesion_mask, arguments.component)
    # The clinician's outline goes through a real .mrk.json, as a user's would (the seed is the comparison's);
    # a closed curve lies in one plane, so outlines on several slices go as a point list.
    outline = mrml.markups_from_points(
        simulate_outline(lesion_mask, count=_OUTLINE_POINTS, seed=parameters.seed, slices=arguments.outline_slices),
        image_node, closed=arguments.outline_slices == 1)
    with mrml.staged_outputs([path for path, _ in outputs]) as staged, \
            tempfile.TemporaryDirectory(prefix="clinicalimaging-") as folder:
        points_path = Path(folder) / "outline.mrk.json" if arguments.points_out is None \
            else staged[Path(arguments.points_out)]
        mrml.write_markups(outline, points_path)
        points = mrml.points_kji(mrml.read_markups(points_path), image_node)
        rows = compare_segmentations(mrml.array_from_volume(image_node), lesion_mask, mrml.spacing_kji(image_node),
                                     points=points, parameters=parameters, progress=subrange(progress, 0.05, 1.0))
        if arguments.table is not None:
            mrml.write_table(mrml.table_from_rows(rows, name="segmentation comparison"),
                             staged[Path(arguments.table)])
    text = [format_segmentation_table(rows)]
    if arguments.points_out is not None and not arguments.quiet:
        outlined = ", ".join(str(k) for k in sorted({round(k) for k in points[:, 0]}))
        text.append(f"outline: {len(points)} points on slice(s) {outlined} in {arguments.points_out}")
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


def _stage_parser(cls, title):
    """A parent parser with ``--parameters`` and one option per field of the stage's parameter dataclass."""
    stage = argparse.ArgumentParser(add_help=False)
    stage.add_argument("--parameters", metavar="JSON_FILE",
                       help="JSON object of parameter values (names as below, with underscores); "
                            "options given on the command line take precedence (default: none).")
    add_parameter_options(stage, cls, title=title)
    return stage


def build_parser():
    """The argument parser of every command (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog=PROGRAM, description="Clinical image analysis: fractional-order enhancement of CT/MR volumes and "
                                  "self-paced lesion segmentation from outline points.",
        epilog=f"Run '{PROGRAM} COMMAND --help' for the options of a command. Exit status: 0 success, "
               "2 bad input or usage, 130 interrupted, 1 other failure.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", action="store_true", help="No progress bar and no summary on stdout.")
    common.add_argument("--debug", action="store_true", help="Show the full traceback of an unexpected error.")
    stage = _stage_parser(EnhanceParameters, "enhancement options")
    evaluation = argparse.ArgumentParser(add_help=False)  # the reference of both evaluate commands
    evaluation.add_argument("image", metavar="IMAGE", help="Input volume (as for 'enhance').")
    evaluation.add_argument("label", metavar="LABEL", help="Label map volume marking the lesion (any grid; it is "
                                                           "resampled onto the image by nearest neighbour).")
    evaluation.add_argument("--label-value", type=int, metavar="N",
                            help="Label value of the lesion (default: every non-zero voxel).")
    evaluation.add_argument("--table", metavar="OUT.csv",
                            help="Also write the table as .csv or .tsv (default: printed only).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    enhance = commands.add_parser(
        "enhance", parents=[common, stage],
        help="Enhance a volume with the variable-order fractional differential filter.",
        description="Enhance a volume with the variable-order fractional differential filter. The output keeps "
                    "the input's geometry, data type and units (clipped to the input's intensity range).")
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
    evaluate.set_defaults(run=_run_evaluate_enhancement)

    segment = commands.add_parser(
        "segment", parents=[common, _stage_parser(SegmentParameters, "segmentation options")],
        help="Segment a lesion outlined by a few points with the self-paced SVM.",
        description="Segment the lesion outlined by a few points (a Slicer closed curve or point list, at least "
                    "3 points on each outlined slice): preprocessing, level set and self-paced SVM. The output "
                    "has the input's grid and geometry.")
    segment.add_argument("input", metavar="INPUT",
                         help="Input volume (as for 'enhance'); 3-D: a single slice is rejected.")
    segment.add_argument("output", metavar="OUTPUT",
                         help="Segmentation: .seg.nrrd (one segment 'lesion'), or a label map (.nrrd, .nii, "
                              ".nii.gz, .mha; 1 = lesion, 0 elsewhere).")
    segment.add_argument("--points", metavar="POINTS.mrk.json", required=True,
                         help="The lesion outline as a Slicer markups file (required; no default).")
    segment.add_argument("--seeds", metavar="LABELMAP",
                         help="Scribbles as a label map on any grid: 1 lesion, 2 background; both needed "
                              "(default: none).")
    segment.add_argument("--probability", metavar="FILE",
                         help="Also write the classifier's signed margin, positive = lesion (float32; "
                              "default: not written).")
    segment.add_argument("--rough", metavar="FILE",
                         help="Also write the rough level-set segmentation as a label map (default: not written).")
    segment.set_defaults(run=_run_segment)

    evaluate_segmentation = commands.add_parser(
        "evaluate-segmentation",
        parents=[common, evaluation, _stage_parser(SegmentParameters, "segmentation options")],
        help="Compare the segmentation with its stages and Grow from seeds on a lesion: Dice, HD95, time.",
        description=f"Simulate a clinician's outline ({_OUTLINE_POINTS} points on the lesion's boundary on its "
                    "largest axial slice, written as a Slicer markups file), segment the lesion from it with "
                    "preprocessing alone, the level set alone, a plain SVM, the self-paced SVM (with the options "
                    "below) and Grow from seeds, and print Dice and HD95 against the whole label.")
    evaluate_segmentation.add_argument("--points-out", metavar="OUT.mrk.json",
                                       help="Also keep the simulated outline as a markups file, usable as "
                                            "'segment --points' (default: a temporary file).")
    evaluate_segmentation.add_argument("--outline-slices", type=int, default=1, metavar="N",
                                       help="Outline N slices: the largest and N-1 more spread over the lesion "
                                            "(default: 1).")
    evaluate_segmentation.add_argument("--component", type=int, default=0, metavar="N",
                                       help="Measure against the label's N-th largest connected component only "
                                            "(1 = the largest), e.g. one structure of a label that has several "
                                            "(default: 0, the whole label).")
    evaluate_segmentation.set_defaults(run=_run_evaluate_segmentation)

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


def _one_line(error):
    return " ".join(str(error).split()) or type(error).__name__


def main(argv=None):
    """Run one command.

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
    show_bar = not arguments.quiet and sys.stderr.isatty()
    try:
        with _progress_bar(show_bar) as progress:  # closed (and cleared) before the result is printed
            result = arguments.run(arguments, progress)
    except (Cancelled, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    except InputError as error:
        if arguments.debug:
            traceback.print_exc()
        print(f"{PROGRAM}: error: {_one_line(error)}", file=sys.stderr)
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
    if result:
        print(result)
    return 0
