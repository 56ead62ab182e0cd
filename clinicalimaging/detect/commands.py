"""The organ-detection commands: ``detect``, ``train-detector``, ``evaluate-detection``.

Parsers are added to the main command line by :func:`add_commands`; nothing here
imports Keras until a command runs, so ``clinicalimaging --help`` and the other
commands work without it.
"""

import argparse
import shlex
import sys
from pathlib import Path

from ..errors import InputError
from ..progress import report, subrange
from .parameters import DetectParameters, TrainParameters

#: Prefix of the line ``--progress-lines`` adds to say which device ran the network.
DEVICE_PREFIX = "DEVICE"


def _detector(arguments):
    from .model_files import default_model_path, load_detector

    return load_detector(arguments.model or default_model_path())


def _announce_device(arguments, device):
    if arguments.progress_lines:
        print(f"{DEVICE_PREFIX} {device}", flush=True)


def _run_detect(arguments, progress):
    """ROIs of the organs found, as one .mrk.json, and optionally the table."""
    from .. import mrml
    from ..cli import stage_parameters_from_arguments
    from .nodes import find_organ_boxes
    from .nodes_output import detection_table, roi_nodes_from_boxes

    parameters = stage_parameters_from_arguments(DetectParameters, arguments)
    outputs = [(arguments.output, "markups")] + ([(arguments.table, "table")] if arguments.table else [])
    mrml.check_outputs([arguments.input] + ([arguments.model] if arguments.model else []), outputs)
    report(progress, 0.0, "Loading the model")
    detector = _detector(arguments)
    input_node = mrml.read_volume(arguments.input)
    boxes, device = find_organ_boxes(input_node, model=detector, organs=arguments.organs, parameters=parameters,
                                     progress=subrange(progress, 0.05, 0.95))
    _announce_device(arguments, device)
    report(progress, 0.95, "Writing the outputs")
    scene = input_node.GetScene()
    rois = roi_nodes_from_boxes(boxes, scene=scene)
    with mrml.staged_outputs([path for path, _ in outputs]) as staged:
        mrml.write_markups_list(rois, staged[Path(arguments.output)])
        if arguments.table:
            mrml.write_table(detection_table(boxes, scene=scene), staged[Path(arguments.table)])
    if arguments.quiet:
        return None
    lines = [f"{box.organ}: score {box.score:.2f}, centre R {box.center[0]:.1f} A {box.center[1]:.1f} "
             f"S {box.center[2]:.1f} mm, size {box.size[0]:.0f} x {box.size[1]:.0f} x {box.size[2]:.0f} mm"
             + ("" if box.grade is None else f", grade {box.grade:.2f}") for box in boxes]
    return "\n".join([f"{len(boxes)} organs found ({device})", *lines, f"ROIs: {arguments.output}"]
                     + ([f"table: {arguments.table}"] if arguments.table else []))


def _label_names_for(arguments, labels_path):
    from .organs import read_label_names

    return None if arguments.label_names is None else read_label_names(arguments.label_names,
                                                                         labels_file=labels_path)


def _read_case(arguments, image_path, labels_path):
    """One labelled volume from an image file and a label-map or .seg.nrrd file."""
    from .. import mrml
    from .nodes import labelled_volume

    image = mrml.read_volume(image_path)
    if str(labels_path).lower().endswith(".seg.nrrd"):
        labels = mrml.read_segmentation(labels_path)
    else:
        labels = mrml.read_volume(labels_path, labelmap=True)
    return labelled_volume(image, labels, _label_names_for(arguments, labels_path),
                           lesion_names=arguments.lesion_labels.split(",") if arguments.lesion_labels else ())


