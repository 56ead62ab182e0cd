"""Per-voxel features for the lesion classifier: 32 in-slice (2-D) and 29 3-D features.

The 61-dimensional vector of docs/segmentation.md#voxel-features (the paper gives only the count).
Window sizes and filter scales are in voxels ("px"): the segmentation computes
features on its near-isotropic grid, where a voxel is about the same length along
every axis; derivatives are divided by the spacing and are in image units per mm.
Texture features quantise the intensity to 8 levels over the robust range
(0.5th–99.5th percentile) of the voxels the features are computed at, and the
gradient magnitude likewise (:func:`~.ggcm.quantise`). Features are not
standardised here; they differ by orders of magnitude.

Local GLCM (Haralick et al., 1973; docs/segmentation.md#glcm): pairs ``(p, p + d)`` at
distance 1 whose first voxel ``p`` lies in the window, over 4 in-slice directions
(2-D) or 13 directions (3-D), counted in both orders (symmetric matrix ``P``).
Contrast, homogeneity and correlation are box filters of pair statistics; the
angular second moment (Haralick's ``sum P**2``, scikit-image's ``"ASM"``, the
square of its ``"energy"``) and entropy (``-sum P log P``, natural log)
box-filter one indicator map per occupied pair of levels. Correlation is 1 in a
window of a single level (scikit-image's convention).

=====  ================================  =====  ======================================================  ===========
 col   name                              dim    description                                             unit
=====  ================================  =====  ======================================================  ===========
   0   intensity                         2d     voxel intensity                                         image
   1   mean_3x3                          2d     in-slice mean, 3x3 px                                   image
   2   std_3x3                           2d     in-slice standard deviation, 3x3 px                     image
   3   mean_5x5                          2d     in-slice mean, 5x5 px                                   image
   4   std_5x5                           2d     in-slice standard deviation, 5x5 px                     image
   5   mean_7x7                          2d     in-slice mean, 7x7 px                                   image
   6   std_7x7                           2d     in-slice standard deviation, 7x7 px                     image
   7   sobel_magnitude                   2d     in-slice Sobel gradient magnitude                       image/mm
   8   sobel_direction                   2d     in-slice gradient direction atan2(dJ, dI)               rad
   9   log_sigma1px                      2d     in-slice LoG, sigma 1 px, times sigma**2                image
  10   log_sigma2px                      2d     in-slice LoG, sigma 2 px, times sigma**2                image
  11   log_sigma3px                      2d     in-slice LoG, sigma 3 px, times sigma**2                image
  12   glcm2d_contrast                   2d     local GLCM contrast, 5x5, 4 directions                  level**2
  13   glcm2d_correlation                2d     local GLCM correlation, 5x5, 4 directions               1
  14   glcm2d_angular_second_moment      2d     local GLCM angular second moment, 5x5, 4 directions     1
  15   glcm2d_homogeneity                2d     local GLCM homogeneity, 5x5, 4 directions               1
  16   glcm2d_entropy                    2d     local GLCM entropy, 5x5, 4 directions                   nat
  17   ggcm2d_small_gradient_dominance   2d     local GGCM T1, 5x5, 2d gradient                         1
  18   ggcm2d_large_gradient_dominance   2d     local GGCM T2, 5x5, 2d gradient                         level**2
  19   ggcm2d_grey_nonuniformity         2d     local GGCM T3, 5x5, 2d gradient                         voxels
  20   ggcm2d_gradient_nonuniformity     2d     local GGCM T4, 5x5, 2d gradient                         voxels
  21   ggcm2d_angular_second_moment      2d     local GGCM T5, 5x5, 2d gradient                         1
  22   ggcm2d_grey_mean                  2d     local GGCM T6, 5x5, 2d gradient                         level
  23   ggcm2d_gradient_mean              2d     local GGCM T7, 5x5, 2d gradient                         level
  24   ggcm2d_grey_std                   2d     local GGCM T8, 5x5, 2d gradient                         level
  25   ggcm2d_gradient_std               2d     local GGCM T9, 5x5, 2d gradient                         level
  26   ggcm2d_correlation                2d     local GGCM T10, 5x5, 2d gradient                        level**2
  27   ggcm2d_grey_entropy               2d     local GGCM T11, 5x5, 2d gradient                        nat
  28   ggcm2d_gradient_entropy           2d     local GGCM T12, 5x5, 2d gradient                        nat
  29   ggcm2d_mixed_entropy              2d     local GGCM T13, 5x5, 2d gradient                        nat
  30   ggcm2d_inertia                    2d     local GGCM T14, 5x5, 2d gradient                        level**2
  31   ggcm2d_inverse_difference_moment  2d     local GGCM T15, 5x5, 2d gradient                        1
  32   mean_3x3x3                        3d     mean, 3x3x3 voxels                                      image
  33   std_3x3x3                         3d     standard deviation, 3x3x3 voxels                        image
  34   mean_5x5x5                        3d     mean, 5x5x5 voxels                                      image
  35   std_5x5x5                         3d     standard deviation, 5x5x5 voxels                        image
  36   gradient_magnitude_3d             3d     3-D Sobel gradient magnitude                            image/mm
  37   hessian_eigenvalue_1              3d     Hessian eigenvalue 1 of 3 (ascending), sigma 1 voxel    image/mm**2
  38   hessian_eigenvalue_2              3d     Hessian eigenvalue 2 of 3 (ascending), sigma 1 voxel    image/mm**2
  39   hessian_eigenvalue_3              3d     Hessian eigenvalue 3 of 3 (ascending), sigma 1 voxel    image/mm**2
  40   glcm3d_contrast                   3d     local GLCM contrast, 5x5x5, 13 directions               level**2
  41   glcm3d_correlation                3d     local GLCM correlation, 5x5x5, 13 directions            1
  42   glcm3d_angular_second_moment      3d     local GLCM angular second moment, 5x5x5, 13 directions  1
  43   glcm3d_homogeneity                3d     local GLCM homogeneity, 5x5x5, 13 directions            1
  44   glcm3d_entropy                    3d     local GLCM entropy, 5x5x5, 13 directions                nat
  45   ggcm3d_small_gradient_dominance   3d     local GGCM T1, 5x5x5, 3d gradient                       1
  46   ggcm3d_large_gradient_dominance   3d     local GGCM T2, 5x5x5, 3d gradient                       level**2
  47   ggcm3d_grey_nonuniformity         3d     local GGCM T3, 5x5x5, 3d gradient                       voxels
  48   ggcm3d_gradient_nonuniformity     3d     local GGCM T4, 5x5x5, 3d gradient                       voxels
  49   ggcm3d_angular_second_moment      3d     local GGCM T5, 5x5x5, 3d gradient                       1
  50   ggcm3d_grey_mean                  3d     local GGCM T6, 5x5x5, 3d gradient                       level
  51   ggcm3d_gradient_mean              3d     local GGCM T7, 5x5x5, 3d gradient                       level
  52   ggcm3d_grey_std                   3d     local GGCM T8, 5x5x5, 3d gradient                       level
  53   ggcm3d_gradient_std               3d     local GGCM T9, 5x5x5, 3d gradient                       level
  54   ggcm3d_correlation                3d     local GGCM T10, 5x5x5, 3d gradient                      level**2
  55   ggcm3d_grey_entropy               3d     local GGCM T11, 5x5x5, 3d gradient                      nat
  56   ggcm3d_gradient_entropy           3d     local GGCM T12, 5x5x5, 3d gradient                      nat
  57   ggcm3d_mixed_entropy              3d     local GGCM T13, 5x5x5, 3d gradient                      nat
  58   ggcm3d_inertia                    3d     local GGCM T14, 5x5x5, 3d gradient                      level**2
  59   ggcm3d_inverse_difference_moment  3d     local GGCM T15, 5x5x5, 3d gradient                      1
  60   distance_to_centre                3d     distance to the outline's centre (given)                mm
=====  ================================  =====  ======================================================  ===========

("image" = the image's intensity unit; "level" = quantisation level; GGCM
features as defined in :mod:`.ggcm`.)

Memory: the bounding box of the mask is processed in slabs along K of about
:data:`~clinicalimaging.blocks.SLAB_VOXELS` voxels (in-slice halo included) plus 4 halo slices on
each side; the temporaries take about 200 bytes per slab voxel (measured: 270 MB
for a 1.3 M-voxel slab, all voxels selected), whatever the volume size, plus the
(N, 61) float32 result.
"""

