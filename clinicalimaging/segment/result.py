"""The result of a segmentation, and the state that lets scribbles refine it without starting again.

Arrays of :class:`SegmentResult` have the input volume's shape (KJI); those of the
state live on the region of interest's near-isotropic grid (:mod:`.resample`).
"""

import dataclasses

import numpy as np

from ..errors import InputError
from ..preprocess import RoiBox
from ..validation import on_image_grid
from .resample import image_back_to_grid, mask_back_to_grid, resample_mask_z

#: Label values of a seed (scribble) map.
LESION_SEED, BACKGROUND_SEED = 1, 2


@dataclasses.dataclass(frozen=True)
class SegmentResult:
    """Output of :func:`segment_lesion`; volumes have the input's shape (KJI)."""

    mask: np.ndarray
    """Final lesion mask (uint8)."""
    margin: np.ndarray
    """Signed margin (float32): in the uncertain band the SVM decision value plus the level-set prior
    (``surface_prior`` x signed distance / band half-width), +1 inside the rough surface beyond the band, -1
    elsewhere; the lesion is where it is positive (before clean-up)."""
    rough_mask: np.ndarray
    """Level-set (rough) segmentation (uint8)."""
    initial_mask: np.ndarray
    """Preprocessed outline mask that started the level set (uint8)."""
    roi: RoiBox
    """The region of interest the computation ran in."""
    classifier: object
    """The trained classifier (for inspection, e.g. ``history_``); with ``top_features`` it takes only the
    selected feature columns."""
    feature_importance: tuple
    """``(name, importance)`` of every feature, largest first: the permutation importance (increase of the
    SVM's mean hinge loss, :data:`IMPORTANCE_SCORING`) of the classifier on all features, on held-out training
    voxels (:func:`.importance.permutation_feature_importance`)."""
    state: object = None
    """The :class:`SegmentState` that :func:`clinicalimaging.segment.refine.refine_lesion` re-uses."""


@dataclasses.dataclass
class SegmentState:
    """Where a segmentation ran and what its classification stage keeps (:class:`.band.BandState`).

    Attributes
    ----------
    band : BandState
    roi : RoiBox
    crop_shape : tuple of 3 int
        The region of interest's shape on the input grid.
    spacing : tuple of 3 float
        The input's spacing, mm.
    volume_shape : tuple of 3 int
    parameters : SegmentParameters
    rough : ndarray
        The rough mask on the near-isotropic crop.
    initial : ndarray
        The preprocessed outline mask on the input's grid.
    """

    band: object
    roi: RoiBox
    crop_shape: tuple
    spacing: tuple
    volume_shape: tuple
    parameters: object
    rough: np.ndarray
    initial: np.ndarray

    def scribbles_on_grid(self, seeds):
        """Lesion and background scribbles of a checked seed map, on the near-isotropic crop."""
        crop = seeds[self.roi.slices]
        return tuple(resample_mask_z(crop == value, self.spacing, self.band.spacing[0])[0].astype(bool)
                     for value in (LESION_SEED, BACKGROUND_SEED))

    def result(self, band_result):
        """The :class:`SegmentResult` of a classification stage (a :class:`.band.BandResult`) on the input's grid."""
        back = dict(iso_spacing=self.band.spacing, original_shape=self.crop_shape, original_spacing=self.spacing)
        return SegmentResult(
            mask=self._paste(mask_back_to_grid(band_result.lesion, **back), np.uint8),
            margin=self._paste(image_back_to_grid(band_result.margin, **back), np.float32, fill=-1.0),
            rough_mask=self._paste(mask_back_to_grid(self.rough, **back), np.uint8),
            initial_mask=np.asarray(self.initial).astype(np.uint8), roi=self.roi, classifier=band_result.classifier,
            feature_importance=band_result.importance, state=self)

    def _paste(self, crop_values, dtype, fill=0):
        full = np.full(self.volume_shape, fill, dtype=dtype)
        full[self.roi.slices] = crop_values
        return full


def check_seeds(seeds, shape):
    """A seed label map checked against the volume's shape and values (None stays None)."""
    if seeds is None:
        return None
    seeds = on_image_grid(seeds, shape, name="seed label map", hint="draw the seeds on the input volume's grid.")
    unknown = sorted(set(np.unique(seeds).tolist()) - {0, LESION_SEED, BACKGROUND_SEED})
    if unknown:
        raise InputError(f"The seed label map holds values {unknown}; use {LESION_SEED} for lesion and "
                         f"{BACKGROUND_SEED} for background.")
    if not (seeds == LESION_SEED).any() or not (seeds == BACKGROUND_SEED).any():
        raise InputError("The seed label map needs both classes: some lesion (1) and some background (2) "
                         "scribbles. Add the missing class or leave the seeds out.")
    return seeds
