"""Array-level lesion segmentation from outline points.

The chain of the paper (section 2.3), with the steps it leaves open filled in from
docs/segmentation.md (sections of the same names):

1. preprocessing (:func:`clinicalimaging.preprocess.refine_lesion_mask`): ROI from the
   outline points, Otsu, largest component, opening/closing/hole filling, the
   manual-or-processed rule;
2. linear interpolation along K to near-isotropic spacing, masks through signed
   distances (:mod:`.resample`);
3. rough 3-D segmentation by a level set started from the preprocessed mask, its
   speed the outline's intensity range or, for a structure of several tissues, an
   intensity model learnt inside and around the outline (:mod:`.levelset`,
   :mod:`.region_model`), then limited slice by slice beyond the outlined slices
   (:mod:`.through_plane`) and to the territory the outline wins against a background
   shell around it (:mod:`.competition`);
4. the classification stage (:mod:`.band`): per-voxel 2-D + 3-D features
   (:mod:`.features`) of the voxels in a band around the rough surface and of
   training voxels sampled from the rough interior and a shell outside it, labelled
   by the rough result (plus the user's scribbles);
5. a self-paced SVM (:class:`.self_paced.SelfPacedSVC`) trained on those and applied
   in the band. The rough labels are wrong where the level set missed the border,
   and these are the voxels with the largest losses, which the self-paced schedule
   admits last or never: the noise-robust use of self-paced learning
   (docs/segmentation.md#training-voxels). Voxels far from the rough surface alone
   would leave the SVM nothing hard to learn (it would be the plain SVM). Then the
   permutation importance of each
   feature on held-out training voxels (:mod:`.importance`, the paper's future work)
   and, optionally, a refit on the most important features only;
6. morphological clean-up (:mod:`.postprocess`) and the way back to the input grid.

The result keeps the classification stage's state, so that scribbles can refine it
later without starting again (:mod:`.refine`).
"""

import numpy as np

from ..errors import InputError
from ..preprocess import array_slice_name, outline_mask, refine_lesion_mask
from ..progress import report, subrange
from ..validation import as_scalar_volume, check_spacing
from .band import BandState, classify_band
from .competition import competition_mask
from .levelset import lesion_intensity_range, region_segmentation, rough_segmentation, signed_distance_to_surface
from .parameters import SegmentParameters
from .multiresolution import REFINE_ITERATIONS, block_mean, coarse_points, coarsening_factor, upsampled, working_factors
from .region_model import log_likelihood_ratio, outline_samples
from .through_plane import limit_through_plane
from .resample import isotropic_spacing, mask_back_to_grid, resample_image_z, resample_mask_z, thick_slices
from .result import SegmentResult, SegmentState, check_seeds

#: Slices the level set needs after interpolation to near-isotropic voxels.
MINIMUM_SLICES = 4
#: ``rough_model="auto"`` takes the threshold speed when its range holds this fraction of the outline's voxels.
AUTO_COVERAGE = 0.75
#: The threshold speed's range is the seed's mean +- this many standard deviations ...
THRESHOLD_SIGMAS = 2.5
#: ... and this many on thick slices (:func:`.resample.thick_slices`), where each slice beside the outlined one
#: holds the lesion only in part: partial volume along K spreads the intensities the front meets beyond what the
#: outlined slice's seed shows (docs/segmentation.md#level-set).
THICK_SLICE_SIGMAS = 3.5


