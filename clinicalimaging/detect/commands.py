"""The organ-detection commands: ``detect``, ``train-detector``, ``evaluate-detection``.

Parsers are added to the main command line by :func:`add_commands`; nothing here
imports Keras until a command runs, so ``clinicalimaging --help`` and the other
commands work without it. A command checks every argument it can first (paths,
the model file's description, organ names, the input volumes), and only then loads
Keras and its backend, quietly unless ``--debug`` is given
(:func:`.backend.show_backend_notices`): a mistake is reported at once, not after the
seconds TensorFlow takes to load.
"""

import argparse
import math
import shlex
import sys
from pathlib import Path

from ..cli_options import stage_parser
from ..errors import InputError
from ..progress import report, subrange
from .backend import show_backend_notices
from .parameters import DetectParameters, TrainParameters

#: Prefix of the line ``--progress-lines`` adds to say which device ran the network.
DEVICE_PREFIX = "DEVICE"


def _model_path(arguments):
    from .model_files import default_model_path

    return Path(arguments.model) if arguments.model else default_model_path()


def _model_classes(path):
    """The organs of a model file, from its description (without Keras)."""
    from .model_files import read_metadata

    return read_metadata(path)["class_names"]


def _announce_device(arguments, device):
    if arguments.progress_lines:
        print(f"{DEVICE_PREFIX} {device}", flush=True)


def _run_detect(arguments, progress):
    """ROIs of the organs found, as one .mrk.json, and optionally the table.

    A run that finds no organ writes an empty ROI file and an empty table, says in one
    line that the scan may lie outside what the model knows, and exits 0, as any run
    that completes.
    """
    from .. import mrml
    from ..cli_options import stage_parameters_from_arguments
    from .model_files import load_detector
    from .model_scope import out_of_scope_message
    from .nodes import find_organ_boxes
    from .nodes_output import EXPERIMENTAL_GRADE_NOTE, detection_table, roi_nodes_from_boxes
    from .organs import select_organs

    show_backend_notices(arguments.debug)
    parameters = stage_parameters_from_arguments(DetectParameters, arguments)
    outputs = [(arguments.output, "markups")] + ([(arguments.table, "table")] if arguments.table else [])
    model_path = _model_path(arguments)
    mrml.check_outputs([arguments.input, model_path], outputs)
    organs = select_organs(arguments.organs, _model_classes(model_path))
    report(progress, 0.0, "Reading the input")
    input_node = mrml.read_volume(arguments.input)
    report(progress, 0.02, "Loading the model")
    detector = load_detector(model_path)
    boxes, device = find_organ_boxes(input_node, model=detector, organs=organs, parameters=parameters,
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
             + ("" if box.grade is None else f", grade {box.grade:.2f}" + " (experimental)" * box.grade_experimental)
             for box in boxes]
    if not boxes:
        lines = [out_of_scope_message(parameters.score_threshold, detector.metadata)]
    elif any(box.grade_experimental for box in boxes):
        lines.append(f"grade (lesion probability): {EXPERIMENTAL_GRADE_NOTE}")
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


def _read_background(path):
    """A scan that holds none of the organs, as a background-only training volume."""
    from .. import mrml
    from .cases import background_volume

    node = mrml.read_volume(path)
    mrml.check_image(node)
    return background_volume(mrml.array_from_volume(node), mrml.ijk_to_ras(node), name=node.GetName())


def _run_train_detector(arguments, progress):
    """Train or fine-tune, write the model file; say how well the model finds the training volumes' organs."""
    from .. import mrml
    from ..cli_options import stage_parameters_from_arguments
    from .cases import phantom_volumes
    from .evaluation import labelled_volumes_summary
    from .model_files import load_detector, save_detector
    from .training import train_detector

    show_backend_notices(arguments.debug)
    parameters = _training_parameters(arguments, stage_parameters_from_arguments(TrainParameters, arguments))
    if not arguments.images and not arguments.phantoms:
        raise InputError("Nothing to train on: give --images with their --labels, or --phantoms N.")
    if len(arguments.images) != len(arguments.labels):
        raise InputError(f"Give one label file per image: {len(arguments.images)} --images but "
                         f"{len(arguments.labels)} --labels.")
    out = Path(arguments.out)
    if out.suffix != ".keras":
        raise InputError(f"The model file '{out}' must end in .keras.")
    mrml.check_outputs(list(arguments.images) + list(arguments.labels) + list(arguments.background_images), [])
    if not out.parent.is_dir():
        raise InputError(f"The folder of the model file '{out}' does not exist; create it first.")
    if arguments.init:
        _check_fine_tuning_organs(arguments)
    report(progress, 0.0, "Reading the training volumes")
    volumes = [_read_case(arguments, image, labels) for image, labels in zip(arguments.images, arguments.labels)]
    volumes += phantom_volumes(arguments.phantoms, seed=parameters.seed)
    volumes += [_read_background(path) for path in arguments.background_images]
    classes = None if arguments.init else _training_classes(arguments, volumes)
    before = init = None
    if arguments.init:
        report(progress, 0.03, "Loading the model")
        init = load_detector(arguments.init)
        report(progress, 0.04, "Measuring the model on the training volumes before fine-tuning")
        before = labelled_volumes_summary(init, volumes, progress=subrange(progress, 0.04, 0.12))
    command = " ".join(shlex.quote(part) for part in ["clinicalimaging", *sys.argv[1:]])
    result = train_detector(volumes, classes, parameters, init=init, command=command,
                            progress=subrange(progress, 0.12 if init else 0.04, 0.9))
    _announce_device(arguments, result.metadata["training"]["device"])
    report(progress, 0.9, "Measuring the trained model on the training volumes")
    after = labelled_volumes_summary(result.detector, volumes, progress=subrange(progress, 0.9, 0.98))
    result.metadata["name"] = out.name
    result.metadata["training"]["training_volumes_accuracy"] = {"before": _without_nan(before),
                                                                 "after": _without_nan(after)}
    save_detector(result.detector.model, result.metadata, out)
    if arguments.quiet:
        return None
    return "\n".join([f"model: {out} ({len(result.detector.class_names)} organs: "
                      f"{', '.join(result.detector.class_names)})",
                      f"loss by epoch: {', '.join(f'{loss:.3f}' for loss in result.losses)}",
                      _accuracy_line(before, after), _default_box_line(result.metadata, arguments.init)])


