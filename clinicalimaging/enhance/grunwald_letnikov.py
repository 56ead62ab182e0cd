"""Grünwald–Letnikov coefficients, mask directions and ring sums.

The GL backward difference of order ``v`` with unit step is
``D^v f(x) ~ sum_k w_k f(x - k)`` with ``w_k = (-1)^k C(v, k)`` (docs/enhancement.md#gl-coefficients).
A fractional mask places ``w_0 .. w_{n-1}`` along each of several directions
(8 in a slice: the YiFeiPU-1 / Tiansi family, A2–A3). Summing over a symmetric set
of directions, the mask response at a voxel is ``sum_k w_k R_k`` where the *ring
sum* ``R_k`` adds the image at distance ``k`` along every direction (A4).
"""

import numpy as np

from ..errors import InputError

#: The 8 in-plane directions of the 2-D mask, as (dk, dj, di) voxel steps.
DIRECTIONS_2D = np.array([(0, dj, di) for dj in (-1, 0, 1) for di in (-1, 0, 1) if (dj, di) != (0, 0)])
#: The 26 neighbour directions of the 3-D mask, as (dk, dj, di) voxel steps.
DIRECTIONS_3D = np.array([(dk, dj, di) for dk in (-1, 0, 1) for dj in (-1, 0, 1) for di in (-1, 0, 1)
                          if (dk, dj, di) != (0, 0, 0)])


def iter_gl_coefficients(order, number_of_terms: int):
    """Yield the Grünwald–Letnikov coefficients ``w_0 .. w_{n-1}`` one by one.

    ``w_0 = 1``, ``w_k = w_{k-1} (1 - (order + 1) / k)``: the stable recursion for
    ``(-1)^k Γ(order+1) / (Γ(k+1) Γ(order-k+1))``, free of the Γ function's poles.
    Each coefficient has the shape and floating dtype of ``order`` (per-voxel orders
    give per-voxel coefficients without holding all ``n`` of them).

    Parameters
    ----------
    order : float or ndarray
        Fractional order ``v``; negative orders give fractional integration.
    number_of_terms : int
        ``n >= 1``.
    """
    if number_of_terms < 1:
        raise InputError(f"number_of_terms must be at least 1; got {number_of_terms}.")
    order = np.asarray(order)
    if not np.issubdtype(order.dtype, np.floating):
        order = order.astype(np.float64)
    one = order.dtype.type(1.0)
    coefficient = np.ones_like(order)
    yield coefficient
    for k in range(1, number_of_terms):
        coefficient = coefficient * (one - (order + one) / order.dtype.type(k))
        yield coefficient


def gl_coefficients(order, number_of_terms: int) -> np.ndarray:
    """All Grünwald–Letnikov coefficients (see :func:`iter_gl_coefficients`).

    Returns
    -------
    coefficients : (n, *order.shape) ndarray
    """
    return np.stack(list(iter_gl_coefficients(order, number_of_terms)))


def sample_offsets(mask: str, spacing) -> np.ndarray:
    """Voxel offsets of one step along each direction of the mask.

    Parameters
    ----------
    mask : {"2d", "3d"}
        ``"2d"``: the 8 in-slice directions with unit voxel steps (the paper's
        mask, in pixels). ``"3d"``: the 26 neighbour directions with the step
        scaled so that one step is ``min(spacing)`` mm along every voxel axis;
        on an isotropic grid these are the 26 neighbours, on a grid with thick
        slices the through-plane samples fall between slices and are
        interpolated, so the mask has the same shape in millimetres.
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.

    Returns
    -------
    offsets : (D, 3) ndarray of float64
        Step per direction in voxels (KJI); the mask is symmetric (``-d`` is in it for every ``d``).
    """
    if mask == "2d":
        return DIRECTIONS_2D.astype(np.float64)
    if mask == "3d":
        spacing = np.asarray(spacing, dtype=np.float64)
        return DIRECTIONS_3D * (spacing.min() / spacing)
    raise InputError(f"mask must be '2d' or '3d'; got {mask!r}.")


