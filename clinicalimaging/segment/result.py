"""The result of a segmentation, and the state that lets scribbles refine it without starting again.

Arrays of :class:`SegmentResult` have the input volume's shape (KJI); those of the
state live on the region of interest's near-isotropic grid (:mod:`.resample`), made
from the working grid (the input's, or a coarser one for large structures:
:mod:`.multiresolution`).
"""

import dataclasses

import numpy as np

from ..errors import InputError
from ..preprocess import RoiBox
from ..validation import on_image_grid
from .multiresolution import block_any, upsampled_image, upsampled_mask
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
        The region of interest on the working grid.
    crop_shape : tuple of 3 int
        The region of interest's shape on the working grid.
    spacing : tuple of 3 float
        The working grid's spacing, mm.
    volume_shape : tuple of 3 int
        The working grid's shape.
    parameters : SegmentParameters
    rough : ndarray
        The rough mask on the near-isotropic crop.
    initial : ndarray
        The preprocessed outline mask on the working grid.
    factors : tuple of 3 int
        Input voxels per working voxel along each axis (block means; all 1: the input's grid).
    input_shape : tuple of 3 int, optional
        The input volume's shape; default ``volume_shape``.
    """

    band: object
    roi: RoiBox
    crop_shape: tuple
    spacing: tuple
    volume_shape: tuple
    parameters: object
    rough: np.ndarray
    initial: np.ndarray
    factors: tuple = (1, 1, 1)
    input_shape: tuple = None

    def __post_init__(self):
        self.input_shape = tuple(self.input_shape or self.volume_shape)

    @property
    def coarse(self):
        """Whether the working grid is coarser than the input's."""
        return tuple(self.factors) != (1, 1, 1)

    @property
    def input_roi(self):
        """The region of interest on the input grid."""
        start = tuple(begin * f for begin, f in zip(self.roi.start, self.factors))
        stop = tuple(min(end * f, size) for end, f, size in zip(self.roi.stop, self.factors, self.input_shape))
        return RoiBox(start=start, stop=stop, touches_border=self.roi.touches_border)

    def scribbles_on_grid(self, seeds):
        """Lesion and background scribbles of a checked seed map (input grid), on the near-isotropic crop."""
        def on_working_grid(marked):
            return block_any(marked, self.factors) if self.coarse else marked

        return tuple(resample_mask_z(on_working_grid(seeds == value)[self.roi.slices], self.spacing,
                                     self.band.spacing[0])[0].astype(bool)
                     for value in (LESION_SEED, BACKGROUND_SEED))

    def result(self, band_result, seeds=None):
        """The :class:`SegmentResult` of a classification stage (a :class:`.band.BandResult`) on the input's grid.

        The scribbles of ``seeds`` (a checked seed map on the input grid) override the
        mask where they are, in the region of interest.
        """
        back = dict(iso_spacing=self.band.spacing, original_shape=self.crop_shape, original_spacing=self.spacing)
        mask = self._mask(mask_back_to_grid(band_result.lesion, **back))
        if seeds is not None:
            in_roi, marked = mask[self.input_roi.slices], seeds[self.input_roi.slices]
            in_roi[marked == LESION_SEED] = 1
            in_roi[marked == BACKGROUND_SEED] = 0
        return SegmentResult(
            mask=mask,
            margin=self._image(image_back_to_grid(band_result.margin, **back), fill=-1.0),
            rough_mask=self._mask(mask_back_to_grid(self.rough, **back)),
            initial_mask=self._mask(np.asarray(self.initial)[self.roi.slices]), roi=self.input_roi,
            classifier=band_result.classifier, feature_importance=band_result.importance, state=self)

    def _mask(self, crop_mask):
        """A mask on the working crop, on the input grid (uint8)."""
        if self.coarse:
            crop_mask = upsampled_mask(crop_mask, self.factors, self.input_roi.shape, self.spacing)
        return self._paste(crop_mask, np.uint8)

    def _image(self, crop_values, fill):
        """Values on the working crop, on the input grid (float32)."""
        if self.coarse:
            crop_values = upsampled_image(crop_values, self.factors, self.input_roi.shape)
        return self._paste(crop_values, np.float32, fill=fill)

    def _paste(self, crop_values, dtype, fill=0):
        full = np.full(self.input_shape, fill, dtype=dtype)
        full[self.input_roi.slices] = crop_values
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
