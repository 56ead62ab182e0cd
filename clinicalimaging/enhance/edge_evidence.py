"""Edge consistency: how much of a voxel's fine-scale gradient survives at a coarser scale.

A lesion boundary is one long edge: its gradient keeps its size and direction when the
image is smoothed. Noise and fine texture (the gyri around a brain tumour, the speckle
of parenchyma) are many small gradients of every direction, which cancel when smoothed.
The ratio

``C(x) = |∇(G_σc * I)| / sqrt(G_σc * |∇(G_σf * I)|²)``

(coarse gradient over the root mean square of the fine gradient around the voxel)
therefore lies near 1 on an isolated edge and near ``(σf / σc)²`` on white noise, and
does not depend on the edge's contrast or the image's units
(docs/enhancement.md#edge-consistency). It is measured within each slice, like the
fractal dimension.
"""

import numpy as np

from .slice_filters import correlate_in_slices, gaussian_weights

#: Gaussian sigma (px) of the fine gradient: the scale of one voxel's edge.
FINE_SCALE_PX = 1.0
# Three sigmas hold all but 0.3 % of a Gaussian derivative's weight.
_TRUNCATE = 3.0
#: Root mean square gradient, as a fraction of the largest absolute grey value, below which a slice is flat.
_FLAT_GRADIENT = 1e-5


def edge_consistency(image: np.ndarray, *, scale: float = 1.5) -> np.ndarray:
    """Per-voxel edge consistency ``C`` of each slice, between 0 and about 1.

    Parameters
    ----------
    image : (K, J, I) ndarray
        Volume in KJI order; each slice (fixed K) is analysed on its own.
    scale : float
        Gaussian sigma ``σc`` in pixels of the coarse gradient and of the window that
        averages the fine gradient's energy; must exceed :data:`FINE_SCALE_PX`.

    Returns
    -------
    consistency : (K, J, I) ndarray of float32
        0 where the slice is locally constant.
    """
    volume = np.asarray(image, dtype=np.float32)
    # Squared magnitudes throughout, and one square root at the end: C = sqrt(|coarse|² / window mean of |fine|²).
    fine = _gradient(volume, FINE_SCALE_PX)
    # Gaussians compose: the fine gradient smoothed by sqrt(σc² - σf²) is the coarse gradient.
    extra = gaussian_weights(np.sqrt(scale ** 2 - FINE_SCALE_PX ** 2), truncate=_TRUNCATE)
    consistency = _squared_magnitude([correlate_in_slices(component, extra, extra) for component in fine])
    window = gaussian_weights(scale, truncate=_TRUNCATE)
    energy = correlate_in_slices(_squared_magnitude(fine), window, window)
    # Where a slice is locally constant, float32 rounding leaves gradients of about 1e-7 of the grey
    # values, whose ratio means nothing: call those voxels "no edge".
    floor = np.float32(max((_FLAT_GRADIENT * float(np.abs(volume).max())) ** 2, np.finfo(np.float32).tiny))
    flat = energy < floor
    np.maximum(energy, floor, out=energy)
    consistency /= energy
    np.sqrt(consistency, out=consistency)
    consistency[flat] = 0.0
    return consistency


def _gradient(volume: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """In-slice gradient (along J, along I) of the volume smoothed by a Gaussian of ``sigma`` px (grey value / px).

    Gaussian-derivative filters, not differences of the smoothed slices: the central
    difference is itself a low-pass that shrinks the fine gradient of noise and moves
    the ratio of noise towards the edge thresholds.
    """
    smooth = gaussian_weights(sigma, truncate=_TRUNCATE)
    slope = gaussian_weights(sigma, order=1, truncate=_TRUNCATE)
    return correlate_in_slices(volume, slope, smooth), correlate_in_slices(volume, smooth, slope)


def _squared_magnitude(components) -> np.ndarray:
    """Sum of the squares of the gradient ``components``, in a new array."""
    first, *rest = components
    squared = np.square(first)
    for component in rest:
        squared += np.square(component)
    return squared