def _run_train_detector(arguments, progress):
    """Train or fine-tune, write the model file."""
    from .. import mrml
    from ..cli import stage_parameters_from_arguments
    from .model_files import load_detector, save_detector
    from .organs import DEFAULT_ORGANS, select_organs
    from .cases import phantom_volumes
    from .training import train_detector

    parameters = stage_parameters_from_arguments(TrainParameters, arguments)
    if not arguments.images and not arguments.phantoms:
        raise InputError("Nothing to train on: give --images with their --labels, or --phantoms N.")
    if len(arguments.images) != len(arguments.labels):
        raise InputError(f"Give one label file per image: {len(arguments.images)} --images but "
                         f"{len(arguments.labels)} --labels.")
    out = Path(arguments.out)
    if out.suffix != ".keras":
        raise InputError(f"The model file '{out}' must end in .keras.")
    mrml.check_outputs(list(arguments.images) + list(arguments.labels), [])
    if not out.parent.is_dir():
        raise InputError(f"The folder of the model file '{out}' does not exist; create it first.")
    init = load_detector(arguments.init) if arguments.init else None
    report(progress, 0.0, "Reading the training volumes")
    volumes = [_read_case(arguments, image, labels) for image, labels in zip(arguments.images, arguments.labels)]
    volumes += phantom_volumes(arguments.phantoms, seed=parameters.seed)
    present = {name for volume in volumes for name in volume.label_names.values()}
    if arguments.organs:
        classes = select_organs(arguments.organs, sorted(present | set(DEFAULT_ORGANS)))
    else:
        classes = [name for name in DEFAULT_ORGANS if name in present]
    command = " ".join(shlex.quote(part) for part in ["clinicalimaging", *sys.argv[1:]])
    result = train_detector(volumes, classes, parameters, init=init, command=command,
                            progress=subrange(progress, 0.05, 0.98))
    _announce_device(arguments, result.metadata["training"]["device"])
    result.metadata["name"] = out.name
    save_detector(result.detector.model, result.metadata, out)
    if arguments.quiet:
        return None
    return (f"model: {out} ({len(result.detector.class_names)} organs: {', '.join(result.detector.class_names)})\n"
            f"loss by epoch: {', '.join(f'{loss:.3f}' for loss in result.losses)}\n"
            f"output layers: {', '.join(result.metadata['output_layers'])}; default-box recall (IoU > 0.5): "
            f"{result.metadata.get('anchor_recall', float('nan')):.2f}")


def _run_evaluate_detection(arguments, progress):
    """The per-organ comparison with the reference boxes of a label map, as text."""
    from .. import mrml
    from ..cli import stage_parameters_from_arguments
    from .evaluation import evaluation_rows, format_evaluation, reference_boxes
    from .nodes import find_organ_boxes

    parameters = stage_parameters_from_arguments(DetectParameters, arguments)
    if arguments.table is not None:
        mrml.check_outputs([arguments.image, arguments.labels], [(arguments.table, "table")])
    detector = _detector(arguments)
    image = mrml.read_volume(arguments.image)
    labels = mrml.read_volume(arguments.labels, labelmap=True)
    names = _label_names_for(arguments, arguments.labels)
    if names is None:
        raise InputError(f"Give the names of the values of '{arguments.labels}' with --label-names JSON.")
    organs = arguments.organs or [name for name in detector.class_names if name in set(names.values())]
    reference = reference_boxes(labels, names, organs=organs)
    boxes, device = find_organ_boxes(image, model=detector, organs=organs, parameters=parameters,
                                     progress=subrange(progress, 0.0, 0.95))
    _announce_device(arguments, device)
    rows = evaluation_rows(boxes, reference)
    if arguments.table is not None:
        mrml.write_table(mrml.table_from_rows(rows, name="detection evaluation"), arguments.table)
    return format_evaluation(rows)


