"""Training a detector: default boxes from k-means, the network, and the fit loop.

1. The training volumes go onto the canonical grid (:mod:`.cases`).
2. The sizes of every organ box on every training slice are clustered by k-means
   with the 1 - IoU distance (:func:`.boxes.kmeans_sizes`); the clusters choose the
   output layers and give the default boxes' aspect ratios and widths
   (:func:`.boxes.choose_output_layers`, :func:`.boxes.layer_box_sizes`). Fine-tuning
   (``init``) keeps the model's layers, boxes and classes.
3. Keras fits the network on randomly drawn, augmented slices (:mod:`.sampling`) with
   Adam and a cosine learning-rate decay, every random choice seeded; fine-tuning
   starts from a smaller rate (``fine_tune_learning_rate``) than training from scratch.
   Classes that a case's label map does not name are not taught as background there
   (``absent_classes``, the marginal loss of :mod:`.losses`); when fine-tuning, the
   model's own detections of those classes before fine-tuning stay targets
   (``distillation_weight``, learning without forgetting).
"""

import dataclasses
import time

import numpy as np

from ..errors import InputError
from ..progress import report, subrange
from .anatomy import organ_size_ranges
from .backend import import_keras
from .boxes import (OUTPUT_LAYER_CANDIDATES, anchor_recall, choose_output_layers, default_boxes, kmeans_sizes,
                    layer_box_sizes, mean_best_iou)
from .cases import UNKNOWN_CLASS, case_slice_boxes, grid_case
from .organs import mirror_swaps
from .parameters import VIEWS, TrainParameters
from .sampling import augmented_slice, training_slices, view_slice
from .synthesis import synthesis_source
from .synthetic_pool import SyntheticPool, held_apart_volumes
from .targets import match_targets

STRIDES = {candidate.name: candidate.stride for candidate in OUTPUT_LAYER_CANDIDATES}
#: Every this-many-th synthetic volume holds random shapes and no organ.
SHAPES_EVERY = 8


@dataclasses.dataclass
class TrainingResult:
    """What :func:`train_detector` returns.

    Attributes
    ----------
    detector : Detector
    losses : list of float
        Mean training loss of each epoch.
    metadata : dict
        The model's description, as saved with it.
    """

    detector: object
    losses: list
    metadata: dict


def training_box_sizes(cases):
    """The sizes ``(N, 2)`` (w, h px) of every organ box of at least 2 px on every slice of every view of the cases."""
    sizes = []
    for case in cases:
        for view in VIEWS:
            axis = {"axial": 0, "coronal": 1, "sagittal": 2}[view]
            for index in range(case.classes.shape[axis]):
                boxes, _, _ = case_slice_boxes(view_slice(case.classes, view, index))
                sizes.append(boxes[:, 2:] - boxes[:, :2])
    sizes = np.concatenate(sizes) if sizes else np.zeros((0, 2))
    return sizes[(sizes >= 2).all(axis=1)]


