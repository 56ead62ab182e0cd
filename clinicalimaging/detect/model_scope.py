"""What a model's outputs mean and where they hold: score calibration, the anatomy it knows, its grade (numpy only).

Everything here reads the model's description (:func:`.model_files.read_metadata`):

- ``metadata["score_calibration"]`` (written by :mod:`.calibration`): a Platt mapping of
  the raw fused score onto the probability that the box is right (3-D IoU >= 0.5 with
  the organ's true box); :func:`calibrated_score` applies it.
- ``metadata["training"]["cases"]``: the organs each training volume shows. An organ's
  *companions* are the organs that come with it in training (:func:`organ_companions`);
  a scan in which no organ is found with its companions shows no anatomy the model
  knows (:func:`anatomical_context`), e.g. a brain MRI for an abdominal model.
- whether the grade head ever saw a real lesion (:func:`grade_is_experimental`).
"""

import numpy as np

#: ``metadata["score_calibration"]["kind"]`` of a Platt mapping on the logit of the raw score.
PLATT = "platt-logit"
#: Raw scores are clipped to [EPSILON, 1 - EPSILON] before their logit.
EPSILON = 1e-6
#: An organ's companions: the organs present in at least this share of the training volumes that show it.
COMPANION_SHARE = 0.8
#: A scan in which some organ is found with at least this raw fused score shows anatomy the model knows.
CONFIDENT_SCORE = 0.6
#: Prefix of the names of phantom training volumes (:func:`.cases.phantom_volumes`).
PHANTOM_PREFIX = "phantom-"
#: Organs named in :func:`out_of_scope_message` before the count of the others.
_NAMED_ORGANS = 8


def score_logit(scores):
    """The logit of raw scores in [0, 1] (clipped to [EPSILON, 1 - EPSILON]); float or ndarray as given."""
    clipped = np.clip(np.asarray(scores, dtype=np.float64), EPSILON, 1.0 - EPSILON)
    return np.log(clipped) - np.log1p(-clipped)


def platt_probability(scores, slope, intercept):
    """``1 / (1 + exp(-(slope * logit(score) + intercept)))``: the probability of a raw score being right."""
    return 1.0 / (1.0 + np.exp(-(slope * score_logit(scores) + intercept)))


def calibrated_score(raw, metadata):
    """The score a model reports: its calibrated probability when the model has a calibration, else the raw score.

    Parameters
    ----------
    raw : float
        The fused score in [0, 1] (:func:`.aggregate.fuse_views`).
    metadata : dict
        The model's description; ``metadata["score_calibration"]`` of kind :data:`PLATT`
        maps the score, anything else leaves it as it is.

    Returns
    -------
    float
        In [0, 1]; monotone non-decreasing in ``raw``.
    """
    calibration = metadata.get("score_calibration") or {}
    if calibration.get("kind") != PLATT:
        return float(raw)
    parameters = calibration["parameters"]
    return float(platt_probability(raw, parameters["slope"], parameters["intercept"]))


def organ_companions(metadata, share=COMPANION_SHARE):
    """The organs each organ comes with in the model's training volumes.

    Parameters
    ----------
    metadata : dict
        ``metadata["training"]["cases"][n]["organs"]``: the classes training volume
        ``n`` shows.
    share : float
        An organ B is a companion of A when B is present in at least this share of the
        training volumes that show A.

    Returns
    -------
    dict of str to list of str
        Organ -> its companions in class order; an organ without companions (alone in a
        training volume too often), or without a record, is left out.
    """
    cases = [set(case.get("organs", ())) for case in metadata.get("training", {}).get("cases", ())]
    companions = {}
    for organ in metadata["class_names"]:
        showing = [organs for organs in cases if organ in organs]
        together = [other for other in metadata["class_names"] if other != organ
                    and sum(other in organs for organs in showing) >= share * len(showing)]
        if showing and together:
            companions[organ] = together
    return companions


def anatomical_context(raw_scores, companions):
    """How much of the anatomy the model knows a scan shows: the best organ's mean companion score.

    For each organ found, the mean raw score of its companions (0 for a companion not
    found); the largest such mean over the organs found. On the shipped abdominal model
    it is 0.57-0.75 on abdominal CT and MR and 0.14 on a brain MRI
    (``docs/detection.md``, Scores and out-of-scope scans).

    Parameters
    ----------
    raw_scores : dict of str to float
        Organ -> raw fused score of every organ found, whatever the threshold.
    companions : dict of str to list of str
        :func:`organ_companions`.

    Returns
    -------
    float or None
        In [0, 1]; None when no organ found has companions (nothing to judge by).
    """
    means = [np.mean([raw_scores.get(other, 0.0) for other in companions[organ]])
             for organ in raw_scores if organ in companions]
    return float(max(means)) if means else None


def scan_in_scope(raw_scores, metadata, min_context):
    """Whether a scan shows anatomy the model knows.

    It does when one organ is found with a raw score of at least
    :data:`CONFIDENT_SCORE`, or when :func:`anatomical_context` is at least
    ``min_context``. Either is enough: a scan of part of the body (the pelvis alone)
    shows few of an organ's training companions but some organ clearly, while on a scan
    of another body region every box is weak and comes alone. A scan in which no organ
    is found, or only organs without companions, is in scope (there is nothing to
    judge by); ``min_context`` 0 turns the check off.
    """
    if min_context <= 0 or max(raw_scores.values(), default=0.0) >= CONFIDENT_SCORE:
        return True
    context = anatomical_context(raw_scores, organ_companions(metadata))
    return context is None or context >= min_context


def grade_is_experimental(metadata):
    """Whether the model's lesion probability (grade) was learnt without a real lesion label.

    A grade is experimental unless a training volume that is not a phantom (its name
    does not start with :data:`PHANTOM_PREFIX`) records lesion labels
    (``metadata["training"]["cases"][n]["lesion_labels"]``, non-empty): a grade head
    trained on the phantoms' smooth spherical lesions only says nothing reliable about a
    patient's lesion.

    Returns
    -------
    bool
        False for a model without a grade head.
    """
    if not metadata.get("grade"):
        return False
    cases = metadata.get("training", {}).get("cases", ())
    return not any(case.get("lesion_labels") and not str(case.get("name", "")).startswith(PHANTOM_PREFIX)
                   for case in cases)


def out_of_scope_message(score_threshold, metadata):
    """The one line said when no organ is reported: what may be wrong, and what the model knows.

    Parameters
    ----------
    score_threshold : float
    metadata : dict

    Returns
    -------
    str
        E.g. ``"No organ reached score >= 0.15 together with the anatomy it comes with:
        this scan may show a body region or contrast the model was not trained on (it
        knows 22 organs: liver, spleen, ... and 14 more, on CT and MR)."``
    """
    classes = list(metadata["class_names"])
    named = ", ".join(classes[:_NAMED_ORGANS]) + (f" and {len(classes) - _NAMED_ORGANS} more"
                                                  if len(classes) > _NAMED_ORGANS else "")
    modalities = sorted({case.get("modality", "").upper() for case in metadata.get("training", {}).get("cases", ())}
                        - {""})
    seen_on = f", on {' and '.join(modalities)}" if modalities else ""
    return (f"No organ reached score >= {score_threshold:.2f} together with the anatomy it comes with: this scan "
            f"may show a body region or contrast the model was not trained on (it knows {len(classes)} organs: "
            f"{named}{seen_on}).")
