"""Rough 3-D lesion segmentation by a SimpleITK level set, initialised from a mask.

The initial level set is the signed distance to the initial mask's surface,
positive inside; ITK's level-set filters take the inside as negative, so
``ReverseExpansionDirection`` is switched on and the result is the set where
the output level set is positive (docs/segmentation.md#level-set; SimpleITK notebook 300).

The speed is ``ThresholdSegmentationLevelSetImageFilter``'s: the front grows
where the (lightly smoothed) intensity lies in the lesion's range and shrinks
elsewhere, so it both grows from a too-small and shrinks from a too-large
initial mask; good for a lesion of roughly uniform intensity. (A geodesic active
contour on the sigmoid of the gradient magnitude was tried and leaked out of the
weak edges of the phantom lesions; it is not offered.)

Level sets are dense in memory and time: pass a crop around the lesion (the
ROI), not the whole volume, and preferably with near-isotropic voxels
(:mod:`.resample`). Arrays are in KJI order, spacing in mm in the same order.
"""

import numpy as np
import scipy.ndimage
import SimpleITK as sitk

from ..errors import Cancelled, InputError
from ..progress import report
from ..validation import as_binary_mask, as_scalar_volume, check_spacing

#: The evolution stops when the RMS change of the level set per iteration falls below this. ITK's examples use
#: 0.02, which stops a front that has settled in-plane but still climbs slowly along K (brain1 from one outlined
#: slice: rough Dice 0.56 at 0.02, 0.66 at 0.005); the threshold cap, not this, has to stop leaks.
MAXIMUM_RMS_CHANGE = 0.005


def signed_distance_to_surface(mask, spacing):
    """Signed Euclidean distance to the surface of a mask, in mm, positive inside.

    Inside voxels hold their distance to the nearest outside voxel and outside
    voxels minus their distance to the nearest inside voxel, so the zero level
    lies half-way between the two layers of voxels at the surface (SimpleITK's
    ``SignedMaurerDistanceMap`` puts it on the inside layer instead).

    Parameters
    ----------
    mask : (K, J, I) array_like
        Non-zero inside; must have voxels inside and outside.
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.

    Returns
    -------
    (K, J, I) ndarray of float32
        Distance in mm; ``|value| >=`` the smallest spacing everywhere.

    Raises
    ------
    InputError
        An empty or full mask (it has no surface).
    """
    inside = as_binary_mask(mask)
    spacing = check_spacing(spacing)
    if inside.all() or not inside.any():
        raise InputError("The mask is " + ("full" if inside.all() else "empty") +
                         ": it has no surface to measure distances to.")
    distance = scipy.ndimage.distance_transform_edt(inside, sampling=spacing)
    distance -= scipy.ndimage.distance_transform_edt(~inside, sampling=spacing)
    return distance.astype(np.float32)


