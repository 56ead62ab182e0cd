"""SelfPacedSVC: scikit-learn's estimator checks, admission order, the plain-SVM limit, label noise."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.kernel_approximation import Nystroem
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from clinicalimaging.errors import InputError
from clinicalimaging.segment.self_paced import SelfPacedSVC


@parametrize_with_checks([SelfPacedSVC(n_components=20, max_rounds=3)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def noisy_problem(seed, *, n_train=2000, n_test=1000, weights=None, flipped=0.1):
    """Training set with a fraction of its labels flipped, clean test set, indices of the flipped labels."""
    X, y = make_classification(n_train + n_test, 10, n_informative=5, n_redundant=2, flip_y=0, class_sep=1.0,
                               weights=weights, random_state=seed)
    y_train = y[:n_train].copy()
    flip = np.random.default_rng(seed).choice(n_train, int(flipped * n_train), replace=False)
    y_train[flip] = 1 - y_train[flip]
    return X[:n_train], y_train, X[n_train:], y[n_train:], flip


@pytest.mark.parametrize("kernel", ["rbf", "linear"])
@pytest.mark.parametrize("pace", ["all", float("inf")])
def test_infinite_pace_equals_plain_svm(kernel, pace):
    X, y, X_test, _, _ = noisy_problem(0, n_train=600, n_test=200)
    labels = np.array(["background", "lesion"])[y]
    model = SelfPacedSVC(C=2.0, kernel=kernel, gamma=0.1, n_components=40, pace=pace, random_state=3)
    model.fit(X, labels)
    steps = [StandardScaler()]
    if kernel == "rbf":
        steps.append(Nystroem(kernel="rbf", gamma=0.1, n_components=40, random_state=3))
    steps.append(SGDClassifier(loss="hinge", alpha=1.0 / (2.0 * len(X)), random_state=3))
    plain = make_pipeline(*steps).fit(X, labels)
    assert np.allclose(model.decision_function(X_test), plain.decision_function(X_test))
    assert np.array_equal(model.predict(X_test), plain.predict(X_test))
    assert model.n_rounds_ == 1 and model.admitted_.all()


@pytest.mark.parametrize("weights", [None, [0.7]])
def test_admits_samples_in_order_of_loss_per_class(weights):
    X, y, _, _, _ = noisy_problem(1, n_train=1500, n_test=0, weights=weights)
    options = dict(n_components=50, random_state=0, initial_fraction=0.4)
    warm = SelfPacedSVC(pace="all", **options).fit(X, y)  # the documented warm start: the SVM on all samples
    initial_loss = np.maximum(0.0, 1.0 - (2 * y - 1) * warm.decision_function(X))
    first_round = SelfPacedSVC(max_rounds=1, final_fit=False, **options).fit(X, y)
    assert first_round.n_rounds_ == 1
    for c in (0, 1):
        members = y == c
        admitted = first_round.admitted_ & members
        rejected = ~first_round.admitted_ & members
        assert rejected.any()
        assert initial_loss[admitted].max() < initial_loss[rejected].min()
        assert admitted.sum() >= 0.4 * members.sum()  # each class starts with at least q0 of its samples
    assert np.array_equal(first_round.history_[0]["admitted"], np.bincount(y[first_round.admitted_]))


def test_pace_grows_geometrically_until_all_admitted_or_max_rounds():
    X, y, _, _, _ = noisy_problem(2, n_train=1000, n_test=0)
    model = SelfPacedSVC(n_components=30, pace_growth=1.5, max_rounds=4, final_fit=False, random_state=0).fit(X, y)
    paces = [entry["pace"] for entry in model.history_]
    assert model.n_rounds_ == len(paces) <= 4
    assert np.allclose(np.diff(np.log(paces)), np.log(1.5))
    assert model.admitted_.dtype == bool and model.admitted_.shape == (len(X),)
    assert np.array_equal(model.history_[-1]["admitted"], np.bincount(y[model.admitted_], minlength=2))
    explicit = SelfPacedSVC(n_components=30, pace=0.25, max_rounds=2, final_fit=False, random_state=0).fit(X, y)
    assert [entry["pace"] for entry in explicit.history_] == pytest.approx([0.25, 0.325])


def test_flipped_labels_are_admitted_late_and_do_not_hurt_accuracy():
    # Measured on seeds 0-5 (2000 training samples, 10% flipped, rbf, 100 components): mean clean test
    # accuracy 0.913 self-paced vs 0.911 plain, worst seed +0.000; flipped labels are admitted later.
    gaps = []
    for seed in range(3):
        X, y, X_test, y_test, flip = noisy_problem(seed)
        options = dict(n_components=100, random_state=seed)
        self_paced = SelfPacedSVC(**options).fit(X, y)
        plain = SelfPacedSVC(pace="all", **options).fit(X, y)
        gaps.append(self_paced.score(X_test, y_test) - plain.score(X_test, y_test))
        first = SelfPacedSVC(max_rounds=1, final_fit=False, **options).fit(X, y).admitted_
        clean = np.ones(len(y), dtype=bool)
        clean[flip] = False
        assert first[flip].mean() < first[clean].mean() - 0.2
    assert min(gaps) >= -0.03
    assert np.mean(gaps) >= -0.01


@pytest.mark.parametrize("options", [dict(kernel="poly"), dict(C=0), dict(gamma="auto"), dict(pace="some"),
                                     dict(pace=-1.0), dict(initial_fraction=0.0), dict(pace_growth=0.5),
                                     dict(max_rounds=0), dict(n_components=0)])
def test_bad_parameters_raise_input_error(options):
    X, y, _, _, _ = noisy_problem(0, n_train=100, n_test=0)
    with pytest.raises(InputError, match=next(iter(options))):
        SelfPacedSVC(**options).fit(X, y)


def test_three_classes_raise_input_error():
    X = np.random.default_rng(0).normal(size=(30, 3))
    with pytest.raises(InputError, match="binary"):
        SelfPacedSVC().fit(X, np.arange(30) % 3)


def test_a_capped_pace_leaves_flipped_labels_out_and_the_uncapped_takes_them_in():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-2.0, 0.7, (400, 2)), rng.normal(2.0, 0.7, (400, 2))])
    y = np.r_[np.zeros(400, int), np.ones(400, int)]
    flipped = rng.choice(800, 40, replace=False)
    y[flipped] = 1 - y[flipped]
    capped = SelfPacedSVC(random_state=0, max_pace=1.0).fit(X, y)
    uncapped = SelfPacedSVC(random_state=0).fit(X, y)
    assert all(entry["pace"] <= 1.0 for entry in capped.history_)
    assert capped.admitted_[flipped].mean() < 0.1
    assert uncapped.admitted_.all()
    with pytest.raises(InputError, match="max_pace"):
        SelfPacedSVC(max_pace=0).fit(X, y)
