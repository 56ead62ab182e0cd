"""Binary self-paced SVM: easy samples first, harder ones as the pace grows.

Han & Xu (2021) train the voxel classifier with a binary self-paced regulariser
(their eq. (3)). We follow the hard-weight self-paced learning of Kumar,
Packer & Koller (NIPS 2010) in the λ-notation of Jiang et al. (AAAI 2015),
docs/segmentation.md#self-paced-svm:

    min_{w, v ∈ {0,1}^n}  r(w) + Σ_i v_i ℓ_i(w) − λ Σ_i v_i,

solved by alternation: with w fixed, v_i = 1[ℓ_i ≤ λ]; with v fixed, the SVM is
refitted on the admitted samples; then λ ← μ λ. The loss is the hinge
ℓ_i = max(0, 1 − y_i f(x_i)), y_i ∈ {−1, +1}. The first pace is chosen per
class, so that each class starts with at least a fraction q0 of its samples and
the admitted set cannot collapse onto the majority class (background voxels);
both classes then share that pace, i.e. the same margin threshold
y f(x) ≥ 1 − λ. (Separate thresholds λ_c, as some self-paced SVMs use, let the
boundary drift towards the class with the tighter threshold, round after round;
docs/segmentation.md#schedule.)
Hard self-paced learning minimises the capped loss min(ℓ, λ) (Meng, Zhao &
Jiang, Information Sciences 2017), which is why it resists label noise.
"""

import math
import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.kernel_approximation import Nystroem
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..errors import InputError
from ..progress import report

#: Fewest samples of each class admitted in any round (the easiest ones), so that
#: every refit sees both classes even when a pace admits almost nothing.
MIN_ADMITTED_PER_CLASS = 10


