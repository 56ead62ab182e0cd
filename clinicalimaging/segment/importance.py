"""Which voxel features the lesion classifier relies on: permutation importance.

The paper's future work (Han & Xu 2021, section 4; docs/segmentation.md#feature-importance): rank the 61 features and keep the
useful ones. The importance of a feature is the drop of the classifier's score
(balanced accuracy, or minus the SVM's hinge loss) on held-out samples when that feature's column is shuffled
(Breiman 2001, "Random forests", section 10; the model-agnostic form of
:func:`sklearn.inspection.permutation_importance`). It is measured on samples
the classifier was not fitted on, so it reflects what generalises, not what the
classifier memorised.
"""

import numbers

import numpy as np
from sklearn.inspection import permutation_importance
from sklearn.metrics import hinge_loss, make_scorer

from ..errors import InputError

#: Scores whose decrease measures a feature's importance (see :func:`permutation_feature_importance`).
SCORINGS = {"balanced_accuracy": "balanced_accuracy",
            "hinge": make_scorer(hinge_loss, greater_is_better=False, response_method="decision_function")}


def permutation_feature_importance(classifier, features, labels, names, *, scoring="balanced_accuracy",
                                   n_repeats=3, seed=0):
    """Permutation importance of each feature on held-out samples.

    Parameters
    ----------
    classifier : fitted scikit-learn classifier
        E.g. :class:`~clinicalimaging.segment.self_paced.SelfPacedSVC`.
    features : (n_samples, n_features) array_like
        Held-out samples, i.e. not those the classifier was fitted on (the caller
        splits).
    labels : (n_samples,) array_like
        Their true classes.
    names : sequence of str
        One name per feature column.
    scoring : {"balanced_accuracy", "hinge"}
        ``"balanced_accuracy"``: the mean recall of the two classes.
        ``"hinge"``: minus the mean hinge loss ``max(0, 1 - y f(x))`` of the
        decision values (the SVM's own loss); it needs ``decision_function`` and
        still ranks the features when the held-out classes are separated
        perfectly, where shuffling most single features leaves the accuracy at 1.
    n_repeats : int
        Shuffles per feature (≥ 1); the importance is their mean.
    seed : int
        Seed of the shuffles.

    Returns
    -------
    list of (str, float)
        ``(name, importance)`` sorted by importance, largest first (ties keep the
        column order). An importance is the mean decrease of the score (for
        the balanced accuracy a fraction in [-1, 1], for the hinge loss its
        increase); 0 or less means the feature does not help.

    Raises
    ------
    InputError
        Mismatched shapes or names, an unknown scoring, or ``n_repeats < 1``.
    """
    features = np.asarray(features)
    labels = np.asarray(labels)
    if features.ndim != 2 or labels.shape != (features.shape[0],):
        raise InputError(f"features must be (n_samples, n_features) and labels (n_samples,); got "
                         f"{features.shape} and {labels.shape}.")
    if len(names) != features.shape[1]:
        raise InputError(f"{len(names)} names for {features.shape[1]} feature columns; give one name per column.")
    if scoring not in SCORINGS:
        raise InputError(f"scoring={scoring!r} is not supported: use one of {sorted(SCORINGS)}.")
    if not (isinstance(n_repeats, numbers.Integral) and n_repeats >= 1):
        raise InputError(f"n_repeats={n_repeats!r} must be a positive integer.")
    result = permutation_importance(classifier, features, labels, scoring=SCORINGS[scoring],
                                    n_repeats=n_repeats, random_state=seed)
    order = np.argsort(-result.importances_mean, kind="stable")
    return [(names[column], float(result.importances_mean[column])) for column in order]


def top_feature_indices(importances, names, k):
    """Column indices of the ``k`` most important features, in column order.

    Parameters
    ----------
    importances : sequence of (str, float)
        As returned by :func:`permutation_feature_importance` (largest first).
    names : sequence of str
        The feature columns' names, in column order.
    k : int
        How many to keep, 1 to ``len(names)``.

    Returns
    -------
    (k,) ndarray of int
        Sorted ascending, so that ``features[:, indices]`` keeps the column order.

    Raises
    ------
    InputError
        ``k`` out of range, or a name in ``importances`` that is not in ``names``.
    """
    if not (isinstance(k, numbers.Integral) and 1 <= k <= len(names)):
        raise InputError(f"k={k!r} must be an integer from 1 to the number of features ({len(names)}).")
    column = {name: index for index, name in enumerate(names)}
    unknown = [name for name, _ in importances[:k] if name not in column]
    if unknown:
        raise InputError(f"Features {unknown} are not among the feature names; rank the same features.")
    return np.sort([column[name] for name, _ in importances[:k]])
