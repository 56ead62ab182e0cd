"""Gray-level–gradient co-occurrence matrix (GGCM) and its 15 texture features.

Hong Jiguang, "Gray level–gradient co-occurrence matrix texture analysis method",
Acta Automatica Sinica 10(1):22–25, 1984 (docs/segmentation.md#ggcm). The grey image F is
quantised to ``L_g`` levels and its gradient magnitude G to ``L_d`` levels;
``H(i, j)`` counts the voxels with grey level ``i`` and gradient level ``j`` and
``P = H / sum(H)``, with marginals ``p_g(i) = sum_j P(i, j)`` and
``p_d(j) = sum_i P(i, j)``.

Conventions (where published versions differ):

* Quantisation: equal-width bins over a robust range, ``floor(L (v - low) / (high - low))``
  clipped to ``0 .. L-1``. Hong's ``floor((G - Gmin)(L - 1) / (Gmax - Gmin))`` puts
  only the maximum in the top level; with a percentile range (0.5th–99.5th) the
  clipped extremes share the top and bottom bins instead.
* Gradient: Sobel derivative (central difference smoothed by ``[1, 2, 1] / 4`` across
  the other axes used), divided by the voxel spacing, so G is in image units per
  mm. ``"2d"`` uses the in-slice axes (J, I) only; ``"3d"`` all three.
* Indices: grey and gradient levels are numbered from 1 in every formula,
  ``i = level + 1`` and ``j = level + 1`` (as in Hong's paper), so that ``1 / j**2``
  in T1 is defined. Level arrays passed to the functions are 0-based.
* T3 and T4 use counts (``sum_i (sum_j H)**2 / sum H``), so they grow with the number
  of voxels counted; T10 is the unnormalised covariance (dividing by T8·T9 would be
  undefined in uniform windows); entropies use the natural logarithm, ``0 log 0 = 0``.
* Names: T5, ``sum P**2``, is Hong's "energy"; it is named ``angular_second_moment`` as
  Haralick et al. (1973) name the same sum over a GLCM (scikit-image's ``"ASM"``;
  scikit-image's ``"energy"`` is its square root).

The widely copied Python GLGCM snippet gets T6, T11, T12 and T14 wrong (docs/segmentation.md#ggcm); every
formula below is written from the definitions.

The per-voxel (local) version counts the histogram in a box around each voxel. No
displacement is involved, so the local ``P`` is the box mean of one-hot indicator
maps: the features linear in ``P`` (T1, T2, T6, T7, T14, T15 and the moments behind
T8–T10) need one box filter each, the marginal ones (T3, T4, T11, T12) one per level
and T5, T13 one per occupied ``(i, j)`` bin, filtered one at a time so that memory
stays a few slab-sized arrays.
"""

import numpy as np
from scipy import ndimage, special

from ..blocks import SAMPLE_VOXELS, box_slices, core_slices, padded_block, slab_boxes
from ..enhance.fractal import intensity_range
from ..errors import InputError
from ..progress import report
from ..validation import as_scalar_volume, check_spacing

#: (key, description, unit) of the 15 features T1..T15, in order.
GGCM_FEATURES = (
    ("small_gradient_dominance", "T1 sum P(i,j) / j**2", "1"),
    ("large_gradient_dominance", "T2 sum P(i,j) j**2", "level**2"),
    ("grey_nonuniformity", "T3 sum_i (sum_j H)**2 / sum H", "voxels"),
    ("gradient_nonuniformity", "T4 sum_j (sum_i H)**2 / sum H", "voxels"),
    ("angular_second_moment", "T5 sum P**2", "1"),
    ("grey_mean", "T6 sum_i i p_g(i)", "level"),
    ("gradient_mean", "T7 sum_j j p_d(j)", "level"),
    ("grey_std", "T8 sqrt(sum_i (i - T6)**2 p_g(i))", "level"),
    ("gradient_std", "T9 sqrt(sum_j (j - T7)**2 p_d(j))", "level"),
    ("correlation", "T10 sum (i - T6)(j - T7) P(i,j)", "level**2"),
    ("grey_entropy", "T11 -sum_i p_g log p_g", "nat"),
    ("gradient_entropy", "T12 -sum_j p_d log p_d", "nat"),
    ("mixed_entropy", "T13 -sum P log P", "nat"),
    ("inertia", "T14 sum (i - j)**2 P(i,j)", "level**2"),
    ("inverse_difference_moment", "T15 sum P(i,j) / (1 + (i - j)**2)", "1"),
)