import itertools

import numpy as np
from scipy import ndimage, special

from ..blocks import box_slices, core_slices, padded_block, slab_boxes
from ..enhance.fractal import intensity_range
from ..errors import InputError
from ..progress import report, subrange
from ..validation import as_scalar_volume, check_spacing, on_image_grid
from .ggcm import GGCM_FEATURES, ggcm_halo, gradient_magnitude, local_ggcm_values, quantise, sobel_gradient

#: Quantisation levels of the texture features (GLCM grey, GGCM grey and gradient).
TEXTURE_LEVELS = 8
_IN_SLICE_WINDOWS = (3, 5, 7)
_WINDOWS_3D = (3, 5)
_LOG_SIGMAS_PX = (1, 2, 3)
_HESSIAN_SIGMA = 1.0
_TEXTURE_SIZE = {"2d": (1, 5, 5), "3d": (5, 5, 5)}
_GLCM_OFFSETS = {
    "2d": ((0, 0, 1), (0, 1, 0), (0, 1, 1), (0, 1, -1)),
    "3d": tuple((k, j, i) for k in (-1, 0, 1) for j in (-1, 0, 1) for i in (-1, 0, 1) if (k, j, i) > (0, 0, 0)),
}
_GLCM_FEATURES = (("contrast", "level**2"), ("correlation", "1"), ("angular_second_moment", "1"),
                  ("homogeneity", "1"), ("entropy", "nat"))