def rough_segmentation(image, initial_mask, spacing, *, iterations=200, curvature=0.05,
                       threshold_sigmas=2.5, threshold_cap=0.5, smoothing_mm=0.5, intensity_range=None,
                       progress=None):
    """Evolve a level set from an initial mask to the lesion's boundary.

    The lesion's intensity range is the seed's mean -/+ ``threshold_sigmas``
    standard deviations (docs/segmentation.md#level-set), each side capped at
    ``threshold_cap`` of the way to the tissue around the initial mask on that side. The seed is the deeper half of
    the initial mask, so that a mask drawn somewhat too large still samples the
    lesion rather than its surroundings. The front's speed follows
    ``ThresholdSegmentationLevelSetImageFilter`` (propagation 1, maximum RMS
    change :data:`MAXIMUM_RMS_CHANGE`).

    Parameters
    ----------
    image : (K, J, I) array_like
        Scalar volume, a crop around the lesion (the level set is dense: its
        cost grows with the crop's size).
    initial_mask : (K, J, I) array_like
        Non-zero inside the initial estimate of the lesion (e.g. the
        preprocessed outline).
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    iterations : int
        Largest number of iterations; the evolution also stops when the RMS
        change of the level set falls below :data:`MAXIMUM_RMS_CHANGE`.
    curvature : float
        Weight of the curvature (smoothness) term; the propagation weight is 1
        and the speed is measured in standard deviations of the seed, so
        the weight does not depend on the image's intensity scale.
    threshold_sigmas : float
        ``k`` of the threshold method: intensities within ``k`` standard
        deviations of the seed mean count as lesion (notebooks: 1.5-3.5).
    threshold_cap : float
        In (0, 1]: fraction of the way from the seed mean to the median of the
        surrounding tissue (on each side) beyond which the range never reaches,
        so a low-contrast lesion does not leak into its organ. Half-way (the
        default) suits a full 3-D initial mask; from an outline on one slice it
        shrinks small lesions by their partial-volume rim, and the segmentation
        chain uses 0.75 (:class:`~.parameters.SegmentParameters`; 0.9 let the
        CT phantoms' lesions leak into the liver once the front ran 600
        iterations: phantom mean Dice 0.77 against 0.90).
    smoothing_mm : float
        Standard deviation (mm) of the Gaussian applied to the image before the
        threshold speed; 0 for none.
    intensity_range : tuple of 3 float, optional
        ``(lower, upper, sigma)`` of :func:`lesion_intensity_range`, when the range
        comes from another grid or mask (e.g. coarse-to-fine); default computed here
        from ``initial_mask``.
    progress : callable, optional
        ``progress(fraction, message)``; may raise :class:`~clinicalimaging.Cancelled`.

    Returns
    -------
    (K, J, I) ndarray of uint8
        1 inside the segmented lesion.

    Raises
    ------
    InputError
        Constant image, empty or full initial mask, shape mismatch, bad options.
    """
    volume = as_scalar_volume(image)
    inside = as_binary_mask(initial_mask, name="initial mask")
    spacing = check_spacing(spacing)
    if inside.shape != volume.shape:
        raise InputError(f"The initial mask (shape {inside.shape}) does not match the image (shape {volume.shape}).")
    if iterations < 1 or curvature < 0 or threshold_sigmas <= 0 or smoothing_mm < 0 or not 0 < threshold_cap <= 1:
        raise InputError("Level set: iterations must be >= 1, curvature >= 0, threshold_sigmas > 0, "
                         "threshold_cap in (0, 1] and smoothing_mm >= 0; got "
                         f"{iterations}, {curvature}, {threshold_sigmas}, {threshold_cap}, {smoothing_mm}.")
    if not inside.any():
        raise InputError("The initial mask of the level set is empty: outline the lesion first.")
    report(progress, 0.0, "Level set: initialising")
    lower, upper, unit = intensity_range or lesion_intensity_range(
        volume, inside, spacing, threshold_sigmas=threshold_sigmas, threshold_cap=threshold_cap,
        smoothing_mm=smoothing_mm)
    # ITK's sparse-field front never takes in the image's outermost voxels: a lesion cut by the crop (an organ
    # leaving the volume) would lose its last slice. One replicated voxel on every side gives it room.
    feature = _smoothed(np.pad(volume, 1, mode="edge"), spacing, smoothing_mm)
    inside = np.pad(inside, 1, mode="edge")
    # ITK's threshold speed is in the image's intensity unit and its curvature term is not: in units of the seed's
    # standard deviation their balance, and so the result, do not depend on how the image is scaled.
    result = _evolve(inside, sitk.Cast(feature / unit, sitk.sitkFloat32), spacing, lower / unit, upper / unit,
                     iterations, curvature, progress)
    report(progress, 1.0, "Level set: done")
    return result


def lesion_intensity_range(image, initial_mask, spacing, *, threshold_sigmas=2.5, threshold_cap=0.5,
                           smoothing_mm=0.5):
    """The intensity range of :func:`rough_segmentation`'s threshold speed.

    Parameters
    ----------
    image : (K, J, I) ndarray
    initial_mask : (K, J, I) ndarray of bool
    spacing : sequence of 3 float
        mm, KJI.
    threshold_sigmas, threshold_cap, smoothing_mm
        As in :func:`rough_segmentation`.

    Returns
    -------
    lower, upper : float
        The range, in the image's intensity unit.
    sigma : float
        The seed's standard deviation (1 for a constant seed).
    """
    feature = _smoothed(image, spacing, smoothing_mm)
    return _lesion_intensity_range(np.asarray(image), sitk.GetArrayViewFromImage(feature),
                                   _in_plane_signed_distance(initial_mask, spacing), threshold_sigmas, threshold_cap)