def _training_parameters(arguments, parameters):
    """The training parameters, with ``--learning-rate`` as the fine-tuning rate when it is given with ``--init``."""
    from ..cli_options import given_options

    options = given_options(TrainParameters, arguments)
    given = {name: name in options for name in ("learning_rate", "fine_tune_learning_rate")}
    if not arguments.init:
        if given["fine_tune_learning_rate"]:
            raise InputError("--fine-tune-learning-rate applies only when fine-tuning (--init MODEL); to train from "
                             "scratch, set --learning-rate.")
        return parameters
    if given["learning_rate"] and given["fine_tune_learning_rate"]:
        raise InputError("With --init, give the learning rate once: --learning-rate or --fine-tune-learning-rate, "
                         "not both.")
    if given["learning_rate"]:
        return parameters.replace(fine_tune_learning_rate=parameters.learning_rate)
    return parameters


def _check_fine_tuning_organs(arguments):
    """Refuse an ``--organs`` that differs from the organs of the ``--init`` model, which fine-tuning keeps.

    The label maps may name only some of those organs: the others are not taught as
    absent (``--absent-classes ignored``).
    """
    from .organs import select_organs

    classes = _model_classes(arguments.init)
    if arguments.organs and set(select_organs(arguments.organs, classes)) != set(classes):
        raise InputError(f"Fine-tuning keeps the organs of '{arguments.init}' ({', '.join(classes)}); leave "
                         "--organs out (label maps that name only some of them are fine: the others are not "
                         "taught as absent), or train a new model without --init to learn other organs.")


def _training_classes(arguments, volumes):
    """The organs to learn from scratch: ``--organs`` (checked), else the default organs labelled in ``volumes``."""
    from .organs import DEFAULT_ORGANS, select_organs

    present = {name for volume in volumes for name in volume.label_names.values()}
    if arguments.organs:
        return select_organs(arguments.organs, sorted(present | set(DEFAULT_ORGANS)))
    return [name for name in DEFAULT_ORGANS if name in present]


def _without_nan(totals):
    """A :func:`.evaluation.summary` for the model file: None where there was nothing to average (JSON has no NaN)."""
    if totals is None:
        return None
    return {key: None if isinstance(value, float) and math.isnan(value) else value for key, value in totals.items()}


def _accuracy_line(before, after):
    """The model's figures on its training volumes: after training, and before it when fine-tuning."""
    def figures(totals):
        good = round(totals["fraction_iou_0_5"] * totals["organs"])
        return f"mean IoU {totals['mean_iou']:.3f}, IoU >= 0.5 for {good} of {totals['organs']} organs"

    if not after["organs"]:
        return "on the training volumes: none of the model's organs is labelled there, so nothing was measured"
    if before is None:
        return f"on the training volumes: {figures(after)}"
    return f"on the training volumes: before fine-tuning {figures(before)}; after {figures(after)}"


def _default_box_line(metadata, init):
    """The output layers and how well their default boxes fit the training boxes."""
    recall = metadata["anchor_recall"]
    origin = f" (those of {Path(init).name})" if init else ""
    fit = ("no organ box in the training labels to measure the default boxes on" if recall is None
           else f"default-box recall (IoU > 0.5): {recall:.2f}")
    return f"output layers: {', '.join(metadata['output_layers'])}{origin}; {fit}"