def add_commands(commands, common, stage_parser):
    """Add the three commands to the main parser's subcommands.

    Parameters
    ----------
    commands : argparse subparsers action
    common : argparse.ArgumentParser
        Parent parser with ``--quiet``, ``--debug``, ``--progress-lines``.
    stage_parser : callable
        ``stage_parser(cls, title)``: the parent parser of a parameter dataclass's options.
    """
    model = argparse.ArgumentParser(add_help=False)
    model.add_argument("--model", metavar="FILE.keras",
                       help="Detector model written by 'train-detector' (default: the shipped model).")
    model.add_argument("--organs", metavar="NAMES",
                       help="Comma-separated organs to report, e.g. liver,spleen (default: every organ of the model).")
    detection = stage_parser(DetectParameters, "detection options")

    detect = commands.add_parser(
        "detect", parents=[common, model, detection],
        help="Find and name the organs of a CT or MR volume: one box (ROI) per organ.",
        description="Find the organs of a volume with the multi-scale multi-task FCN and write one Slicer ROI per "
                    "organ (all in one .mrk.json, which Slicer loads as one ROI node per organ), named after the "
                    "organ, in RAS on the input's geometry.")
    detect.add_argument("input", metavar="INPUT", help="Input volume (.nrrd, .nii, .nii.gz, .mha, DICOM folder).")
    detect.add_argument("output", metavar="OUTPUT.mrk.json", help="ROIs of the organs found.")
    detect.add_argument("--table", metavar="OUT.csv",
                        help="Also write one row per organ: organ, score, r_min, r_max, a_min, a_max, s_min, s_max "
                             "(RAS mm), centre, size, grade, views (default: not written).")
    detect.set_defaults(run=_run_detect)

    train = commands.add_parser(
        "train-detector", parents=[common, stage_parser(TrainParameters, "training options")],
        help="Train or fine-tune an organ detector on labelled volumes.",
        description="Train (or, with --init, fine-tune) the detector on volumes with organ label maps or .seg.nrrd "
                    "segmentations (e.g. TotalSegmentator's outputs). The model file keeps its classes, pixel size, "
                    "normalisation, default boxes, this command and a summary of the data.")
    train.add_argument("--images", nargs="*", default=[], metavar="IMAGE", help="Training volumes.")
    train.add_argument("--labels", nargs="*", default=[], metavar="LABELS",
                       help="One label map (.nrrd, .nii.gz, ...) or .seg.nrrd per image, in the same order.")
    train.add_argument("--label-names", metavar="JSON",
                       help="Label value -> organ name, or one such map per label file keyed by file name "
                            "(needed for label maps; segmentations carry their segment names; default: none).")
    train.add_argument("--organs", metavar="NAMES",
                       help="Comma-separated organs to learn (default: the default organs present in the labels).")
    train.add_argument("--lesion-labels", metavar="NAMES",
                       help="Label names marking lesions; trains the grade head (lesion in the organ or not) "
                            "(default: none, no grade head).")
    train.add_argument("--phantoms", type=int, default=0, metavar="N",
                       help="Also train on N generated CT and MR phantoms (liver with a lesion, spleen, kidneys, "
                            "aorta) (default: 0).")
    train.add_argument("--out", required=True, metavar="MODEL.keras", help="The model file to write (required; no default).")
    train.add_argument("--init", metavar="MODEL.keras", help="Fine-tune this model (keeps its organs and boxes) (default: train from scratch).")
    train.set_defaults(run=_run_train_detector)

    evaluate = commands.add_parser(
        "evaluate-detection", parents=[common, model, detection],
        help="Compare detected organ boxes with a label map: 3-D IoU, wall and centroid distance (mm).",
        description="Detect the organs of IMAGE and compare each box with the bounding box of the organ in LABELS "
                    "(both axis-aligned in RAS): 3-D IoU, wall distance (mean of the 6 faces' distances) and "
                    "centroid distance, in mm.")
    evaluate.add_argument("image", metavar="IMAGE", help="Input volume.")
    evaluate.add_argument("labels", metavar="LABELS", help="Organ label map (any grid).")
    evaluate.add_argument("--label-names", metavar="JSON", help="Label value -> organ name (as for train-detector; required, no default).")
    evaluate.add_argument("--table", metavar="OUT.csv", help="Also write the table (default: printed only).")
    evaluate.set_defaults(run=_run_evaluate_detection)
