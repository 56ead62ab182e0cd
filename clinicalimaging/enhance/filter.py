"""The variable-order fractional mask, applied exactly per voxel."""

import numpy as np

from .grunwald_letnikov import iter_gl_coefficients, ring_sum, sample_offsets


def filter_halo(offsets: np.ndarray, number_of_terms: int) -> tuple[int, int, int]:
    """Padding in voxels per axis that ``number_of_terms`` steps along ``offsets`` reach."""
    reach = np.abs(offsets).max(axis=0) * (number_of_terms - 1)
    return tuple(int(np.ceil(r - 1e-9)) for r in reach)


def variable_order_filter(image: np.ndarray, order_map, spacing=(1.0, 1.0, 1.0), *, mask: str = "2d",
                          number_of_terms: int = 3, padded: np.ndarray = None,
                          pad=None) -> np.ndarray:
    """Normalised fractional mask response with a per-voxel order.

    ``F(x) = sum_k a_k(v(x)) R_k(x) / (D sum_k a_k(v(x)))`` with ``R_0 = D I(x)``
    and ``D`` directions (docs/enhancement.md#variable-order-filter): the exact variable-order mask,
    without bucketing orders, in ``O(n N)``. Dividing by the coefficient sum gives
    a DC gain of 1, so flat regions keep their value and units. The strength's
    blend with the input is :func:`~.core.blend`.

    Parameters
    ----------
    image : (K, J, I) ndarray
        Volume in KJI order.
    order_map : float or (K, J, I) ndarray
        Fractional order per voxel; must stay below 1 (the coefficient sum
        vanishes at 1). Negative orders smooth (fractional integration).
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order (used by ``mask="3d"``).
    mask : {"2d", "3d"}
        See :func:`~clinicalimaging.enhance.grunwald_letnikov.sample_offsets`.
    number_of_terms : int
        GL coefficients per direction.
    padded, pad : optional
        ``image`` already padded by ``pad`` voxels per axis (symmetric), when the
        caller processes slabs of a larger volume.

    Returns
    -------
    response : (K, J, I) ndarray of float32
        Not clipped.
    """
    offsets = sample_offsets(mask, spacing)
    if padded is None:
        pad = filter_halo(offsets, number_of_terms)
        padded = np.pad(np.asarray(image, dtype=np.float32), [(p, p) for p in pad], mode="symmetric")
    image = np.asarray(image, dtype=np.float32)
    coefficients = iter_gl_coefficients(np.asarray(order_map, dtype=np.float32), number_of_terms)
    total = next(coefficients).copy()
    response = image.copy()  # w_0 R_0 / D, with R_0 = D I
    for k, coefficient in enumerate(coefficients, start=1):
        total += coefficient
        ring = ring_sum(padded, offsets, k, pad, image.shape)
        ring *= np.float32(1.0 / len(offsets))
        ring *= coefficient
        response += ring
    response /= total
    return response
