"""The multi-task loss (Keras ops only): localisation + classification with hard-negative mining + grade.

Per slice, with P matched default boxes (SSD, Liu et al. 2016):

- localisation: smooth L1 of the box offsets of the matched boxes;
- classification: softmax cross-entropy of the matched boxes and of the
  ``negatives_per_positive * P`` background boxes with the highest loss (hard-negative
  mining, 3:1 in SSD; :data:`EMPTY_SLICE_NEGATIVES` on a slice without organs); boxes
  whose class target is negative (ignored) are neither;
- grade: binary cross-entropy of the grade logit of the matched boxes whose grade is
  known, times ``grade_weight``;

the sum divided by ``max(P, 1)``.

Partial labels (the marginal loss of Shi et al. 2021, "Marginal loss and exclusion
loss for partially supervised multi-organ segmentation", Medical Image Analysis 70):
on a slice whose case does not label every class, a background box may hold an
unlabelled organ, so its target is "background or any unlabelled class", with loss
``-log(p_background + sum of p_c over the unlabelled classes c)``; hard-negative
mining ranks the background boxes by that loss. With every class labelled it is
the plain cross-entropy.

Distillation (fine-tuning on partial labels; learning without forgetting, Li and
Hoiem 2016, for detectors Shmelkov et al. 2017): the targets may also carry the
outputs of the model before fine-tuning (the teacher) for every default box. Where
the teacher gives one of the slice's unlabelled classes a probability of at least
:data:`DISTILLED_PROBABILITY`, the box is taught the teacher's class probabilities
(soft cross-entropy) and box offsets (smooth L1), times ``distillation_weight``, and
counts as a matched box in the normalisation. What the labels do not say, the model
keeps from before.
"""

from .backend import import_keras

ops = import_keras().ops

#: Background boxes kept on a slice without any organ.
EMPTY_SLICE_NEGATIVES = 16
#: A default box is distilled where the teacher gives an unlabelled class at least this probability.
DISTILLED_PROBABILITY = 0.5


def smooth_l1(difference):
    """Huber loss with delta 1, elementwise."""
    absolute = ops.abs(difference)
    return ops.where(absolute < 1.0, 0.5 * difference * difference, absolute - 0.5)


def detection_loss(num_classes, *, negatives_per_positive=3.0, grade_weight=0.5, distillation_weight=1.0):
    """The loss function ``loss(y_true, y_pred) -> (batch,)`` for ``model.compile``.

    Parameters
    ----------
    num_classes : int
        Organ classes (without the background).
    negatives_per_positive : float
    grade_weight : float
    distillation_weight : float
        Weight of the distillation terms, where ``y_true`` carries the teacher's outputs.

    Returns
    -------
    callable
        ``y_true`` is :func:`clinicalimaging.detect.targets.match_targets` stacked per
        slice, ``(batch, boxes, 6)`` (every class labelled) or ``(batch, boxes, 6 +
        num_classes)`` (with the labelled classes), the latter optionally followed by
        the teacher's box offsets (4) and class logits (``num_classes + 1``);
        ``y_pred`` the model output.
    """
    def loss(y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")
        target = ops.cast(y_true[..., 4], "int32")
        known_class = ops.cast(target >= 0, "float32")
        classes = ops.maximum(target, 0)
        positive = ops.cast(classes > 0, "float32")
        positives = ops.sum(positive, axis=1)
        localisation = ops.sum(ops.sum(smooth_l1(y_pred[..., :4] - y_true[..., :4]), axis=-1) * positive, axis=1)
        log_probabilities = ops.log_softmax(y_pred[..., 4:5 + num_classes], axis=-1)
        cross_entropy = -ops.logsumexp(ops.where(_target_classes(y_true, classes, positive, num_classes) > 0,
                                                 log_probabilities, -1e9), axis=-1)
        distilled, distillation = _distillation(y_true, y_pred, positive, log_probabilities, num_classes)
        negative_loss = ops.where(positive + distilled + (1.0 - known_class) > 0, -1.0, cross_entropy)
        rank = ops.argsort(ops.argsort(-negative_loss, axis=1), axis=1)
        wanted = ops.where(positives > 0, negatives_per_positive * positives, float(EMPTY_SLICE_NEGATIVES))
        background = ops.maximum(known_class - positive - distilled, 0.0)
        hard_negative = ops.cast(ops.cast(rank, "float32") < wanted[:, None], "float32") * background
        classification = ops.sum(cross_entropy * (positive + hard_negative), axis=1)
        known = positive * ops.cast(y_true[..., 5] >= 0, "float32")
        grade_logit = y_pred[..., 5 + num_classes]
        grade_true = ops.maximum(y_true[..., 5], 0.0)
        grade = ops.sum(ops.binary_crossentropy(grade_true, grade_logit, from_logits=True) * known, axis=1)
        matched = positives + ops.sum(distilled, axis=1)
        return ((localisation + classification + grade_weight * grade + distillation_weight * distillation)
                / ops.maximum(matched, 1.0))

    return loss


def _distillation(y_true, y_pred, positive, log_probabilities, num_classes):
    """Which boxes are distilled ``(batch, boxes)`` and their summed loss ``(batch,)``; zeros without a teacher."""
    if y_true.shape[-1] <= 6 + num_classes:
        none = ops.zeros_like(positive)
        return none, ops.sum(none, axis=1)
    teacher_boxes = y_true[..., 6 + num_classes:10 + num_classes]
    teacher = ops.softmax(y_true[..., 10 + num_classes:11 + 2 * num_classes], axis=-1)
    unlabelled = 1.0 - ops.cast(y_true[..., 6:6 + num_classes], "float32")
    unlabelled_probability = ops.max(teacher[..., 1:] * unlabelled, axis=-1)
    distilled = ops.cast(unlabelled_probability >= DISTILLED_PROBABILITY, "float32") * (1.0 - positive)
    soft_cross_entropy = -ops.sum(teacher * log_probabilities, axis=-1)
    offsets = ops.sum(smooth_l1(y_pred[..., :4] - teacher_boxes), axis=-1)
    return distilled, ops.sum((soft_cross_entropy + offsets) * distilled, axis=1)


def _target_classes(y_true, classes, positive, num_classes):
    """Per box, 1 for each class its target allows, shape ``(batch, boxes, num_classes + 1)``.

    A matched box allows its class; a background box the background and the classes
    its case does not label (columns 6 on of ``y_true``; all labelled without them).
    """
    one_hot = ops.one_hot(classes, num_classes + 1)
    if y_true.shape[-1] == 6:
        return one_hot
    unlabelled = 1.0 - ops.cast(y_true[..., 6:6 + num_classes], "float32")
    background = ops.concatenate([ops.ones_like(unlabelled[..., :1]), unlabelled], axis=-1)
    return ops.where(positive[..., None] > 0, one_hot, background)
