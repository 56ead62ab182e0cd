"""The voxel classifier of the segmentation: a self-paced SVM and the ranking of its features.

The only part of the segmentation chain that needs scikit-learn; :mod:`.core` imports
it when a lesion is segmented, so that importing the chain (as a Slicer module does
at start-up) needs only the packages Slicer ships.
"""

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import train_test_split

from ..progress import report, subrange
from .importance import permutation_feature_importance, top_feature_indices
from .self_paced import SelfPacedSVC

#: Training voxels held out to measure the feature importance: this fraction, at most
#: :data:`MAX_HELD_OUT_VOXELS`, each feature shuffled :data:`IMPORTANCE_REPEATS` times (one prediction of
#: the held-out voxels per feature and repeat).
HELD_OUT_FRACTION, MAX_HELD_OUT_VOXELS, IMPORTANCE_REPEATS = 0.2, 500, 1
#: The held-out training voxels lie beyond the uncertain band and are usually separated perfectly, so that
#: shuffling one feature seldom changes the balanced accuracy; the SVM's hinge loss still measures how much
#: each feature moves the margins.
IMPORTANCE_SCORING = "hinge"
#: Cap of the self-paced pace: training voxels the SVM puts on the wrong side of its boundary (hinge loss > 1) are
#: taken for label noise of the rough step and never admitted (docs/segmentation.md#schedule).
MAX_PACE = 1.0


def train_classifier(features, labels, names, parameters, *, importance=None, progress=None):
    """Fit the SVM on most training voxels, rank the features on the rest, refit on the top ones if asked.

    Parameters
    ----------
    features : (n_samples, n_features) ndarray
        Voxel features of the training voxels.
    labels : (n_samples,) ndarray of {0, 1}
        Their labels (1 = lesion).
    names : sequence of str
        One name per feature column.
    parameters : SegmentParameters
        ``classifier``, ``top_features`` and ``seed`` are used.
    importance : list of (str, float), optional
        A ranking to re-use (e.g. from the first run, when scribbles refine it): the
        features are not ranked again.
    progress : callable, optional
        ``progress(fraction, message)``; may raise :class:`~clinicalimaging.Cancelled`.

    Returns
    -------
    classifier : SelfPacedSVC
        Fitted; with ``top_features`` it takes only the selected columns.
    importance : list of (str, float)
        The permutation importance of every feature, largest first.
    columns : slice or ndarray of int
        The feature columns the classifier takes.
    """
    held_out = min(round(HELD_OUT_FRACTION * len(labels)), MAX_HELD_OUT_VOXELS)
    fit, test = train_test_split(np.arange(len(labels)), test_size=held_out, stratify=labels,
                                 random_state=parameters.seed)
    classifier = SelfPacedSVC(random_state=parameters.seed, class_weight="balanced", max_pace=MAX_PACE,
                              pace=None if parameters.classifier == "self-paced" else float("inf"))
    report(progress, 0.0, "Training the self-paced SVM")
    classifier.fit(features[fit], labels[fit], progress=subrange(progress, 0.0, 0.6))
    if importance is None:
        report(progress, 0.6, "Ranking the features")
        importance = permutation_feature_importance(classifier, features[test], labels[test], names,
                                                    scoring=IMPORTANCE_SCORING, n_repeats=IMPORTANCE_REPEATS,
                                                    seed=parameters.seed)
    if not parameters.top_features:
        return classifier, importance, slice(None)
    report(progress, 0.8, f"Refitting the SVM on the {parameters.top_features} most important features")
    columns = top_feature_indices(importance, names, min(parameters.top_features, len(names)))
    refit = clone(classifier).fit(features[fit][:, columns], labels[fit], progress=subrange(progress, 0.8, 1.0))
    return refit, importance, columns