_GRADIENT_AXES = {"2d": (1, 2), "3d": (0, 1, 2)}


def quantise(values, n_levels: int, value_range) -> np.ndarray:
    """Equal-width quantisation of ``values`` to levels ``0 .. n_levels - 1`` (uint8).

    Values outside ``value_range = (low, high)`` go to the first or last level; an
    empty range (``high <= low``) puts every value in level 0.
    """
    low, high = float(value_range[0]), float(value_range[1])
    scale = n_levels / (high - low) if high > low else 0.0
    levels = np.floor((np.asarray(values, dtype=np.float32) - low) * scale)
    return np.clip(levels, 0, n_levels - 1, out=levels).astype(np.uint8)


def sobel_gradient(image: np.ndarray, spacing, *, axes) -> list:
    """Sobel estimates of the first derivatives along ``axes``, in image units per mm.

    Parameters
    ----------
    image : (K, J, I) ndarray
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    axes : tuple of int
        The axes differentiated; each derivative is smoothed by ``[1, 2, 1] / 4``
        across the other axes of ``axes`` only (``(1, 2)``: in-slice Sobel).

    Returns
    -------
    list of (K, J, I) float32 ndarray, one per axis of ``axes``.
    """
    image = np.asarray(image, dtype=np.float32)
    components = []
    for axis in axes:
        derivative = ndimage.correlate1d(image, np.array([-0.5, 0.0, 0.5]) / spacing[axis], axis=axis, mode="reflect")
        for other in axes:
            if other != axis:
                ndimage.correlate1d(derivative, [0.25, 0.5, 0.25], axis=other, output=derivative, mode="reflect")
        components.append(derivative)
    return components


def gradient_magnitude(image: np.ndarray, spacing, *, gradient: str = "2d") -> np.ndarray:
    """Sobel gradient magnitude in image units per mm: in-slice (``"2d"``) or 3-D (``"3d"``).

    Returns
    -------
    (K, J, I) float32 ndarray
    """
    components = sobel_gradient(image, spacing, axes=_GRADIENT_AXES[gradient])
    magnitude = components[0] ** 2
    for component in components[1:]:
        magnitude += component ** 2
    return np.sqrt(magnitude, out=magnitude)


def ggcm(grey_levels, gradient_levels, *, n_grey: int, n_gradient: int) -> np.ndarray:
    """Count the gray-level–gradient co-occurrence matrix ``H``.

    Parameters
    ----------
    grey_levels, gradient_levels : integer array_like, same shape
        0-based levels of the same voxels (see :func:`quantise`).
    n_grey, n_gradient : int
        Number of grey (``L_g``) and gradient (``L_d``) levels.

    Returns
    -------
    (n_grey, n_gradient) ndarray of int64
        ``H[i, j]`` = number of voxels with grey level ``i`` and gradient level ``j``.
    """
    grey = np.asarray(grey_levels)
    gradient = np.asarray(gradient_levels)
    if grey.shape != gradient.shape:
        raise InputError(f"Grey and gradient levels must have the same shape; got {grey.shape} and {gradient.shape}.")
    for name, levels, count in (("grey", grey, n_grey), ("gradient", gradient, n_gradient)):
        if not np.issubdtype(levels.dtype, np.integer) or levels.size == 0:
            raise InputError(f"The {name} levels must be a non-empty integer array; got dtype {levels.dtype}.")
        if levels.min() < 0 or levels.max() >= count:
            raise InputError(f"The {name} levels must lie in 0..{count - 1}; got {levels.min()}..{levels.max()}.")
    codes = grey.astype(np.int64).ravel() * n_gradient + gradient.ravel()
    return np.bincount(codes, minlength=n_grey * n_gradient).reshape(n_grey, n_gradient)