def region_segmentation(log_ratio, initial_mask, spacing, *, iterations=600, curvature=0.05, smoothing_mm=0.5,
                        evidence=0.5, progress=None):
    """Evolve a level set from an initial mask over a log-likelihood-ratio map: grow where it is high enough.

    The speed is ``ThresholdSegmentationLevelSetImageFilter``'s with the range
    ``[evidence, 2 L + 1]`` of the ratio (``L`` its clip limit): the front advances at
    a speed of the ratio minus ``evidence`` (in nats) where the structure's intensity
    model is clearly the likelier and retreats elsewhere; the curvature term keeps it
    from leaking through thin gaps.

    Parameters
    ----------
    log_ratio : (K, J, I) array_like
        :func:`clinicalimaging.segment.region_model.log_likelihood_ratio` of the crop.
    initial_mask : (K, J, I) array_like
    spacing : sequence of 3 float
        mm, KJI.
    iterations, curvature, smoothing_mm, progress
        As in :func:`rough_segmentation`.
    evidence : float
        Nats by which the structure's model must beat the surroundings' for the front
        to advance (0.5: 1.6 times as likely; 0 lets tissues merely commoner inside
        than in the ring join, which leaks into organs of the same density).

    Returns
    -------
    (K, J, I) ndarray of uint8
    """
    from .region_model import LLR_LIMIT

    ratio = as_scalar_volume(log_ratio, name="log-likelihood ratio")
    inside = as_binary_mask(initial_mask, name="initial mask")
    spacing = check_spacing(spacing)
    if inside.shape != ratio.shape:
        raise InputError(f"The initial mask (shape {inside.shape}) does not match the map (shape {ratio.shape}).")
    if not inside.any():
        raise InputError("The initial mask of the level set is empty: outline the lesion first.")
    report(progress, 0.0, "Level set: initialising")
    feature = _smoothed(np.pad(ratio, 1, mode="edge"), spacing, smoothing_mm)
    inside = np.pad(inside, 1, mode="edge")
    result = _evolve(inside, sitk.Cast(feature, sitk.sitkFloat32), spacing, evidence, 2 * LLR_LIMIT + 1, iterations,
                     curvature, progress)
    report(progress, 1.0, "Level set: done")
    return result


def _evolve(inside, feature, spacing, lower, upper, iterations, curvature, progress):
    """The threshold level set from the padded mask ``inside`` over ``feature``; the mask without its padding."""
    distance = signed_distance_to_surface(_thickened_where_one_voxel_thick(inside), spacing)
    level_set = sitk.ThresholdSegmentationLevelSetImageFilter()
    level_set.SetLowerThreshold(float(lower))
    level_set.SetUpperThreshold(float(upper))
    level_set.SetMaximumRMSError(MAXIMUM_RMS_CHANGE)
    level_set.SetNumberOfIterations(int(iterations))
    level_set.SetCurvatureScaling(float(curvature))
    level_set.SetPropagationScaling(1.0)
    level_set.ReverseExpansionDirectionOn()
    result = sitk.GetArrayFromImage(_execute(level_set, _sitk_image(distance, spacing), feature, progress))
    return (result[1:-1, 1:-1, 1:-1] > 0).view(np.uint8)


def _thickened_where_one_voxel_thick(inside):
    """The mask grown by one voxel along K around every voxel with no mask voxel above or below it.

    A front one voxel thick (an outline on one slice of a volume that needs no
    interpolation) has no inside layer: its level set has no gradient across it and
    ITK's sparse-field solver never moves it along K, however far the lesion reaches
    (measured on a uniform cube: a one-slice front gains one slice and stops; two or
    three slices fill the cube).
    """
    along_k = np.ones((3, 1, 1), dtype=bool)
    thin = inside & ~scipy.ndimage.binary_dilation(inside, structure=np.array([[[True]], [[False]], [[True]]]))
    return inside | scipy.ndimage.binary_dilation(thin, structure=along_k) if thin.any() else inside


