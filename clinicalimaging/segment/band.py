"""The classification stage of the segmentation: training voxels, features, the SVM, the margin, the clean-up.

From the rough surface on the near-isotropic crop (:class:`BandState`), the chain
labels training voxels (inside the rough surface: lesion; outside, down to a
background shell: background; the user's scribbles with their own labels), describes
them and the uncertain band around the surface with the 61 voxel features, trains the
self-paced SVM and lets it re-decide the band (docs/segmentation.md#training-voxels).
The state keeps every voxel's features once computed, so that new scribbles
(:func:`classify_band` again, through :func:`clinicalimaging.segment.refine.refine_lesion`)
only describe the voxels they add and refit the SVM.

Arrays are KJI on the crop's near-isotropic grid unless said otherwise.
"""

import dataclasses

import numpy as np
from scipy import ndimage

from ..errors import InputError
from ..progress import report, subrange
from .features import FEATURE_NAMES, texture_ranges, voxel_features
from .postprocess import clean_mask

#: Scribble voxels that join the training voxels, per class, at most (a seeded sample).
SCRIBBLE_TRAINING_VOXELS = 2000


@dataclasses.dataclass
class BandState:
    """What the classification stage needs and keeps between runs.

    Attributes
    ----------
    image : ndarray of float32
        The crop on the near-isotropic grid.
    spacing : tuple of 3 float
        Its spacing, mm.
    distance : ndarray of float32
        Signed distance to the rough surface, mm, positive inside.
    half_width : float
        Half-width of the uncertain band, mm.
    initial : ndarray of bool
        The preprocessed outline mask (the clean-up keeps what touches it).
    centre : ndarray, shape (3,)
        The outline's centroid (voxel coordinates), for the spatial feature.
    rows : ndarray of int32
        Row of each voxel in ``features``; -1 where not yet described.
    features : ndarray of float32, shape (N, 61)
    names : tuple of str
    ranges : dict
        The texture features' quantisation ranges (:func:`.features.texture_ranges`).
    """

    image: np.ndarray
    spacing: tuple
    distance: np.ndarray
    half_width: float
    initial: np.ndarray
    centre: np.ndarray
    rows: np.ndarray = None
    features: np.ndarray = None
    names: tuple = ()
    ranges: dict = None

    def describe(self, voxels, progress=None):
        """Make sure every voxel of ``voxels`` has its features; compute only the missing ones."""
        if self.rows is None:
            self.rows = np.full(self.image.shape, -1, np.int32)
            self.features = np.zeros((0, len(FEATURE_NAMES)), np.float32)
            self.ranges = texture_ranges(self.image, self.spacing, voxels)
        missing = voxels & (self.rows < 0)
        if missing.any():
            new, self.names = voxel_features(self.image, self.spacing, mask=missing, centre=self.centre,
                                             ranges=self.ranges, progress=progress)
            self.rows[missing] = np.arange(len(self.features), len(self.features) + len(new), dtype=np.int32)
            self.features = np.concatenate([self.features, new])

    def features_of(self, voxels):
        """The feature rows of the voxels of a mask, in ``np.nonzero`` order."""
        return self.features[self.rows[voxels]]


@dataclasses.dataclass(frozen=True)
class BandResult:
    """The outcome of :func:`classify_band` on the near-isotropic crop."""

    lesion: np.ndarray
    """Final mask (uint8), clean-up and scribbles applied."""
    margin: np.ndarray
    """Signed margin (float32)."""
    classifier: object
    importance: tuple
    columns: np.ndarray