_TRUNCATE = 4.0  # scipy's Gaussian kernel radius, in sigmas
# Voxels of real or mirrored neighbours a block needs around its core, KJI: the widest filter along each axis
# (Hessian 4 voxels along K; in-slice LoG of sigma 3 px, 12 px along J and I).
_HALO = (max(int(_TRUNCATE * _HESSIAN_SIGMA + 0.5), ggcm_halo(_TEXTURE_SIZE["3d"], "3d")[0]),
         int(_TRUNCATE * max(_LOG_SIGMAS_PX) + 0.5), int(_TRUNCATE * max(_LOG_SIGMAS_PX) + 0.5))


def _feature_table() -> tuple:
    in_slice = [("intensity", "voxel intensity", "image")]
    for w in _IN_SLICE_WINDOWS:
        in_slice += [(f"mean_{w}x{w}", f"in-slice mean, {w}x{w} px", "image"),
                     (f"std_{w}x{w}", f"in-slice standard deviation, {w}x{w} px", "image")]
    in_slice += [("sobel_magnitude", "in-slice Sobel gradient magnitude", "image/mm"),
                 ("sobel_direction", "in-slice gradient direction atan2(dJ, dI)", "rad")]
    in_slice += [(f"log_sigma{sigma}px", f"in-slice LoG, sigma {sigma} px, times sigma**2", "image")
                 for sigma in _LOG_SIGMAS_PX]
    volumetric = []
    for w in _WINDOWS_3D:
        volumetric += [(f"mean_{w}x{w}x{w}", f"mean, {w}x{w}x{w} voxels", "image"),
                       (f"std_{w}x{w}x{w}", f"standard deviation, {w}x{w}x{w} voxels", "image")]
    volumetric += [("gradient_magnitude_3d", "3-D Sobel gradient magnitude", "image/mm")]
    volumetric += [(f"hessian_eigenvalue_{n}", f"Hessian eigenvalue {n} of 3 (ascending), sigma 1 voxel",
                    "image/mm**2") for n in (1, 2, 3)]
    rows = []
    for dimension, first_rows in (("2d", in_slice), ("3d", volumetric)):
        window = "x".join(map(str, _TEXTURE_SIZE[dimension][dimension == "2d":]))
        rows += [(name, description, dimension, unit) for name, description, unit in first_rows]
        rows += [(f"glcm{dimension}_{name}", f"local GLCM {name.replace('_', ' ')}, {window}, "
                  f"{len(_GLCM_OFFSETS[dimension])} directions", dimension, unit) for name, unit in _GLCM_FEATURES]
        rows += [(f"ggcm{dimension}_{key}", f"local GGCM {description.split()[0]}, {window}, {dimension} gradient",
                  dimension, unit) for key, description, unit in GGCM_FEATURES]
    rows.append(("distance_to_centre", "distance to the outline's centre (given)", "3d", "mm"))
    return tuple(rows)


#: (name, description, dimension "2d"/"3d", unit) of every feature, in column order.
FEATURES = _feature_table()
FEATURE_NAMES = tuple(row[0] for row in FEATURES)