def _in_plane_signed_distance(inside, spacing):
    """Signed in-slice distance (mm, positive inside) on the slices holding the mask; NaN on the others.

    An outline is drawn on a few slices, so the tissue it separates the lesion from
    lies beside it in those slices; above and below lies more lesion.
    """
    distance = np.full(inside.shape, np.nan, dtype=np.float32)
    for k in np.flatnonzero(inside.any(axis=(1, 2))):
        distance[k] = (scipy.ndimage.distance_transform_edt(inside[k], sampling=spacing[1:])
                       - scipy.ndimage.distance_transform_edt(~inside[k], sampling=spacing[1:]))
    return distance


def _lesion_intensity_range(volume, feature, distance, threshold_sigmas, threshold_cap):
    """Threshold range of the seed: ``mean - k sigma .. mean + k sigma``, each side capped at ``threshold_cap``.

    Returns ``(lower, upper, sigma)``, ``sigma`` being 1 for a constant seed.

    ``distance`` is the in-slice signed distance of :func:`_in_plane_signed_distance`.
    The seed is the deeper half of the initial mask (depth ``d``: its largest
    inside distance); the surroundings are the pixels between ``d`` and ``2 d``
    outside it on the same slices (all the pixels beside it when the crop is too
    tight for that ring; no cap at all when there are none). The mean is taken on
    the smoothed feature image, ``sigma`` on the unsmoothed image (noise and
    texture). On each side, the range stops at
    ``threshold_cap`` of the way to the median of the surrounding voxels on that
    side (brighter, darker than the mean): ``k sigma`` alone lets a low-contrast
    lesion leak into its organ.
    """
    depth = float(np.nanmax(distance))
    seed = distance >= depth / 2
    surroundings = feature[(distance <= -depth) & (distance >= -2 * depth)]
    if surroundings.size == 0:  # a mask reaching the crop's edges: whatever lies beside it, if anything
        surroundings = feature[distance < 0]
    mean = float(feature[seed].mean())
    sigma = float(volume[seed].std())
    half_width = threshold_sigmas * sigma
    brighter, darker = surroundings[surroundings > mean], surroundings[surroundings < mean]
    upper = (min(mean + half_width, mean + threshold_cap * (float(np.median(brighter)) - mean)) if brighter.size
             else mean + half_width)
    lower = (max(mean - half_width, mean + threshold_cap * (float(np.median(darker)) - mean)) if darker.size
             else mean - half_width)
    return lower, upper, sigma if sigma > 0 else 1.0


def _execute(level_set, initial, feature, progress):
    """Run the filter, reporting each iteration; a :class:`Cancelled` from ``progress`` aborts it and propagates."""
    cancelled, elapsed = [], [0]

    def on_iteration():
        elapsed[0] += 1
        try:
            report(progress, elapsed[0] / level_set.GetNumberOfIterations(), "Level set: evolving")
        except Cancelled as error:  # SimpleITK would turn it into a RuntimeError
            cancelled.append(error)
            level_set.Abort()

    if progress is not None:
        level_set.AddCommand(sitk.sitkIterationEvent, on_iteration)
    try:
        return level_set.Execute(initial, feature)
    except RuntimeError:
        if cancelled:
            raise cancelled[0] from None
        raise


def _smoothed(array, spacing, smoothing_mm):
    """The array as a SimpleITK image, smoothed by a Gaussian of ``smoothing_mm`` (none for 0)."""
    image = _sitk_image(array, spacing)
    return sitk.SmoothingRecursiveGaussian(image, smoothing_mm) if smoothing_mm > 0 else image


def _sitk_image(array, spacing):
    image = sitk.GetImageFromArray(np.ascontiguousarray(array, dtype=np.float32))
    image.SetSpacing([float(value) for value in spacing[::-1]])
    return image