def segment_lesion(image, points_kji, spacing=(1.0, 1.0, 1.0), parameters: SegmentParameters = None, *,
                   seeds=None, slice_name=None, progress=None) -> SegmentResult:
    """Segment one lesion outlined by a few points.

    Parameters
    ----------
    image : (K, J, I) array_like
        Scalar volume, KJI order (enhance it first if wanted).
    points_kji : (N, 3) array_like
        Outline points in continuous voxel coordinates (k, j, i), at least 3 per
        outlined slice, on one or more slices.
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    parameters : SegmentParameters, optional
    seeds : (K, J, I) array_like of int, optional
        Scribbles: :data:`LESION_SEED` (1) marks lesion, :data:`BACKGROUND_SEED` (2)
        background; 0 unmarked. They join the training voxels and override the
        result where they are.
    slice_name : callable, optional
        ``slice_name(k) -> str``: how progress and messages name slice ``k`` of
        ``image`` (default ``"slice k"``); node-level callers name the input file's
        slices (:class:`~.nodes.SliceNames`).
    progress : callable, optional
        ``progress(fraction, message)``; may raise :class:`~clinicalimaging.Cancelled`.

    Returns
    -------
    SegmentResult

    Raises
    ------
    InputError
        Bad image, points or seeds (see the steps), or no voxels to train on.
    """
    parameters = parameters or SegmentParameters()
    volume = as_scalar_volume(image, name="input image")
    spacing = check_spacing(spacing)
    seeds = check_seeds(seeds, volume.shape)
    factors = working_factors(points_kji, spacing)
    if factors == (1, 1, 1):
        state = _classification_state(volume, points_kji, spacing, parameters, progress, slice_name=slice_name)
    else:
        # A large structure on fine voxels: the chain runs on the working grid (:mod:`.multiresolution`).
        state = _classification_state(block_mean(volume, factors), coarse_points(points_kji, factors),
                                      tuple(s * f for s, f in zip(spacing, factors)), parameters, progress,
                                      factors=factors, input_shape=volume.shape,
                                      slice_name=_working_slice_name(points_kji, factors, slice_name))
    scribbles = None if seeds is None else state.scribbles_on_grid(seeds)
    band = classify_band(state.band, parameters, scribbles=scribbles, progress=subrange(progress, 0.25, 1.0))
    result = state.result(band, seeds)
    report(progress, 1.0, "Segmentation done")
    return result


def _classification_state(volume, points_kji, spacing, parameters, progress, *, factors=(1, 1, 1), input_shape=None,
                          slice_name=None):
    """Steps 1-3 of the chain on one grid: the :class:`.result.SegmentState` the classification stage starts from.

    ``factors`` and ``input_shape`` say how the grid was made from the input's (see
    :class:`.result.SegmentState`); ``slice_name`` names this grid's slices.
    """
    target_spacing = isotropic_spacing(spacing)
    slices = (volume.shape[0] - 1) * round(spacing[0] / target_spacing) + 1
    if slices < MINIMUM_SLICES:
        raise InputError(f"The volume has {volume.shape[0]} slice(s), {slices} after interpolation to near-isotropic "
                         f"voxels; the 3-D segmentation needs at least {MINIMUM_SLICES}. Segment a 3-D volume with "
                         "more slices.")
    report(progress, 0.0, "Preprocessing the outline")
    initial, details = refine_lesion_mask(volume, points_kji, spacing, margin_px=parameters.roi_padding_px,
                                          margin_z_mm=roi_margin_z_mm(points_kji, spacing, parameters),
                                          radius_px=parameters.disk_radius_px, slice_name=slice_name,
                                          progress=subrange(progress, 0.0, 0.1))
    roi = details.roi
    crop = volume[roi.slices].astype(np.float32)
    image_iso, spacing_iso = resample_image_z(crop, spacing, target_spacing)
    initial_iso, _ = resample_mask_z(initial[roi.slices], spacing, target_spacing)

    report(progress, 0.1, "Level set")
    # The speed's intensity statistics come from the user's own outline: Otsu's processed region can take in tissue
    # beside the lesion.
    outline_crop = outline_mask(points_kji, volume.shape)[roi.slices].astype(bool)
    rough_iso = _rough(image_iso, initial_iso, spacing_iso, crop, outline_crop, spacing, parameters,
                       subrange(progress, 0.1, 0.25))
    if parameters.through_plane_slope > 0:
        # The preprocessed outline is the user's boundary on the outlined slices (or the paper's processed region
        # where that reached beyond it).
        rough_iso = _limited_through_plane(rough_iso, spacing_iso, initial[roi.slices], crop.shape, spacing,
                                           parameters.through_plane_slope)
    if parameters.background_competition:
        rough_iso = _won_by_outline(rough_iso, spacing_iso, crop, np.asarray(points_kji, float) - roi.start, spacing)
    distance = signed_distance_to_surface(rough_iso, spacing_iso)
    # Small lesions: keep a confident interior by narrowing the band to half the lesion's depth.
    half_width = min(parameters.band_mm, 0.5 * float(distance.max()))
    return SegmentState(BandState(image_iso, spacing_iso, distance, half_width, initial_iso.astype(bool),
                                   np.argwhere(initial_iso).mean(axis=0)),
                        roi, crop.shape, spacing, volume.shape, parameters, rough_iso, initial, factors, input_shape)