def voxel_features(image, spacing, *, mask=None, centre=None, ranges=None, progress=None):
    """Compute the 61 features of :data:`FEATURES` at the voxels of a mask.

    Parameters
    ----------
    image : (K, J, I) or (J, I) array_like
        Scalar volume in KJI order.
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    mask : (K, J, I) array_like of bool, optional
        Voxels to describe (the uncertain band and the training voxels); default
        every voxel. Neighbourhoods reach outside the mask into the whole image.
        The texture features quantise over the robust ranges of the mask voxels'
        intensity and gradient magnitudes, so compute the training and prediction
        voxels in one call.
    centre : sequence of 3 float, optional
        Where the lesion is thought to be (the centroid of the user's outline), in
        continuous voxel coordinates (k, j, i): the spatial feature is the distance
        to it in mm. Default: the centroid of the mask.
    ranges : dict, optional
        The texture features' quantisation ranges (:func:`texture_ranges`), to describe
        more voxels later on the same scale; default those of ``mask``.
    progress : callable, optional
        ``progress(fraction, message)``; may raise :class:`~clinicalimaging.Cancelled`.

    Returns
    -------
    features : (N, 61) float32 ndarray
        One row per mask voxel, in the order of ``np.nonzero(mask)``; N = ``mask.sum()``.
    names : tuple of str
        Column names, :data:`FEATURE_NAMES`.

    Raises
    ------
    InputError
        Not a scalar image, wrong spacing, a mask of another shape, a centre that is
        not 3 finite numbers.
    """
    volume = as_scalar_volume(image, name="image", allow_constant=True)
    spacing = check_spacing(spacing)
    mask = on_image_grid(np.ones(volume.shape, bool) if mask is None else mask, volume.shape, name="mask").astype(bool)
    centre = _check_centre(centre, mask)
    features = np.zeros((int(np.count_nonzero(mask)), len(FEATURES)), dtype=np.float32)
    if len(features) == 0:
        return features, FEATURE_NAMES
    slabs = _slabs(mask)
    if ranges is None:
        ranges = _texture_ranges(volume, spacing, mask, slabs, subrange(progress, 0.0, 0.1))
    row = 0
    for number, box in enumerate(slabs):
        report(progress, 0.1 + 0.9 * number / len(slabs), f"Voxel features: slab {number + 1} of {len(slabs)}")
        core_mask = mask[box_slices(box)]
        count = int(np.count_nonzero(core_mask))
        if count:
            block = padded_block(volume, box, _HALO)
            where = np.zeros(block.shape, dtype=bool)
            where[core_slices(box, _HALO)] = core_mask
            _slab_features(block, where, spacing, ranges, features[row:row + count, :-1])
            row += count
    features[:, -1] = np.sqrt(sum(np.square((indices - at) * step)
                                  for indices, at, step in zip(np.nonzero(mask), centre, spacing)))
    report(progress, 1.0, "Voxel features done")
    return features, FEATURE_NAMES


def texture_ranges(image, spacing, mask):
    """The quantisation ranges of the texture features over a mask's voxels.

    Returns
    -------
    dict
        ``"grey"``, ``"gradient_2d"``, ``"gradient_3d"``: (low, high) robust ranges
        (0.5th and 99.5th percentiles) of the intensity and the gradient magnitudes.
    """
    volume = as_scalar_volume(image, name="image", allow_constant=True)
    spacing = check_spacing(spacing)
    mask = on_image_grid(mask, volume.shape, name="mask").astype(bool)
    if not mask.any():
        raise InputError("The mask is empty: there are no voxels to take the texture ranges from.")
    return _texture_ranges(volume, spacing, mask, _slabs(mask), None)


def _slabs(mask):
    """The slabs along K of the mask's bounding box."""
    return slab_boxes([(int(indices.min()), int(indices.max()) + 1) for indices in np.nonzero(mask)], _HALO)


def _texture_ranges(volume, spacing, mask, slabs, progress):
    ranges = {"grey": intensity_range(volume[mask])}
    ranges.update(_gradient_ranges(volume, spacing, mask, slabs, progress))
    return ranges