def classify_band(state, parameters, *, scribbles=None, importance=None, progress=None):
    """Train the SVM on the rough labels (and scribbles) and let it decide the uncertain band.

    Parameters
    ----------
    state : BandState
        Updated in place with the features of the voxels described.
    parameters : SegmentParameters
    scribbles : tuple of 2 ndarray of bool, optional
        Lesion and background scribbles on the crop's near-isotropic grid. The band
        grows by its half-width around them, so a scribble away from the rough surface
        also re-decides its neighbourhood.
    importance : list of (str, float), optional
        A feature ranking to re-use instead of ranking again.
    progress : callable, optional

    Returns
    -------
    BandResult
    """
    distance, half_width = state.distance, state.half_width
    band = np.abs(distance) <= half_width
    # The rough result labels every voxel from its interior out to a background shell beyond the band: noisy
    # labels near the surface, which the self-paced schedule admits last (or never).
    labels = np.where(distance > 0, 1, np.where(distance >= -half_width - parameters.background_shell_mm, 0, -1))
    training = sample_training_voxels(labels, parameters.training_voxels, parameters.seed)
    if scribbles is not None:
        lesion_scribble, background_scribble = scribbles
        marked = lesion_scribble | background_scribble
        reach = np.maximum(np.round(half_width / np.asarray(state.spacing)).astype(int), 1)
        band |= ndimage.binary_dilation(marked, structure=np.ones(2 * reach + 1, bool))
        band &= ~marked
        labels[lesion_scribble], labels[background_scribble] = 1, 0
        training |= _scribble_sample(lesion_scribble, background_scribble, parameters.seed)
    state.describe(band | training, progress=subrange(progress, 0.0, 0.7))
    from .classifier import train_classifier  # scikit-learn: imported only when a lesion is segmented

    classifier, importance, columns = train_classifier(state.features_of(training), labels[training], state.names,
                                                       parameters, importance=importance,
                                                       progress=subrange(progress, 0.7, 0.9))
    margin = np.where(distance > 0, 1.0, -1.0).astype(np.float32)
    if band.any():  # a rough surface with no voxel within half_width (e.g. a cut-off organ) has no band
        # The level set's verdict as a prior (at most one band half-width's worth, also around scribbles far from
        # the surface): the SVM overrides the rough surface only where it is confident.
        prior = parameters.surface_prior * np.clip(distance[band] / half_width, -1.0, 1.0)
        report(progress, 0.9, "Classifying the uncertain band")
        margin[band] = classifier.decision_function(state.features_of(band)[:, columns]) + prior
    if scribbles is not None:
        margin[scribbles[0]], margin[scribbles[1]] = 1.0, -1.0
    report(progress, 0.95, "Clean-up")
    seed_mask = state.initial if scribbles is None else state.initial | scribbles[0]
    lesion = clean_mask(margin > 0, state.spacing, radius_mm=parameters.cleanup_radius_mm, keep="touching_seed",
                        seed_mask=seed_mask if seed_mask.any() else None)
    if scribbles is not None:  # the user's scribbles have the last word, after the clean-up too
        lesion[scribbles[0]], lesion[scribbles[1]] = 1, 0
    return BandResult(lesion, margin, classifier, tuple(importance), columns)


def sample_training_voxels(labels, per_class, seed):
    """A seeded, class-balanced sample of at most ``per_class`` voxels of each class (labels 0 and 1)."""
    random = np.random.default_rng(seed)
    training = np.zeros(labels.shape, dtype=bool)
    for value, name in ((1, "inside"), (0, "outside")):
        candidates = np.flatnonzero(labels == value)
        if len(candidates) < 10:
            raise InputError(f"Too few confident voxels {name} the rough lesion surface to train on "
                             f"({len(candidates)}). Draw the outline closer to the lesion border, or lower "
                             "band_mm.")
        chosen = random.choice(candidates, size=min(per_class, len(candidates)), replace=False)
        training.flat[chosen] = True
    return training


def _scribble_sample(lesion_scribble, background_scribble, seed):
    """At most :data:`SCRIBBLE_TRAINING_VOXELS` voxels of each kind of scribble, seeded."""
    random = np.random.default_rng((seed, 1))
    chosen = np.zeros(lesion_scribble.shape, dtype=bool)
    for scribble in (lesion_scribble, background_scribble):
        candidates = np.flatnonzero(scribble)
        chosen.flat[random.choice(candidates, size=min(SCRIBBLE_TRAINING_VOXELS, len(candidates)),
                                  replace=False)] = True
    return chosen