class SelfPacedSVC(ClassifierMixin, BaseEstimator):
    """Binary linear SVM on standardised (optionally Nyström-RBF) features, trained self-paced.

    The feature map is ``StandardScaler`` followed, for ``kernel="rbf"``, by a
    :class:`~sklearn.kernel_approximation.Nystroem` approximation of the RBF
    kernel, so training scales linearly to 10^5–10^6 samples (docs/segmentation.md#scalability). The map is unsupervised: it is fitted once on all samples.
    The SVM is :class:`~sklearn.linear_model.SGDClassifier` with the hinge loss
    and ``alpha = 1 / (C n)``, which minimises the soft-margin objective
    ``½‖w‖² + C Σ hinge`` of ``SVC`` on the ``n`` samples it is given. (On
    10^5 × 300 Nyström features liblinear's ``LinearSVC`` took 3–12 s per fit
    here and copies the dense matrix into its own sparse format; SGD works on
    the dense array in place.)

    Training (docs/segmentation.md#schedule):

    1. warm start: the SVM on all samples; its hinge losses ℓ_i rank the samples;
    2. first pace λ: the largest over the two classes of the ``initial_fraction``
       quantile of the class's losses (many losses are exactly 0; when a class's
       quantile is 0 the same quantile of its positive losses is used, so the
       pace can grow), so every class starts with at least that fraction;
    3. each round admits v_i = 1[ℓ_i ≤ λ] (at least the
       :data:`MIN_ADMITTED_PER_CLASS` easiest samples of each class), refits on
       the admitted samples, recomputes ℓ on all samples and grows λ ← μ λ;
       it stops when every sample is admitted or after ``max_rounds`` rounds; the
       pace never exceeds ``max_pace``: samples whose loss stays above it are
       label noise to the SVM and never pull on it (the capped loss);
    4. with ``final_fit``, the last pace is applied once more, to the final
       SVM's own losses, and the SVM is refitted on the samples it admits (the
       alternation's last step at a fixed pace, so that ``admitted_`` are the
       samples the returned SVM finds easy).

    Parameters
    ----------
    C : float
        Soft-margin penalty (> 0), as in :class:`~sklearn.svm.SVC`.
    kernel : {"rbf", "linear"}
        ``"rbf"``: Nyström approximation of the RBF kernel; ``"linear"``: the
        standardised features themselves.
    gamma : "scale" or float
        RBF width (> 0) on the standardised features; ``"scale"`` is
        ``1 / (n_features · Var(X_std))`` as in :class:`~sklearn.svm.SVC`.
    n_components : int
        Nyström components (``kernel="rbf"`` only); at most the number of samples.
    initial_fraction : float
        q0 in (0, 1]: quantile of each class's warm-start losses that sets the
        first pace (Kumar et al.: about half the samples easy).
    pace_growth : float
        μ ≥ 1: the pace is multiplied by μ after each round (Kumar et al.: 1.3).
    max_rounds : int
        Most self-paced rounds (≥ 1).
    final_fit : bool
        Re-admit with the last pace on the final SVM's losses and refit (step 4).
    class_weight : None, "balanced" or dict
        Passed to the SVM (per-class multipliers of C).
    random_state : None, int or RandomState
        Seeds the Nyström components and the SGD sample order.
    pace : None, float or "all"
        ``None``: the quantile pace of step 2. A positive float: the first
        pace λ (Kumar et al.'s 1/K). ``float("inf")`` or
        ``"all"``: every sample admitted at once, i.e. the plain SVM on the same
        features.
    max_pace : float
        Cap of the pace (> 0; ``inf``: none). 1 admits at most the samples on the
        right side of the decision boundary (``y f(x) >= 0``).

    Attributes
    ----------
    classes_ : (2,) ndarray
        Class labels; ``decision_function > 0`` means ``classes_[1]``.
    n_features_in_ : int
        Number of input features.
    gamma_ : float
        The RBF width used (``kernel="rbf"`` only).
    features_ : Pipeline
        Fitted feature map (scaler, then Nyström for ``kernel="rbf"``).
    svm_ : SGDClassifier
        The fitted SVM on the mapped features.
    admitted_ : (n_samples,) bool ndarray
        Training samples the final SVM was fitted on.
    history_ : list of dict
        One entry per fit on admitted samples: ``"admitted"``, samples admitted
        per class (ordered as ``classes_``), and ``"pace"``, λ (float).
    n_rounds_ : int
        ``len(history_)``.
    """

    def __init__(self, *, C=1.0, kernel="rbf", gamma="scale", n_components=300, initial_fraction=0.5,
                 pace_growth=1.3, max_rounds=8, final_fit=True, class_weight=None, random_state=None,
                 pace=None, max_pace=math.inf):
        self.C = C
        self.kernel = kernel
        self.gamma = gamma
        self.n_components = n_components
        self.initial_fraction = initial_fraction
        self.pace_growth = pace_growth
        self.max_rounds = max_rounds
        self.final_fit = final_fit
        self.class_weight = class_weight
        self.random_state = random_state
        self.pace = pace
        self.max_pace = max_pace

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def fit(self, X, y, *, progress=None):
        """Fit the feature map, then the SVM self-paced.

        Parameters
        ----------
        X : (n_samples, n_features) array_like
            Training samples.
        y : (n_samples,) array_like
            Labels of exactly two classes.
        progress : callable, optional
            ``progress(fraction, message)``, called once per self-paced round; may
            raise :class:`~clinicalimaging.Cancelled`.

        Returns
        -------
        self
        """
        first_pace = self._check_parameters()
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        self.classes_, class_index = np.unique(y, return_inverse=True)
        if self.classes_.size > 2:
            raise InputError(f"Only binary classification is supported: y has {self.classes_.size} classes; "
                             "give samples of exactly two classes (e.g. lesion and background).")
        if self.classes_.size < 2:
            raise InputError(f"y has 1 class ({self.classes_[0]!r}); SelfPacedSVC needs samples of both "
                             "classes: add samples of the other class.")
        features = self._fit_features(X)
        sign = 2.0 * class_index - 1.0

        self.history_ = []
        admitted = np.ones(len(y), dtype=bool)
        svm = self._fit_svm(features, y, admitted)
        if first_pace is not None and math.isinf(first_pace):
            self._record(class_index, admitted, math.inf)
        else:
            losses = _hinge(svm, features, sign)
            pace = _quantile_pace(losses, class_index, self.initial_fraction) if first_pace is None else first_pace
            pace = min(pace, self.max_pace)
            for round_ in range(self.max_rounds):
                report(progress, round_ / self.max_rounds, f"Self-paced round {round_ + 1}")
                if round_:
                    pace = min(pace * self.pace_growth, self.max_pace)
                admitted = _admit(losses, class_index, pace)
                self._record(class_index, admitted, pace)
                svm = self._fit_svm(features, y, admitted)
                if admitted.all():
                    break
                losses = _hinge(svm, features, sign)
            final = admitted if admitted.all() else _admit(losses, class_index, pace)
            if self.final_fit and not np.array_equal(final, admitted):
                admitted = final
                self._record(class_index, admitted, pace)
                svm = self._fit_svm(features, y, admitted)
        self.svm_ = svm
        self.admitted_ = admitted
        self.n_rounds_ = len(self.history_)
        return self

    def decision_function(self, X):
        """Signed margin f(x) of each sample; positive means ``classes_[1]``.

        Parameters
        ----------
        X : (n_samples, n_features) array_like

        Returns
        -------
        (n_samples,) ndarray of float
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self.svm_.decision_function(self.features_.transform(X))

    def predict(self, X):
        """Class of each sample (the sign of :meth:`decision_function`).

        Parameters
        ----------
        X : (n_samples, n_features) array_like

        Returns
        -------
        (n_samples,) ndarray with the dtype of ``classes_``
        """
        margins = self.decision_function(X)
        return self.classes_[(margins > 0).astype(int)]

    def _check_parameters(self):
        """Validate the hyper-parameters; return the first pace (None, a float or inf)."""
        if self.kernel not in ("rbf", "linear"):
            raise InputError(f"kernel={self.kernel!r} is not supported: use 'rbf' or 'linear'.")
        if not (isinstance(self.C, numbers.Real) and self.C > 0):
            raise InputError(f"C={self.C!r} must be a positive number.")
        if not (self.gamma == "scale" or (isinstance(self.gamma, numbers.Real) and self.gamma > 0)):
            raise InputError(f"gamma={self.gamma!r} must be 'scale' or a positive number.")
        if not (isinstance(self.n_components, numbers.Integral) and self.n_components >= 1):
            raise InputError(f"n_components={self.n_components!r} must be a positive integer.")
        if not (isinstance(self.initial_fraction, numbers.Real) and 0 < self.initial_fraction <= 1):
            raise InputError(f"initial_fraction={self.initial_fraction!r} must be in (0, 1].")
        if not (isinstance(self.pace_growth, numbers.Real) and self.pace_growth >= 1):
            raise InputError(f"pace_growth={self.pace_growth!r} must be a number >= 1.")
        if not (isinstance(self.max_rounds, numbers.Integral) and self.max_rounds >= 1):
            raise InputError(f"max_rounds={self.max_rounds!r} must be a positive integer.")
        if not (isinstance(self.max_pace, numbers.Real) and self.max_pace > 0):
            raise InputError(f"max_pace={self.max_pace!r} must be a positive number (inf for no cap).")
        if self.pace is None:
            return None
        if isinstance(self.pace, str):
            if self.pace != "all":
                raise InputError(f"pace={self.pace!r} is not supported: use None, a positive number or 'all'.")
            return math.inf
        if not (isinstance(self.pace, numbers.Real) and self.pace > 0):
            raise InputError(f"pace={self.pace!r} must be None, a positive number, float('inf') or 'all'.")
        return float(self.pace)

    def _fit_features(self, X):
        """Fit ``features_`` (and ``gamma_``) on all samples; return the mapped samples."""
        scaler = StandardScaler()
        if self.kernel == "linear":
            self.features_ = make_pipeline(scaler)
            return self.features_.fit_transform(X)
        standardised = scaler.fit_transform(X)
        if self.gamma == "scale":
            variance = standardised.var()
            self.gamma_ = 1.0 / (X.shape[1] * variance) if variance > 0 else 1.0
        else:
            self.gamma_ = float(self.gamma)
        nystroem = Nystroem(kernel="rbf", gamma=self.gamma_, n_components=min(self.n_components, len(X)),
                            random_state=self.random_state)
        self.features_ = make_pipeline(scaler, nystroem)
        return nystroem.fit_transform(standardised)

    def _fit_svm(self, features, y, admitted):
        """The SVM fitted on the admitted samples only."""
        svm = SGDClassifier(loss="hinge", alpha=1.0 / (self.C * np.count_nonzero(admitted)),
                            class_weight=self.class_weight, random_state=self.random_state)
        if admitted.all():
            return svm.fit(features, y)
        return svm.fit(features[admitted], y[admitted])

    def _record(self, class_index, admitted, pace):
        self.history_.append({"admitted": np.bincount(class_index[admitted], minlength=2),
                              "pace": float(pace)})


def _hinge(svm, features, sign):
    """Hinge loss max(0, 1 − y f(x)) of every sample, y ∈ {−1, +1}."""
    return np.maximum(0.0, 1.0 - sign * svm.decision_function(features))


def _quantile_pace(losses, class_index, fraction):
    """First pace: the largest per-class ``fraction`` quantile of the losses (of the positive ones if 0)."""
    pace = 0.0
    for c in range(2):
        class_losses = losses[class_index == c]
        quantile = np.quantile(class_losses, fraction)
        positive = class_losses[class_losses > 0]
        if quantile == 0 and positive.size:
            quantile = np.quantile(positive, fraction)
        pace = max(pace, float(quantile))
    return pace


def _admit(losses, class_index, pace):
    """v_i = 1[ℓ_i ≤ λ], plus the easiest :data:`MIN_ADMITTED_PER_CLASS` samples of each class."""
    admitted = losses <= pace
    for c in range(2):
        members = np.flatnonzero(class_index == c)
        needed = min(members.size, MIN_ADMITTED_PER_CLASS)
        if np.count_nonzero(admitted[members]) < needed:
            admitted[members[np.argsort(losses[members], kind="stable")[:needed]]] = True
    return admitted