def _slab_features(block: np.ndarray, where: np.ndarray, spacing, ranges, out: np.ndarray) -> None:
    """Write the features but the spatial one at the ``where`` voxels of a padded block into ``out`` (N, 60)."""
    grey = quantise(block, TEXTURE_LEVELS, ranges["grey"])
    groups = (
        [block[where]],
        _local_statistics(block, where, [(1, w, w) for w in _IN_SLICE_WINDOWS]),
        _in_slice_gradient(block, where, spacing),
        (_in_slice_log(block, sigma)[where] for sigma in _LOG_SIGMAS_PX),
        _texture(block, grey, where, spacing, ranges, "2d"),
        _local_statistics(block, where, [(w, w, w) for w in _WINDOWS_3D]),
        [gradient_magnitude(block, spacing, gradient="3d")[where]],
        _hessian_eigenvalues(block, where, spacing).T,
        _texture(block, grey, where, spacing, ranges, "3d"),
    )
    for column, values in enumerate(itertools.chain.from_iterable(groups)):
        out[:, column] = values


def _check_centre(centre, mask):
    """The centre (k, j, i) as floats; the mask's centroid when ``None`` (the origin for an empty mask)."""
    if centre is None:
        return np.array(np.nonzero(mask), dtype=np.float64).mean(axis=1) if mask.any() else np.zeros(3)
    values = np.asarray(centre, dtype=np.float64)
    if values.shape != (3,) or not np.all(np.isfinite(values)):
        raise InputError(f"The outline's centre must be 3 finite voxel coordinates (k, j, i); got {centre!r}.")
    return values


def _local_statistics(block, where, sizes):
    """Mean and standard deviation over each box size, at the voxels."""
    for size in sizes:
        mean = ndimage.uniform_filter(block, size, output=np.float64, mode="reflect")[where]
        square = ndimage.uniform_filter(np.square(block, dtype=np.float64), size, mode="reflect")[where]
        yield mean
        yield np.sqrt(np.maximum(square - mean ** 2, 0.0))


def _in_slice_gradient(block, where, spacing):
    """In-slice Sobel magnitude and direction ``atan2(dJ, dI)`` at the voxels."""
    gradient_j, gradient_i = (component[where] for component in sobel_gradient(block, spacing, axes=(1, 2)))
    return np.hypot(gradient_j, gradient_i), np.arctan2(gradient_j, gradient_i)


def _in_slice_log(block, sigma_px) -> np.ndarray:
    """Scale-normalised in-slice Laplacian of Gaussian, ``sigma**2 (G_jj + G_ii)`` (sigma in px)."""
    # gaussian_laplace would need sigma 0 along K, where scipy skips the derivative and adds the image back.
    sigmas = (0.0, sigma_px, sigma_px)
    laplacian = ndimage.gaussian_filter(block, sigmas, order=(0, 2, 0), mode="reflect", truncate=_TRUNCATE)
    laplacian += ndimage.gaussian_filter(block, sigmas, order=(0, 0, 2), mode="reflect", truncate=_TRUNCATE)
    return laplacian * sigma_px ** 2


def _hessian_eigenvalues(block, where, spacing) -> np.ndarray:
    """(N, 3) ascending eigenvalues of the Gaussian Hessian (sigma 1 voxel), in image units per mm**2."""
    hessian = np.empty((int(np.count_nonzero(where)), 3, 3))
    for first in range(3):
        for second in range(first, 3):
            order = [0, 0, 0]
            order[first] += 1
            order[second] += 1
            derivative = ndimage.gaussian_filter(block, _HESSIAN_SIGMA, order=order, mode="reflect",
                                                 truncate=_TRUNCATE)[where]
            hessian[:, first, second] = hessian[:, second, first] = derivative / (spacing[first] * spacing[second])
    return np.linalg.eigvalsh(hessian)


def _texture(block, grey, where, spacing, ranges, dimension):
    """Local GLCM (5) and GGCM (15) features of one dimension, at the voxels."""
    size = _TEXTURE_SIZE[dimension]
    # The box filters dominate the cost: run them on the block less the halo the textures do not need.
    trim = tuple(slice(extra - needed, length - extra + needed)
                 for extra, needed, length in zip(_HALO, ggcm_halo(size, "3d"), block.shape))
    block, grey, where = block[trim], grey[trim], where[trim]
    yield from local_glcm_values(grey, where, n_levels=TEXTURE_LEVELS, offsets=_GLCM_OFFSETS[dimension], size=size)
    gradient = quantise(gradient_magnitude(block, spacing, gradient=dimension), TEXTURE_LEVELS,
                        ranges[f"gradient_{dimension}"])
    yield from local_ggcm_values(grey, gradient, where, size=size)