def ring_sum(padded: np.ndarray, offsets: np.ndarray, distance: int, pad, out_shape) -> np.ndarray:
    """``R_k``: the sum of the image at ``distance`` steps along every direction.

    Parameters
    ----------
    padded : (K + 2 pk, J + 2 pj, I + 2 pi) ndarray
        The image padded by ``pad`` voxels on each side of each axis.
    offsets : (D, 3) ndarray
        One step per direction in voxels (from :func:`sample_offsets`).
    distance : int
        Number of steps ``k``.
    pad : sequence of 3 int
        Padding per axis.
    out_shape : sequence of 3 int
        Shape of the unpadded image.

    Returns
    -------
    ring : ndarray of ``out_shape``, float32
        Fractional positions are sampled with linear interpolation along each axis.
    """
    axes = _neighbourhood_axes(offsets)
    if axes is not None:
        return _box_ring_sum(padded, axes, distance, pad, out_shape)
    ring = np.zeros(out_shape, dtype=np.float32)
    for offset in offsets * distance:
        base = np.floor(offset).astype(int)
        fraction = offset - base
        # Blend the integer-shifted neighbours at the corners of the fractional position.
        corners = [((), 1.0)]
        for axis in range(3):
            if fraction[axis] < 1e-9:
                corners = [(shift + (base[axis],), weight) for shift, weight in corners]
            else:
                corners = [(shift + (base[axis] + step,), weight * (fraction[axis] if step else 1 - fraction[axis]))
                           for shift, weight in corners for step in (0, 1)]
        for shift, weight in corners:
            view = padded[tuple(slice(p + s, p + s + n) for p, s, n in zip(pad, shift, out_shape))]
            if weight == 1.0:
                ring += view
            else:
                ring += np.float32(weight) * view
    return ring


def _neighbourhood_axes(offsets: np.ndarray):
    """The axes whose unit steps ``offsets`` holds in every combination but none (2-D or isotropic 3-D masks), else None."""
    for directions, axes in ((DIRECTIONS_2D, (1, 2)), (DIRECTIONS_3D, (0, 1, 2))):
        if np.array_equal(offsets, directions):
            return axes
    return None


def _box_ring_sum(padded: np.ndarray, axes, distance: int, pad, out_shape) -> np.ndarray:
    """``R_k`` of a full neighbourhood: the separable sum over ``{-k, 0, k}`` along ``axes``, less the centre.

    Two additions per axis and one subtraction instead of one addition per direction.
    """
    core = [slice(p, p + n) for p, n in zip(pad, out_shape)]
    box = padded[tuple(slice(None) if axis in axes else core[axis] for axis in range(3))]
    for axis in axes:
        index = [slice(None)] * 3
        taps = []
        for shift in (-distance, 0, distance):
            index[axis] = slice(pad[axis] + shift, pad[axis] + shift + out_shape[axis])
            taps.append(box[tuple(index)])
        box = taps[0] + taps[1]
        box += taps[2]
    box -= padded[tuple(core)]
    return box.astype(np.float32, copy=False)


def mask_kernel_2d(order: float, number_of_terms: int) -> np.ndarray:
    """The explicit 2-D mask for a constant order, for inspection and tests.

    Returns
    -------
    kernel : (2n - 1, 2n - 1) ndarray
        Sum of ``w_k`` placed at ``k`` steps along the 8 directions (centre ``8 w_0``);
        unnormalised.
    """
    coefficients = gl_coefficients(order, number_of_terms)
    radius = number_of_terms - 1
    kernel = np.zeros((2 * radius + 1, 2 * radius + 1))
    for _, dj, di in DIRECTIONS_2D:
        for k, weight in enumerate(coefficients):
            kernel[radius + k * dj, radius + k * di] += weight
    return kernel