def _run_evaluate_detection(arguments, progress):
    """The per-organ comparison with the reference boxes of a label map, as text."""
    from .. import mrml
    from ..cli_options import stage_parameters_from_arguments
    from .evaluation import evaluation_rows, format_evaluation, reference_boxes
    from .model_files import load_detector
    from .nodes import find_organ_boxes

    show_backend_notices(arguments.debug)
    parameters = stage_parameters_from_arguments(DetectParameters, arguments)
    model_path = _model_path(arguments)
    mrml.check_outputs([arguments.image, arguments.labels, model_path],
                       [] if arguments.table is None else [(arguments.table, "table")])
    if arguments.label_names is None:
        raise InputError(f"Give the names of the values of '{arguments.labels}' with --label-names JSON.")
    names = _label_names_for(arguments, arguments.labels)
    organs = _evaluated_organs(arguments, _model_classes(model_path), set(names.values()))
    report(progress, 0.0, "Reading the image and the label map")
    image = mrml.read_volume(arguments.image)
    labels = mrml.read_volume(arguments.labels, labelmap=True)
    mrml.check_label_map(labels, image, label_name=arguments.labels, image_name=arguments.image)
    mrml.check_image(image, label_role="LABELS")
    reference = reference_boxes(labels, names, organs=organs)
    report(progress, 0.03, "Loading the model")
    detector = load_detector(model_path)
    boxes, device = find_organ_boxes(image, model=detector, organs=organs, parameters=parameters,
                                     progress=subrange(progress, 0.05, 0.95))
    _announce_device(arguments, device)
    rows = evaluation_rows(boxes, reference)
    if arguments.table is not None:
        mrml.write_table(mrml.table_from_rows(rows, name="detection evaluation"), arguments.table)
    return format_evaluation(rows)


def _evaluated_organs(arguments, classes, labelled):
    """The organs to compare: ``--organs`` (each one the model's and named in the label names), else all such."""
    from .organs import select_organs

    both = [name for name in classes if name in labelled]
    if arguments.organs is None:
        if not both:
            raise InputError(f"None of the model's organs ({', '.join(classes)}) is named in "
                             f"'{arguments.label_names}'; check that the label names follow the model's "
                             "(TotalSegmentator's) spelling.")
        return both
    organs = select_organs(arguments.organs, classes)
    unlabelled = [name for name in organs if name not in labelled]
    if unlabelled:
        raise InputError(f"'{arguments.label_names}' names no label for {', '.join(unlabelled)}; organs both the "
                         f"model and the labels have: {', '.join(both) or 'none'}.")
    return organs


def add_commands(commands, common):
    """Add the three commands to the main parser's subcommands.

    Parameters
    ----------
    commands : argparse subparsers action
    common : argparse.ArgumentParser
        Parent parser with ``--quiet``, ``--debug``, ``--progress-lines``.
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
                             "(RAS mm), centre, size, grade, views, grade_experimental (default: not written).")
    detect.set_defaults(run=_run_detect)

    train = commands.add_parser(
        "train-detector", parents=[common, stage_parser(TrainParameters, "training options")],
        help="Train or fine-tune an organ detector on labelled volumes.",
        description="Train (or, with --init, fine-tune) the detector on volumes with organ label maps or .seg.nrrd "
                    "segmentations (e.g. TotalSegmentator's outputs). The model file keeps its classes, pixel size, "
                    "normalisation, default boxes, this command and a summary of the data. The command prints the "
                    "model's mean IoU on the training volumes' organs after training, and with --init before too.")
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
    train.add_argument("--background-images", nargs="*", default=[], metavar="IMAGE",
                       help="Scans that hold none of the organs (another body region, e.g. a head or a knee): "
                            "every box on them is taught as background (default: none).")
    train.add_argument("--phantoms", type=int, default=0, metavar="N",
                       help="Also train on N generated CT and MR phantoms (liver with a lesion, spleen, kidneys, "
                            "aorta) (default: 0).")
    train.add_argument("--out", required=True, metavar="MODEL.keras",
                       help="The model file to write (required; no default).")
    train.add_argument("--init", metavar="MODEL.keras",
                       help="Fine-tune this model: it keeps its organs and boxes and learns at "
                            "--fine-tune-learning-rate, or at --learning-rate when that is given (default: train from "
                            "scratch).")
    train.set_defaults(run=_run_train_detector)

    evaluate = commands.add_parser(
        "evaluate-detection", parents=[common, model, detection],
        help="Compare detected organ boxes with a label map: 3-D IoU, wall and centroid distance (mm).",
        description="Detect the organs of IMAGE and compare each box with the bounding box of the organ in LABELS "
                    "(both axis-aligned in RAS): 3-D IoU, wall distance (mean of the 6 faces' distances) and "
                    "centroid distance, in mm.")
    evaluate.add_argument("image", metavar="IMAGE", help="Input volume.")
    evaluate.add_argument("labels", metavar="LABELS", help="Organ label map (any grid).")
    evaluate.add_argument("--label-names", metavar="JSON",
                          help="Label value -> organ name (as for train-detector; required, no default).")
    evaluate.add_argument("--table", metavar="OUT.csv", help="Also write the table (default: printed only).")
    evaluate.set_defaults(run=_run_evaluate_detection)