def local_glcm_values(levels: np.ndarray, where: np.ndarray, *, n_levels: int, offsets, size) -> np.ndarray:
    """Local symmetric GLCM contrast, correlation, angular second moment, homogeneity, entropy, by box filters.

    Parameters
    ----------
    levels : (K, J, I) uint8 ndarray
        0-based grey levels (:func:`~.ggcm.quantise`).
    where : (K, J, I) bool ndarray
        The voxels to describe.
    n_levels : int
        Number of levels (at most 16).
    offsets : sequence of 3-int tuples
        Pair displacements (KJI voxels), one per direction, each direction once.
    size : tuple of 3 odd int
        Window in voxels, KJI order. Pairs ``(p, p + d)`` with ``p`` in the window
        count, in both orders; windows and neighbours mirror at the array border.

    Returns
    -------
    (5, N) float64 ndarray
        Contrast, correlation, angular second moment, homogeneity, entropy; columns in the order
        of ``np.nonzero(where)``.
    """
    box_voxels = float(np.prod(size))
    pairs = len(offsets) * box_voxels  # T, unordered pairs per window; the symmetric matrix holds 2T entries

    def window_sum(values, dtype=np.float64):
        return ndimage.uniform_filter(values, size, output=dtype, mode="reflect")[where] * box_voxels

    padded = np.pad(levels, 1, mode="symmetric").astype(np.int16)
    first = levels.astype(np.int16)
    homogeneity_of = 1 / (1 + np.arange(n_levels) ** 2)  # of |a - b|
    contrast, pair_sum, square_sum, product = (np.zeros(levels.shape, np.int32) for _ in range(4))
    homogeneity = np.zeros(levels.shape)
    codes = np.empty((len(offsets),) + levels.shape, np.uint8)
    for number, offset in enumerate(offsets):
        second = padded[tuple(slice(1 + step, 1 + step + length) for step, length in zip(offset, levels.shape))]
        difference = np.abs(first - second)
        contrast += difference ** 2
        homogeneity += homogeneity_of[difference]
        pair_sum += first + second
        square_sum += first ** 2 + second ** 2
        product += first * second
        codes[number] = np.minimum(first, second) * n_levels + np.maximum(first, second)
    values = np.zeros((5, int(np.count_nonzero(where))))
    values[0] = window_sum(contrast) / pairs
    values[3] = window_sum(homogeneity) / pairs
    pair_sum, square_sum, product = (np.rint(window_sum(sums)) for sums in (pair_sum, square_sum, product))
    # Symmetric matrix: mean = S/(2T), variance = (2T S2 - S**2)/(2T)**2, covariance = (4T Sij - S**2)/(2T)**2.
    variance = 2 * pairs * square_sum - pair_sum ** 2
    covariance = 4 * pairs * product - pair_sum ** 2
    values[1] = np.divide(covariance, variance, out=np.ones_like(variance), where=variance > 0)
    for code in np.unique(codes):
        low, high = divmod(int(code), n_levels)
        count = np.count_nonzero(codes == code, axis=0).astype(np.float32)
        # P(a, a) = n / T; P(a, b) = P(b, a) = n / (2T) for a < b.
        cells = 1 if low == high else 2
        fraction = np.rint(window_sum(count, np.float32)).astype(np.float64) / (cells * pairs)
        values[2] += cells * fraction ** 2
        values[4] -= cells * special.xlogy(fraction, fraction)
    return values


def _gradient_ranges(volume, spacing, mask, slabs, progress) -> dict:
    """Robust ranges of the in-slice and 3-D gradient magnitudes over the mask voxels."""
    halo = ggcm_halo((1, 1, 1), "3d")
    samples = {"gradient_2d": [], "gradient_3d": []}
    for number, box in enumerate(slabs):
        report(progress, number / len(slabs), "Gradient ranges")
        core_mask = mask[box_slices(box)]
        if np.any(core_mask):
            block = padded_block(volume, box, halo)
            core = core_slices(box, halo)
            for dimension in ("2d", "3d"):
                magnitude = gradient_magnitude(block, spacing, gradient=dimension)[core][core_mask]
                samples[f"gradient_{dimension}"].append(magnitude)
    return {key: intensity_range(np.concatenate(values)) for key, values in samples.items()}