def default_box_recall(sizes, strides, box_sizes, seed):
    """Fraction of training boxes whose best default box has IoU > 0.5, the boxes placed among the default boxes.

    Parameters
    ----------
    sizes : ndarray, shape (N, 2)
        Training box sizes (:func:`training_box_sizes`); at most 2000 of them, drawn
        at random, are placed at random centres in the middle half of a 256-pixel slice.
    strides, box_sizes
        The output layers' strides and default-box sizes, as in a model's description.
    seed : int

    Returns
    -------
    float or None
        None when there is no training box.
    """
    if not len(sizes):
        return None
    grid_size = 256
    anchors = default_boxes([(grid_size // s, grid_size // s) for s in strides], strides, box_sizes)
    rng = np.random.default_rng(seed)
    sample = sizes[rng.choice(len(sizes), min(len(sizes), 2000), replace=False)]
    centres = rng.uniform(grid_size * 0.25, grid_size * 0.75, (len(sample), 2))
    placed = np.concatenate([centres - sample / 2, centres + sample / 2], axis=1)
    return round(float(anchor_recall(placed, anchors)), 4)


def box_layout(cases, clusters, seed):
    """Output layers and default boxes from k-means (1 - IoU) over the training boxes' sizes.

    Returns
    -------
    dict
        ``output_layers``, ``strides``, ``box_sizes`` (per layer, list of [w, h] px),
        ``kmeans_mean_iou`` and ``anchor_recall`` (:func:`default_box_recall`).
    """
    sizes = training_box_sizes(cases)
    if len(sizes) < clusters:
        raise InputError(f"The training labels give only {len(sizes)} organ boxes on all slices; at least "
                         f"{clusters} (--clusters) are needed. Give more or larger labelled volumes.")
    centroids = kmeans_sizes(sizes, clusters, distance="iou", seed=seed)
    assignment = choose_output_layers(centroids)
    per_layer = layer_box_sizes(centroids, assignment)
    layers = list(per_layer)
    box_sizes = [np.asarray(per_layer[name]).round(2).tolist() for name in layers]
    strides = [STRIDES[name] for name in layers]
    return {"output_layers": layers, "strides": strides, "box_sizes": box_sizes,
            "kmeans_centroids": np.asarray(centroids).round(2).tolist(),
            "kmeans_mean_iou": round(float(mean_best_iou(sizes, centroids)), 4),
            "anchor_recall": default_box_recall(sizes, strides, box_sizes, seed)}


def inherited_box_layout(cases, init, seed):
    """The output layers and default boxes of the model ``init``, with their recall on these cases' boxes.

    Returns
    -------
    dict
        As :func:`box_layout` without the k-means figures; ``anchor_recall`` is None
        when the cases have no organ box.
    """
    layout = {key: init.metadata[key] for key in ("output_layers", "strides", "box_sizes")}
    layout["anchor_recall"] = default_box_recall(training_box_sizes(cases), layout["strides"], layout["box_sizes"],
                                                 seed)
    return layout


def _batches(cases, samples, anchors, parameters, swaps, seed, pool=None, teacher=None):
    """A Keras dataset of augmented, matched training batches; batch ``b`` of epoch ``e`` is seeded by (seed, e, b).

    With a :class:`.synthetic_pool.SyntheticPool`, each slice is drawn from it with
    probability ``parameters.synthetic_fraction``, and the pool is refreshed after each epoch.
    With a ``teacher`` (a Keras model, the detector before fine-tuning), its box offsets
    and class logits on the batch follow the targets (see :mod:`.losses`).
    """
    keras = import_keras()

    class Slices(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)
            self.epoch = 0

        def __len__(self):
            return max(1, parameters.slices_per_epoch // parameters.batch_size)

        def __getitem__(self, batch):
            rng = np.random.default_rng((seed, self.epoch, batch))
            inputs, targets = [], []
            numbers = rng.integers(0, len(samples), parameters.batch_size)
            synthetic = (rng.random(parameters.batch_size) < parameters.synthetic_fraction if pool is not None
                         else np.zeros(parameters.batch_size, bool))
            for number, drawn in zip(numbers, synthetic):
                if drawn:
                    case, view, index = pool.draw(rng)
                else:
                    number, view, index = samples[number]
                    case = cases[number]
                image, boxes, classes, grades, unknown, labelled = augmented_slice(case, view, index, parameters,
                                                                                   swaps, rng)
                if parameters.absent_classes == "background":
                    labelled = np.ones_like(labelled)
                inputs.append(image)
                targets.append(match_targets(anchors, boxes, classes, grades, unknown_boxes=unknown,
                                             labelled=labelled))
            inputs, targets = np.stack(inputs), np.stack(targets)
            if teacher is not None:
                outputs = keras.ops.convert_to_numpy(teacher(inputs, training=False))
                targets = np.concatenate([targets, outputs[..., :-1]], axis=-1)  # without the grade logit
            return inputs, targets

        def on_epoch_end(self):
            self.epoch += 1
            if pool is not None:
                pool.refresh(self.epoch)

    return Slices()


def synthetic_pool(sources, class_names, pixel_mm, parameters, progress=None):
    """The pool of synthetic training cases drawn from the label maps, or None without synthesis.

    Without a source (every training volume background-only) the pool holds random shapes.
    """
    if parameters.synthetic_fraction <= 0:
        return None
    report(progress, 0.0, "Drawing synthetic training volumes")
    pool = SyntheticPool(sources, class_names, pixel_mm, parameters.view_names(), size=parameters.synthetic_volumes,
                         refresh=parameters.synthetic_refresh, shapes_every=SHAPES_EVERY, seed=parameters.seed)
    report(progress, 1.0, "Drawing synthetic training volumes")
    return pool


def _progress_callback(progress, epochs, steps):
    keras = import_keras()

    class Progress(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epoch, self.losses = 0, []

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            loss = (logs or {}).get("loss", float("nan"))
            report(progress, (self.epoch * steps + batch + 1) / (epochs * steps),
                   f"Training: epoch {self.epoch + 1} of {epochs}, loss {float(loss):.3f}")

        def on_epoch_end(self, epoch, logs=None):
            self.losses.append(float((logs or {}).get("loss", float("nan"))))

    return Progress()


def train_detector(volumes, class_names, parameters=None, *, init=None, command="", progress=None):
    """Train (or fine-tune) an organ detector.

    Parameters
    ----------
    volumes : sequence of LabelledVolume
    class_names : sequence of str
        The organs to learn, TotalSegmentator names; ignored with ``init`` (its classes).
    parameters : TrainParameters, optional
    init : Detector, optional
        A model to fine-tune; keeps its classes, output layers and default boxes, and
        learns at ``parameters.fine_tune_learning_rate`` instead of ``learning_rate``.
    command : str
        The command line, saved in the model's description.
    progress : callable, optional

    Returns
    -------
    TrainingResult

    Raises
    ------
    InputError
        No organ to learn, or too few organ boxes for the k-means (found before
        this function loads Keras).
    """
    parameters = parameters or TrainParameters()
    started = time.perf_counter()
    if init is not None:
        class_names = init.class_names
        pixel_mm = float(init.metadata["pixel_mm"])
    else:
        class_names, pixel_mm = list(class_names), parameters.pixel_mm
    if not class_names:
        raise InputError("No organs to train; give --organs or label names that match the label maps.")
    report(progress, 0.0, "Resampling the training volumes")
    cases = [grid_case(volume, class_names, pixel_mm) for volume in volumes]
    synthesis = parameters.synthetic_fraction > 0 or parameters.calibration_volumes > 0
    sources = [synthesis_source(volume, pixel_mm) for volume in volumes if synthesis and not volume.background_only]
    pool = synthetic_pool(sources, class_names, pixel_mm, parameters, subrange(progress, 0.01, 0.05))
    if init is None:
        layout = box_layout(cases + (pool.cases if pool else []), parameters.clusters, parameters.seed)
        learning_rate = parameters.learning_rate
    else:
        layout = inherited_box_layout(cases, init, parameters.seed)
        learning_rate = parameters.fine_tune_learning_rate
    report(progress, 0.05, "Building the network")
    keras = import_keras()

    from .calibration import calibrate_detector
    from .device import configure_device
    from .losses import detection_loss
    from .model import build_detector
    from .model_files import Detector

    device = configure_device()
    keras.utils.set_random_seed(parameters.seed)
    if init is None:
        model = build_detector(num_classes=len(class_names), output_layers=layout["output_layers"],
                               boxes_per_layer=[len(sizes) for sizes in layout["box_sizes"]], width=parameters.width)
    else:
        model = init.model
    crop = parameters.crop_px
    anchors = default_boxes([(crop // s, crop // s) for s in layout["strides"]], layout["strides"],
                            layout["box_sizes"])
    rng = np.random.default_rng(parameters.seed)
    samples = training_slices(cases, parameters.view_names(), rng)
    dataset = _batches(cases, samples, anchors, parameters, mirror_swaps(class_names, offset=1), parameters.seed,
                       pool, _teacher(init, cases, parameters))
    steps = len(dataset)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, parameters.epochs * steps, alpha=0.05)
    grade = parameters.grade_weight > 0 and any(volume.lesion_names for volume in volumes)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=detection_loss(len(class_names), negatives_per_positive=parameters.negatives_per_positive,
                                      grade_weight=parameters.grade_weight if grade else 0.0,
                                      distillation_weight=parameters.distillation_weight))
    callback = _progress_callback(subrange(progress, 0.05, 0.9), parameters.epochs, steps)
    model.fit(dataset, epochs=parameters.epochs, verbose=0, callbacks=[callback], shuffle=False)
    metadata = {
        "class_names": list(class_names), "pixel_mm": pixel_mm, "modality": "auto",
        "grade": bool(grade or (init is not None and init.grade)), "views": list(parameters.view_names()),
        "width": parameters.width if init is None else init.metadata.get("width"), **layout,
        "organ_size_mm": organ_size_ranges(cases, class_names),
        "training": {"command": command, "parameters": parameters.to_dict(), "device": device,
                     "backend": keras.backend.backend(), "keras": keras.__version__,
                     "seconds": round(time.perf_counter() - started, 1), "epoch_losses": callback.losses,
                     "slices": len(samples), "synthetic_volumes_drawn": pool.drawn if pool else 0,
                     "fine_tuned_from": None if init is None else init.metadata.get("name"),
                     "cases": [_case_summary(volume, case, class_names) for volume, case in zip(volumes, cases)]},
    }
    detector = Detector(model, metadata)
    if parameters.calibration_volumes:
        report(progress, 0.9, "Calibrating the scores on held-apart synthetic volumes")
        held_apart = held_apart_volumes(sources, pixel_mm, parameters.calibration_volumes, parameters.seed)
        metadata["score_calibration"] = calibrate_detector(detector, held_apart,
                                                           progress=subrange(progress, 0.9, 0.99))
    report(progress, 1.0, "Training finished")
    return TrainingResult(detector, callback.losses, metadata)


def _teacher(init, cases, parameters):
    """A frozen copy of the model being fine-tuned, when some case leaves classes unlabelled; else None."""
    partial = any(not case.labelled.all() for case in cases)
    if init is None or parameters.distillation_weight <= 0 or parameters.absent_classes != "ignored" or not partial:
        return None
    keras = import_keras()
    teacher = keras.models.clone_model(init.model)
    teacher.set_weights(init.model.get_weights())
    teacher.trainable = False
    return teacher


def _case_summary(volume, case, class_names):
    """A training case as the model's description records it.

    ``organs`` are the classes it shows; ``labelled_organs`` those its label map can
    show (the others may lie in its background, see ``absent_classes``).
    """
    present = np.unique(case.classes)
    return {"name": volume.name, "shape": list(np.shape(volume.image)), "modality": case.modality,
            "organs": [class_names[value - 1] for value in present if 0 < value != UNKNOWN_CLASS],
            "labelled_organs": [name for name, labelled in zip(class_names, case.labelled) if labelled],
            "lesion_labels": list(volume.lesion_names)}