def _working_slice_name(points_kji, factors, slice_name):
    """Names of the working grid's slices for messages: the input slices whose outline points fall in each.

    A working slice without outline points (messages name only outlined slices) is
    named after the first input slice it averages.
    """
    slice_name = slice_name or array_slice_name
    points = np.asarray(points_kji, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3 or not np.all(np.isfinite(points)):
        return slice_name  # refine_lesion_mask reports the bad points
    fine = np.floor(points[:, 0] + 0.5).astype(int)
    coarse = np.floor(coarse_points(points, factors)[:, 0] + 0.5).astype(int)
    inputs = {int(k): sorted(set(fine[coarse == k].tolist())) for k in np.unique(coarse)}

    def name(k):
        return " and ".join(slice_name(fine_k) for fine_k in inputs.get(int(k), [int(k) * factors[0]]))

    return name


def threshold_sigmas(spacing):
    """Half-width of the threshold speed's range in standard deviations: wider on thick slices.

    Parameters
    ----------
    spacing : sequence of 3 float
        The acquired volume's spacing, mm, KJI.
    """
    return THICK_SLICE_SIGMAS if thick_slices(spacing) else THRESHOLD_SIGMAS


def rough_model_for(crop, outline_crop, spacing, parameters):
    """The rough step's speed: ``parameters.rough_model``, or for ``"auto"`` the one that fits the outline.

    ``"auto"`` takes the threshold speed when its intensity range holds at least
    :data:`AUTO_COVERAGE` of the voxels inside the outline (a structure of one tissue),
    and the region model otherwise (several tissues: a contrast-filled chamber in a
    darker wall, an enhancing rim).

    Returns
    -------
    str
        ``"threshold"`` or ``"region"``.
    """
    if parameters.rough_model != "auto":
        return parameters.rough_model
    inside, _ = outline_samples(crop, outline_crop, spacing)
    lower, upper, _ = lesion_intensity_range(crop, outline_crop, spacing, threshold_sigmas=threshold_sigmas(spacing),
                                             threshold_cap=parameters.level_set_threshold_cap)
    coverage = float(((inside >= lower) & (inside <= upper)).mean())
    return "threshold" if coverage >= AUTO_COVERAGE else "region"


def _rough(image_iso, initial_iso, spacing_iso, crop, outline_crop, spacing, parameters, progress):
    """The rough segmentation on the near-isotropic crop, by the chosen speed (:func:`rough_model_for`).

    The level set starts from the preprocessed mask ``initial_iso``; the speed's
    statistics come from the outline's own region ``outline_crop`` (the region model's
    samples on the acquired slices, the threshold range on its interpolation). Large
    structures are segmented coarse to fine (:mod:`.multiresolution`).
    """
    outline_crop, initial_iso = outline_crop.astype(bool), initial_iso.astype(bool)
    if rough_model_for(crop, outline_crop, spacing, parameters) == "region":
        inside, outside = outline_samples(crop, outline_crop, spacing)
        feature = log_likelihood_ratio(image_iso, inside, outside)

        def evolve(image, start, grid_spacing, iterations, step_progress):
            return region_segmentation(image, start, grid_spacing, iterations=iterations,
                                       curvature=parameters.level_set_curvature, progress=step_progress)
    else:
        feature = image_iso
        outline_iso = resample_mask_z(outline_crop, spacing, spacing_iso[0])[0].astype(bool)
        intensity_range = lesion_intensity_range(image_iso, outline_iso, spacing_iso,
                                                 threshold_sigmas=threshold_sigmas(spacing),
                                                 threshold_cap=parameters.level_set_threshold_cap)

        def evolve(image, start, grid_spacing, iterations, step_progress):
            return rough_segmentation(image, start, grid_spacing, iterations=iterations,
                                      curvature=parameters.level_set_curvature, intensity_range=intensity_range,
                                      progress=step_progress)

    factor = coarsening_factor(initial_iso, spacing_iso)
    if factor == 1:
        return evolve(feature, initial_iso, spacing_iso, parameters.level_set_iterations, progress)
    coarse_spacing = tuple(value * factor for value in spacing_iso)
    coarse = evolve(block_mean(feature, factor), block_mean(initial_iso, factor) > 0, coarse_spacing,
                    parameters.level_set_iterations, subrange(progress, 0.0, 0.7))
    if not coarse.any():
        return np.zeros(image_iso.shape, np.uint8)
    return evolve(feature, upsampled(coarse, factor, image_iso.shape), spacing_iso,
                  min(REFINE_ITERATIONS, parameters.level_set_iterations), subrange(progress, 0.7, 1.0))


def _limited_through_plane(rough_iso, spacing_iso, outline_mask, crop_shape, spacing, slope):
    """The rough mask after :func:`.through_plane.limit_through_plane` on the acquired slices, back on the fine grid.

    Where the rule removed something, the fine slices keep only what the shape-based
    interpolation of the limited acquired slices allows.
    """
    acquired = mask_back_to_grid(rough_iso, spacing_iso, crop_shape, spacing).astype(bool)
    limited = limit_through_plane(acquired, outline_mask, spacing, slope=slope)
    if np.array_equal(limited, acquired):
        return rough_iso
    if not limited.any():
        return np.zeros_like(rough_iso)
    allowed = limited if tuple(spacing_iso) == tuple(spacing) else \
        resample_mask_z(limited, spacing, spacing_iso[0])[0].astype(bool)
    return (rough_iso.astype(bool) & allowed).view(np.uint8)


def _won_by_outline(rough_iso, spacing_iso, crop, points_crop, spacing):
    """The rough mask where the outline wins the seeded competition (:func:`.competition.competition_mask`).

    The competition runs on the acquired slices of the crop (the working grid keeps its
    size bounded); on the fine grid the rough mask keeps what the shape-based
    interpolation of the outline's territory allows.
    """
    won = competition_mask(crop, points_crop)
    allowed = won if tuple(spacing_iso) == tuple(spacing) else resample_mask_z(won, spacing, spacing_iso[0])[0]
    return (rough_iso.astype(bool) & allowed.astype(bool)).view(np.uint8)


def roi_margin_z_mm(points_kji, spacing, parameters):
    """The ROI's margin along K: at least the outline's largest in-plane extent.

    An outline on one slice says nothing about the lesion's height; a lesion is
    about as tall as it is wide, so the ROI reaches that far above and below.
    """
    points = np.asarray(points_kji, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3 or not np.all(np.isfinite(points)):
        return parameters.roi_padding_z_mm  # refine_lesion_mask reports the bad points
    extent_mm = float(np.max(np.ptp(points[:, 1:], axis=0) * spacing[1:]))
    return max(parameters.roi_padding_z_mm, extent_mm)