def ggcm_features(matrix) -> dict:
    """The 15 GGCM features T1..T15 of a co-occurrence matrix of counts.

    Parameters
    ----------
    matrix : (L_g, L_d) array_like
        Counts ``H`` from :func:`ggcm` (not normalised; T3 and T4 need the counts).

    Returns
    -------
    dict
        Feature key (:data:`GGCM_FEATURES` order) -> float.
    """
    counts = np.asarray(matrix, dtype=np.float64)
    if counts.ndim != 2 or counts.min() < 0 or counts.sum() <= 0:
        raise InputError("A GGCM must be a 2-D matrix of non-negative counts with a positive total.")
    total = counts.sum()
    p = counts / total
    i = np.arange(1, counts.shape[0] + 1, dtype=np.float64)[:, np.newaxis]
    j = np.arange(1, counts.shape[1] + 1, dtype=np.float64)[np.newaxis, :]
    p_grey, p_gradient = p.sum(axis=1), p.sum(axis=0)
    grey_mean = float(np.sum(i[:, 0] * p_grey))
    gradient_mean = float(np.sum(j[0] * p_gradient))
    values = (
        np.sum(p / j ** 2),
        np.sum(p * j ** 2),
        np.sum(counts.sum(axis=1) ** 2) / total,
        np.sum(counts.sum(axis=0) ** 2) / total,
        np.sum(p ** 2),
        grey_mean,
        gradient_mean,
        np.sqrt(np.sum((i[:, 0] - grey_mean) ** 2 * p_grey)),
        np.sqrt(np.sum((j[0] - gradient_mean) ** 2 * p_gradient)),
        np.sum((i - grey_mean) * (j - gradient_mean) * p),
        -np.sum(special.xlogy(p_grey, p_grey)),
        -np.sum(special.xlogy(p_gradient, p_gradient)),
        -np.sum(special.xlogy(p, p)),
        np.sum((i - j) ** 2 * p),
        np.sum(p / (1.0 + (i - j) ** 2)),
    )
    return {key: float(value) for (key, _, _), value in zip(GGCM_FEATURES, values)}


