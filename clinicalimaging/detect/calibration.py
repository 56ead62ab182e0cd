"""Score calibration: the raw fused score mapped onto the probability that a box is right (numpy and scipy).

The fused score of an organ (:func:`.aggregate.fuse_views`) ranks boxes but is no
probability: on the shipped model a brain MRI's "liver" scores 0.37 and a real CT's
liver 0.49. Calibration fits, on labelled volumes the model was not trained on,

    P(right | raw) = 1 / (1 + exp(-(a * logit(raw) + b))),

Platt scaling (Platt 1999) on the logit of the score, which is temperature scaling
plus a bias (Guo et al. 2017, "On calibration of modern neural networks"). A box is
*right* when its 3-D IoU with the reference box of its organ is at least 0.5; a box for
an organ the volume does not hold is wrong.

With few records a logistic fit is fragile: it diverges when the scores separate right
from wrong perfectly and follows noise otherwise. Two safeguards:

- Platt's targets: a right box counts as ``(N+ + 1) / (N+ + 2)``, a wrong one as
  ``1 / (N- + 2)`` instead of 1 and 0 (Platt 1999, section 2.2), a prior that keeps
  the fit finite and pulls it towards the base rate when records are few;
- the slope ``a`` is at least 0: a higher raw score never means a lower probability.

With no record at all there is nothing to fit: the result has ``kind`` ``"none"`` and
the model reports raw scores (:func:`.model_scope.calibrated_score`).
"""

import numpy as np
import scipy.optimize
import scipy.special

from ..metrics import box_iou_3d
from ..progress import subrange
from .reference import reference_boxes_in_array
from .inference import detect_organs_in_array
from .model_files import Detector
from .model_scope import PLATT, platt_probability, score_logit
from .organs import covered_classes
from .parameters import VIEWS, DetectParameters

#: A box is right when its 3-D IoU with the organ's reference box is at least this.
RIGHT_IOU = 0.5
#: Equal-width probability bins of the expected calibration error (Guo et al. 2017 use 15; 10 suits few records).
ECE_BINS = 10


def _uncalibrated(detector):
    """The detector with its raw scores: the same network, its description without ``score_calibration``."""
    metadata = {key: value for key, value in detector.metadata.items() if key != "score_calibration"}
    return Detector(detector.model, metadata)


def _judged_organs(volume, class_names):
    """Organ -> whether the volume's labels can say if a box of it is right (True), or nothing (absent from dict).

    A volume whose label names name none of the classes (nor a coarser label over them),
    or that is ``background_only``, holds none of them: every class is judged (a box is
    wrong). Otherwise the classes it names are judged, and the others (unlabelled, or
    under a coarser label such as ``vertebrae``) are not: their organs may be there.
    """
    names = set(volume.label_names.values())
    covered = {organ for name in names for organ in covered_classes(name, class_names)}
    named = [organ for organ in class_names if organ in names]
    if volume.background_only or not (named or covered):
        return dict.fromkeys(class_names, True)
    return dict.fromkeys(named, True)


def calibration_records(detector, volumes, *, parameters=None, progress=None):
    """Raw scores of a detector's boxes on labelled volumes, each marked right or wrong.

    Every volume is searched for every organ of the model without calibration and with
    ``score_threshold`` 0 (the other parameters as given), so each organ found gives a
    record. The volumes must be held apart from the training volumes, and should
    include scans with none of the organs (e.g. :func:`.cases.background_volume`).

    Parameters
    ----------
    detector : Detector
    volumes : sequence of LabelledVolume
        Reference boxes from their label maps (:func:`.reference.reference_boxes_in_array`).
        A volume whose label names name none of the model's organs (or that is
        ``background_only``) holds none: its boxes are wrong. A volume that names some
        organs judges only those: a box of an organ it does not name (or names only
        through a coarser label, such as ``vertebrae``) gives no record.
    parameters : DetectParameters, optional
        Default: the default parameters, axial slices only for a detector trained on
        axial slices only.
    progress : callable, optional

    Returns
    -------
    list of dict
        One per judged box: ``volume`` (name), ``organ``, ``score`` (raw, in [0, 1]),
        ``iou`` (3-D IoU with the reference box; 0 when the organ is absent) and
        ``right`` (``iou >= RIGHT_IOU``).
    """
    if parameters is None:
        views = "auto" if len(detector.metadata.get("views", VIEWS)) == len(VIEWS) else "axial"
        parameters = DetectParameters(views=views)
    parameters = parameters.replace(score_threshold=0.0)
    raw = _uncalibrated(detector)
    records = []
    for number, volume in enumerate(volumes):
        judged = _judged_organs(volume, detector.class_names)
        labelled = [organ for organ in judged if organ in volume.label_names.values()]
        reference = reference_boxes_in_array(volume.labels, volume.ijk_to_ras, volume.label_names, organs=labelled,
                                             name=volume.name) if labelled else {}
        boxes = detect_organs_in_array(volume.image, volume.ijk_to_ras, raw, parameters=parameters,
                                       progress=subrange(progress, number / len(volumes), (number + 1) / len(volumes)))
        for box in boxes:
            if box.organ not in judged:
                continue
            iou = box_iou_3d((box.ras_min, box.ras_max), reference[box.organ]) if box.organ in reference else 0.0
            records.append({"volume": volume.name, "organ": box.organ, "score": float(box.score), "iou": float(iou),
                            "right": bool(iou >= RIGHT_IOU)})
    return records


