"""Permutation feature importance and the top-k feature option of the lesion segmentation."""

import numpy as np
import pytest

from clinicalimaging import InputError
from clinicalimaging.metrics import dice
from clinicalimaging.phantom import make_phantom
from clinicalimaging.segment.core import segment_lesion
from clinicalimaging.segment.features import FEATURE_NAMES
from clinicalimaging.segment.importance import permutation_feature_importance, top_feature_indices
from clinicalimaging.segment.parameters import SegmentParameters
from clinicalimaging.segment.self_paced import SelfPacedSVC
from outline import lesion_outline


def _noisy_problem(n, seed):
    """Column 1 decides the class (with some label noise), columns 0 and 2 are noise."""
    random = np.random.default_rng(seed)
    features = random.normal(size=(n, 3))
    labels = (features[:, 1] + 0.3 * random.normal(size=n) > 0).astype(int)
    return features, labels


@pytest.mark.parametrize("scoring", ["balanced_accuracy", "hinge"])
def test_informative_feature_ranks_above_noise(scoring):
    features, labels = _noisy_problem(1200, seed=1)
    classifier = SelfPacedSVC(kernel="linear", random_state=0).fit(features[:800], labels[:800])
    ranking = permutation_feature_importance(classifier, features[800:], labels[800:], ["noise_a", "signal", "noise_b"],
                                             scoring=scoring, seed=0)
    names = [name for name, _ in ranking]
    values = dict(ranking)
    assert names[0] == "signal" and values["signal"] > 0.2
    assert abs(values["noise_a"]) < 0.05 and abs(values["noise_b"]) < 0.05
    assert [value for _, value in ranking] == sorted(values.values(), reverse=True)
    np.testing.assert_array_equal(top_feature_indices(ranking, ["noise_a", "signal", "noise_b"], 1), [1])


def test_top_feature_indices_keep_column_order():
    ranking = [("c", 0.5), ("a", 0.3), ("b", 0.1)]
    np.testing.assert_array_equal(top_feature_indices(ranking, ["a", "b", "c"], 2), [0, 2])


@pytest.mark.parametrize("call, message", [
    (lambda f, y, c: permutation_feature_importance(c, f, y, ["only one"]), "names"),
    (lambda f, y, c: permutation_feature_importance(c, f, y[:-1], ["a", "b", "c"]), "labels"),
    (lambda f, y, c: permutation_feature_importance(c, f, y, ["a", "b", "c"], scoring="r2"), "scoring"),
    (lambda f, y, c: permutation_feature_importance(c, f, y, ["a", "b", "c"], n_repeats=0), "n_repeats"),
    (lambda f, y, c: top_feature_indices([("a", 1.0)], ["a", "b", "c"], 0), "k=0"),
    (lambda f, y, c: top_feature_indices([("z", 1.0)], ["a", "b", "c"], 1), "not among"),
])
def test_bad_arguments_raise_input_error(call, message):
    features, labels = _noisy_problem(100, seed=2)
    classifier = SelfPacedSVC(kernel="linear", random_state=0).fit(features, labels)
    with pytest.raises(InputError, match=message):
        call(features, labels, classifier)


@pytest.fixture(scope="module")
def phantom():
    return make_phantom("mr", shape=(24, 96, 96), spacing=(2.5, 0.8, 0.8), seed=0)


def test_segmentation_reports_the_importance_of_every_feature(phantom):
    points, _ = lesion_outline(phantom)
    result = segment_lesion(phantom.image, points, phantom.spacing)
    names = [name for name, _ in result.feature_importance]
    values = [value for _, value in result.feature_importance]
    assert len(result.feature_importance) == 61 and sorted(names) == sorted(FEATURE_NAMES)
    assert values == sorted(values, reverse=True) and values[0] > 0
    assert result.classifier.n_features_in_ == 61


def test_top_features_segments_the_phantom_deterministically(phantom):
    points, lesion = lesion_outline(phantom)
    parameters = SegmentParameters(top_features=10)
    first = segment_lesion(phantom.image, points, phantom.spacing, parameters)
    second = segment_lesion(phantom.image, points, phantom.spacing, parameters)
    assert first.classifier.n_features_in_ == 10
    assert dice(first.mask, lesion) > 0.8
    np.testing.assert_array_equal(first.mask, second.mask)
    assert first.feature_importance == second.feature_importance