def local_ggcm_values(grey_levels: np.ndarray, gradient_levels: np.ndarray, where: np.ndarray, *,
                      size) -> np.ndarray:
    """Local GGCM features, by box filters, of the box of ``size`` voxels around each voxel of ``where``.

    At each voxel the result equals ``ggcm_features(ggcm(...))`` of the levels in
    its box; boxes crossing the array border are mirrored (``mode="reflect"``), so
    pass a block padded by ``size // 2`` voxels to get exact values at its core.
    The box filters run over the whole arrays; the nonlinear steps only at ``where``.

    Parameters
    ----------
    grey_levels, gradient_levels : (K, J, I) integer ndarray
        0-based levels below 256 (see :func:`quantise`).
    where : (K, J, I) bool ndarray
        The voxels to describe.
    size : tuple of 3 odd int
        Box size in voxels, KJI order.

    Returns
    -------
    (15, N) float32 ndarray
        :data:`GGCM_FEATURES` order; columns in the order of ``np.nonzero(where)``.
    """
    box_voxels = float(np.prod(size))

    def window_mean(values):
        return ndimage.uniform_filter(values, size, output=np.float64, mode="reflect")[where]

    def window_fraction(indicator):
        # Box means of 0/1 maps are multiples of 1 / box_voxels: round away the filter's float error.
        mean = ndimage.uniform_filter(indicator.astype(np.float32), size, output=np.float32, mode="reflect")[where]
        return np.rint(mean.astype(np.float64) * box_voxels) / box_voxels

    i = grey_levels.astype(np.float32) + 1
    j = gradient_levels.astype(np.float32) + 1
    values = np.zeros((15, int(np.count_nonzero(where))), dtype=np.float64)
    values[0] = window_mean(1 / j ** 2)
    values[1] = window_mean(j ** 2)
    values[5], values[6] = window_mean(i), window_mean(j)
    values[7] = np.sqrt(np.maximum(window_mean(i ** 2) - values[5] ** 2, 0.0))
    values[8] = np.sqrt(np.maximum(window_mean(j ** 2) - values[6] ** 2, 0.0))
    values[9] = window_mean(i * j) - values[5] * values[6]
    values[13] = window_mean((i - j) ** 2)
    values[14] = window_mean(1 / (1 + (i - j) ** 2))
    del i, j
    # The joint fractions P(i, j) of the occupied bins give T5 and T13 and, summed, the marginals behind
    # T3, T4, T11 and T12, so the marginals need no box filters of their own.
    gradient_marginals = {}
    for grey_level in np.unique(grey_levels):
        is_grey_level = grey_levels == grey_level
        grey_marginal = 0.0
        for gradient_level in np.unique(gradient_levels[is_grey_level]):
            fraction = window_fraction(is_grey_level & (gradient_levels == gradient_level))
            values[4] += fraction ** 2
            values[12] -= special.xlogy(fraction, fraction)
            grey_marginal = grey_marginal + fraction
            gradient_marginals[gradient_level] = gradient_marginals.get(gradient_level, 0.0) + fraction
        _add_marginal(values, grey_marginal, 2, 10, box_voxels)
    for gradient_marginal in gradient_marginals.values():
        _add_marginal(values, gradient_marginal, 3, 11, box_voxels)
    return values.astype(np.float32)


def _add_marginal(values: np.ndarray, marginal, nonuniformity: int, entropy: int, box_voxels: float) -> None:
    """Add one level's marginal fraction to a non-uniformity (T3/T4, in counts) and an entropy (T11/T12) row."""
    values[nonuniformity] += box_voxels * np.square(marginal)
    values[entropy] -= special.xlogy(marginal, marginal)


def ggcm_levels(image, spacing, *, n_grey: int = 8, n_gradient: int = 8, gradient: str = "2d", value_range=None,
                gradient_range=None):
    """Grey and gradient levels of an image, as the local GGCM uses them.

    Parameters
    ----------
    image : (K, J, I) or (J, I) array_like
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    n_grey, n_gradient : int
    gradient : {"2d", "3d"}
        In-slice or 3-D Sobel gradient magnitude.
    value_range, gradient_range : (low, high), optional
        Quantisation ranges (image units; image units per mm); default: the robust
        range (0.5th–99.5th percentile) of the image and of its gradient magnitude.

    Returns
    -------
    grey_levels, gradient_levels : (K, J, I) uint8 ndarray
    """
    volume, spacing = _check_inputs(image, spacing, gradient=gradient)
    magnitude = gradient_magnitude(volume, spacing, gradient=gradient)
    grey = quantise(volume, n_grey, intensity_range(volume) if value_range is None else value_range)
    return grey, quantise(magnitude, n_gradient,
                          intensity_range(magnitude) if gradient_range is None else gradient_range)