def _platt_fit(scores, right):
    """Slope and intercept of Platt's fit: cross-entropy with Platt's targets, slope >= 0."""
    logits = score_logit(scores)
    positives = int(right.sum())
    targets = np.where(right, (positives + 1) / (positives + 2), 1 / (len(right) - positives + 2))

    def loss(parameters):
        linear = parameters[0] * logits + parameters[1]
        # log(1 + exp(z)) - t * z, the cross-entropy of sigmoid(z) with target t, written stably.
        value = np.logaddexp(0.0, linear) - targets * linear
        gradient = 1.0 / (1.0 + np.exp(-linear)) - targets
        return value.sum(), np.array([gradient @ logits, gradient.sum()])

    fit = scipy.optimize.minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B",
                                  bounds=[(0.0, None), (None, None)])
    return float(fit.x[0]), float(fit.x[1])


def expected_calibration_error(probabilities, right, bins=ECE_BINS):
    """Expected calibration error: the record-weighted mean |mean probability - fraction right| over equal-width bins.

    Parameters
    ----------
    probabilities : array_like, shape (N,)
        In [0, 1].
    right : array_like of bool, shape (N,)
    bins : int

    Returns
    -------
    float
        In [0, 1]; NaN without records.
    """
    probabilities, right = np.asarray(probabilities, np.float64), np.asarray(right, bool)
    if not len(probabilities):
        return float("nan")
    which = np.minimum((probabilities * bins).astype(int), bins - 1)
    error = 0.0
    for number in np.unique(which):
        members = which == number
        error += members.sum() * abs(probabilities[members].mean() - right[members].mean())
    return float(error / len(probabilities))


def fit_score_calibration(records):
    """A Platt mapping of the raw score onto the probability of being right, for the model's description.

    Parameters
    ----------
    records : sequence of dict
        :func:`calibration_records` (``score``, ``right`` and ``volume`` are used).

    Returns
    -------
    dict
        JSON-able, for ``metadata["score_calibration"]``: ``kind`` (:data:`.model_scope.PLATT`,
        or ``"none"`` without records), ``parameters`` (``slope``, ``intercept``: the
        probability is ``sigmoid(slope * logit(raw) + intercept)``), ``records``,
        ``right`` (records right), ``volumes`` (volumes with a record), and the
        reliability on these records: ``base_rate`` (fraction right),
        ``ece`` and ``ece_raw`` (:func:`expected_calibration_error` of the calibrated
        and of the raw scores), ``above_0_5`` (records whose calibrated score is at
        least 0.5) and ``fraction_right_above_0_5`` (of them, the fraction right;
        None when there is none), ``raw_at_0_5`` (the raw score that maps to 0.5; None
        for a flat mapping).
    """
    scores = np.array([record["score"] for record in records], np.float64)
    right = np.array([record["right"] for record in records], bool)
    counts = {"records": len(records), "right": int(right.sum()),
              "volumes": len({record["volume"] for record in records})}
    if not len(records):
        return {"kind": "none", **counts}
    slope, intercept = _platt_fit(scores, right)
    probabilities = platt_probability(scores, slope, intercept)
    above = probabilities >= 0.5
    return {"kind": PLATT, "parameters": {"slope": slope, "intercept": intercept}, **counts,
            "base_rate": float(right.mean()),
            "ece": expected_calibration_error(probabilities, right),
            "ece_raw": expected_calibration_error(scores, right),
            "above_0_5": int(above.sum()),
            "fraction_right_above_0_5": float(right[above].mean()) if above.any() else None,
            "raw_at_0_5": float(scipy.special.expit(-intercept / slope)) if slope > 0 else None}


def calibrate_detector(detector, volumes, parameters=None, progress=None):
    """:func:`calibration_records` and :func:`fit_score_calibration` in one call.

    Parameters
    ----------
    detector : Detector
    volumes : sequence of LabelledVolume
        Held apart from the training volumes; include scans without the organs.
    parameters : DetectParameters, optional
    progress : callable, optional

    Returns
    -------
    dict
        :func:`fit_score_calibration`, with ``volumes`` the number of volumes given;
        store it as ``metadata["score_calibration"]`` of the model.
    """
    records = calibration_records(detector, volumes, parameters=parameters, progress=progress)
    return {**fit_score_calibration(records), "volumes": len(volumes)}
