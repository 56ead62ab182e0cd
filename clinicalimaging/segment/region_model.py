"""An intensity model of the outlined structure against its surroundings: the log-likelihood-ratio map.

A fixed intensity range (mean +- k standard deviations) describes a lesion of one
tissue; a heart with contrast-filled chambers inside a darker wall, an organ with
vessels or an enhancing rim around a necrotic core holds several. Here the outline
itself teaches the model: the intensities inside it (its preprocessed mask on the
outlined slices) and in a ring just outside it give two histogram densities, and every
voxel gets the log-likelihood ratio ``log p_in(I) - log p_out(I)`` (region
competition, Zhu & Yuille 1996; the two-region intensity model of interactive
segmentation, Boykov & Jolly 2001). Intensities seen in neither sample count as
background: ``p_out`` is mixed with a uniform density over the intensity range, so the
ratio is strongly negative where the structure was never seen.

Arrays are KJI, spacing in mm in the same order. Numpy and scipy only.
"""

import numpy as np
from scipy import ndimage

from ..errors import InputError

#: Histogram bins over the intensity range of the two samples.
BINS = 96
#: Gaussian smoothing of the histograms, in bins (a kernel density estimate on the bin grid).
SMOOTHING_BINS = 1.5
#: Weight of the uniform "anything else" density mixed into the outside density.
UNSEEN_WEIGHT = 0.05
#: The ratio is clipped to +- this (nats): a few voxels of evidence never outweigh their neighbours.
LLR_LIMIT = 4.0
#: The ring outside the outline: from this many pixels beyond its edge ...
RING_START_PX = 2.0
#: ... to this far beyond its start, in mm, at least (and at least half the outline's equivalent radius).
RING_WIDTH_MM = 5.0


def outline_samples(image, initial_mask, spacing):
    """The intensities inside the outlined structure and in a ring just outside it.

    On every slice of ``initial_mask`` that holds voxels: inside, the mask eroded by
    one pixel (the mask itself when erosion empties it); outside, the pixels from
    :data:`RING_START_PX` beyond its edge to ``max(RING_WIDTH_MM, r / 2)`` further,
    ``r`` being the mask's equivalent radius on that slice.

    Parameters
    ----------
    image : (K, J, I) ndarray
    initial_mask : (K, J, I) ndarray of bool
        The preprocessed outline (non-zero on the outlined slices).
    spacing : sequence of 3 float
        mm, KJI.

    Returns
    -------
    inside, outside : ndarray of float
        The sampled intensities.

    Raises
    ------
    InputError
        No outlined slice, or no ring pixel (the outline fills its slice).
    """
    inside_values, outside_values = [], []
    pixel_mm = float(min(spacing[1:]))
    for k in np.flatnonzero(initial_mask.any(axis=(1, 2))):
        plane = initial_mask[k].astype(bool)
        eroded = ndimage.binary_erosion(plane)
        inside_values.append(image[k][eroded if eroded.any() else plane])
        outside_mm = ndimage.distance_transform_edt(~plane, sampling=spacing[1:])
        radius_mm = np.sqrt(plane.sum() * spacing[1] * spacing[2] / np.pi)
        start = RING_START_PX * pixel_mm
        ring = (outside_mm >= start) & (outside_mm <= start + max(RING_WIDTH_MM, radius_mm / 2))
        outside_values.append(image[k][ring])
    if not inside_values:
        raise InputError("The outline mask is empty: outline the structure on at least one slice.")
    inside, outside = np.concatenate(inside_values), np.concatenate(outside_values)
    if outside.size == 0:
        raise InputError("The outline leaves no tissue around it on its slice to learn the background from; "
                         "enlarge the region of interest (roi_padding_px).")
    return inside.astype(np.float64), outside.astype(np.float64)


def log_likelihood_ratio(image, inside, outside):
    """The per-voxel log-likelihood ratio of the structure's intensity model against its surroundings'.

    Parameters
    ----------
    image : ndarray
        Any shape.
    inside, outside : 1-D array_like
        Intensity samples of the structure and of its surroundings.

    Returns
    -------
    ndarray of float32, the shape of ``image``
        ``log p_in(I) - log p_out(I)`` in nats, clipped to +- :data:`LLR_LIMIT`; positive
        where the structure is the likelier source of the intensity.
    """
    inside, outside = np.asarray(inside, float), np.asarray(outside, float)
    edges = _edges(inside, outside)
    p_in = _density(inside, edges)
    p_out = (1 - UNSEEN_WEIGHT) * _density(outside, edges) + UNSEEN_WEIGHT / BINS
    ratio = np.clip(np.log(p_in + 1e-4 / BINS) - np.log(p_out), -LLR_LIMIT, LLR_LIMIT)
    index = np.clip(np.digitize(image, edges) - 1, 0, BINS - 1)
    outside_range = (image < edges[0]) | (image > edges[-1])
    return np.where(outside_range, -LLR_LIMIT, ratio[index]).astype(np.float32)


def intensity_overlap(inside, outside):
    """How alike two intensity samples are: the overlap of their densities (the model of :func:`log_likelihood_ratio`).

    Parameters
    ----------
    inside, outside : 1-D array_like
        Intensity samples, e.g. of :func:`outline_samples`.

    Returns
    -------
    float
        ``sum(min(p_in, p_out))`` over the histogram bins, in [0, 1]: 1 for samples of
        one distribution, 0 for samples that share no intensity. Half of it is the
        error of the best rule that tells the two apart by intensity alone (equal
        priors).
    """
    inside, outside = np.asarray(inside, float), np.asarray(outside, float)
    edges = _edges(inside, outside)
    return float(np.minimum(_density(inside, edges), _density(outside, edges)).sum())


def _edges(inside, outside):
    """The :data:`BINS` histogram bins over the two samples' range (0.5-99.5 %), widened by a quarter each way."""
    low, high = np.percentile(np.concatenate([inside, outside]), [0.5, 99.5])
    span = max(high - low, 1e-6)
    return np.linspace(low - 0.25 * span, high + 0.25 * span, BINS + 1)


def _density(values, edges):
    counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
    smoothed = ndimage.gaussian_filter1d(counts.astype(float), SMOOTHING_BINS, mode="constant")
    return smoothed / max(smoothed.sum(), 1e-12)