def local_ggcm_features(image, spacing, *, n_grey: int = 8, n_gradient: int = 8, size=None, gradient: str = "2d",
                        value_range=None, gradient_range=None, progress=None) -> np.ndarray:
    """Per-voxel GGCM features T1..T15 over a box around each voxel.

    Computed slab by slab along K with halos (:data:`~clinicalimaging.blocks.SLAB_VOXELS` voxels per slab;
    temporaries of about 150 bytes per slab voxel besides the result); the result is
    the same as on the whole volume at once.

    Parameters
    ----------
    image : (K, J, I) or (J, I) array_like
        Scalar volume in KJI order.
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    n_grey, n_gradient : int
        Number of grey and gradient levels (``L_g``, ``L_d``).
    size : tuple of 3 odd int, optional
        Box in voxels, KJI order; default ``(1, 5, 5)`` for ``gradient="2d"`` and
        ``(5, 5, 5)`` for ``"3d"``.
    gradient : {"2d", "3d"}
        In-slice or 3-D Sobel gradient magnitude.
    value_range, gradient_range : (low, high), optional
        Quantisation ranges; default: robust ranges of the whole image and of its
        gradient magnitude.
    progress : callable, optional
        ``progress(fraction, message)``; may raise :class:`~clinicalimaging.Cancelled`.

    Returns
    -------
    (15, K, J, I) float32 ndarray
        Feature maps in :data:`GGCM_FEATURES` order (a 2-D input gives K = 1).
    """
    volume, spacing = _check_inputs(image, spacing, gradient=gradient)
    size = _check_size(size if size is not None else ((1, 5, 5) if gradient == "2d" else (5, 5, 5)))
    for name, count in (("n_grey", n_grey), ("n_gradient", n_gradient)):
        if not 2 <= int(count) <= 64:
            raise InputError(f"{name} must be an integer from 2 to 64; got {count}.")
    if value_range is None:
        value_range = intensity_range(volume)
    if gradient_range is None:
        gradient_range = _gradient_range(volume, spacing, gradient)
    halo = ggcm_halo(size, gradient)
    maps = np.empty((15,) + volume.shape, dtype=np.float32)
    slabs = slab_boxes(volume.shape, halo)
    for number, box in enumerate(slabs):
        report(progress, number / len(slabs), f"Local GGCM: slab {number + 1} of {len(slabs)}")
        block = padded_block(volume, box, halo)
        grey = quantise(block, n_grey, value_range)
        gradient_levels = quantise(gradient_magnitude(block, spacing, gradient=gradient), n_gradient, gradient_range)
        where = np.zeros(block.shape, dtype=bool)
        where[core_slices(box, halo)] = True
        values = local_ggcm_values(grey, gradient_levels, where, size=size)
        maps[(slice(None),) + box_slices(box)] = values.reshape((15,) + tuple(stop - start for start, stop in box))
    report(progress, 1.0, "Local GGCM done")
    return maps


def ggcm_halo(size, gradient: str) -> tuple:
    """Voxels per side (KJI) a block needs for exact local GGCM features: box radius + Sobel radius."""
    return tuple(s // 2 + (axis in _GRADIENT_AXES[gradient]) for axis, s in enumerate(size))


def _gradient_range(volume: np.ndarray, spacing, gradient: str) -> tuple:
    """Robust range of the gradient magnitude of a whole volume, computed slab-wise on a subsample."""
    halo = ggcm_halo((1, 1, 1), gradient)
    step = max(1, volume.size // SAMPLE_VOXELS)
    samples = []
    for box in slab_boxes(volume.shape, halo):
        magnitude = gradient_magnitude(padded_block(volume, box, halo), spacing, gradient=gradient)
        samples.append(magnitude[core_slices(box, halo)].ravel()[::step])
    return intensity_range(np.concatenate(samples))


def _check_inputs(image, spacing, *, gradient: str):
    if gradient not in _GRADIENT_AXES:
        raise InputError(f"gradient must be '2d' or '3d'; got {gradient!r}.")
    return as_scalar_volume(image, name="image", allow_constant=True), check_spacing(spacing)


def _check_size(size) -> tuple:
    size = tuple(int(s) for s in size)
    if len(size) != 3 or any(s < 1 or s % 2 == 0 for s in size):
        raise InputError(f"The GGCM box size must be 3 odd positive numbers of voxels (KJI); got {size}.")
    return size
