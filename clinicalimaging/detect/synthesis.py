"""Synthetic training volumes from label maps: domain randomisation after SynthSeg (numpy and scipy).

SynthSeg (Billot et al., Medical Image Analysis 2023) trains a network on images drawn
from label maps, with every property a scan may have drawn anew for each image, so that
no contrast, resolution or anatomy of the few labelled scans is special. The same idea
here, for the detector's canonical grid:

1. **The label map covers every voxel** (:func:`synthesis_source`). The organ labels
   are kept; the unlabelled voxels inside the body are split into a few tissue classes
   by k-means of their intensity (fat, soft tissue, gas, bone and contrast), and the
   voxels outside the body are air. Every tissue then gets intensities of its own.
2. **Anatomy** (:func:`synthetic_volume`): a random affine transform (body size from
   child to obese, aspect, small rotations, shift) and a smooth random deformation
   (organs change size and place: a large liver pushes the right kidney down); with a
   set probability some organs are removed (filled with a surrounding tissue) and the
   scan covers only a stretch of the body axis (a chest slab, the abdomen, the pelvis).
3. **Appearance**: per label a random mean and spread (a Gaussian mixture drawn anew
   for each volume: bright or dark kidneys, vessels, bowel; any CT phase or MR
   weighting). Part of the volumes (``anchored_probability``) keep the source's own
   label means, each shifted at random: the source's contrast order with another
   enhancement of each organ, an addition of ours to SynthSeg's fully random means that
   keeps part of the training close to real scans. Then a point-spread blur, thick
   slices with partial volume along the body axis, a smooth multiplicative bias field,
   a random gamma, and noise.

The result is a :class:`.cases.LabelledVolume` on the canonical grid whose label map
has the source's label values (tissue classes get values above the source's, without
names), so the source's label names, lesion names and coarse labels still apply. Its
intensities are in pseudo-Hounsfield units: the detector's CT window maps them back to
the normalised values drawn here. Air is -1000 HU, as on CT (the window's lower clip on
every real scan), so the modality is recognised as CT.

Random shapes (:func:`random_shapes_volume`) are label maps of smooth random blobs with
no organ at all: examples of structures that are not organs.
"""

import dataclasses

import numpy as np
from scipy import ndimage
from scipy.cluster.vq import kmeans2

from ..errors import InputError
from .cases import LabelledVolume, background_volume
from .slices import CT_WINDOW_HU, CanonicalGrid, canonical_grid, guess_modality, normalise, resample_to_grid

#: Unlabelled voxels inside the body are split into this many tissue classes.
TISSUE_CLASSES = 4
#: Label value of air (outside the body) in a synthesis source.
AIR = 0
#: Normalised intensity below which a voxel is air when the body is found.
BODY_THRESHOLD = -0.95
#: Air in the synthetic images (HU): the CT window's lower clip.
AIR_HU = -1000.0


@dataclasses.dataclass(frozen=True)
class SynthesisSettings:
    """The ranges every synthetic volume's properties are drawn from (uniform unless said otherwise).

    Intensities are normalised units (the detector's: about -1 for fat on CT, 1 for
    bone); lengths in mm. The ranges follow SynthSeg's generator where the two problems
    meet (deformation, bias, gamma, resolution) and the abdomen's anatomy where they do
    not (body size, coverage along the body axis, organs absent).
    """

    body_scale: tuple = (0.75, 1.3)
    axis_scale: tuple = (0.9, 1.1)
    rotation_degrees: tuple = (10.0, 5.0, 5.0)  # about the S-I axis, the A-P axis, the L-R axis
    shift_mm: float = 15.0
    deformation_mm: tuple = (0.0, 12.0)  # standard deviation of the smooth displacement's control points
    deformation_points: int = 5  # control points per axis of the smooth displacement
    organ_absent_probability: float = 0.3
    organs_absent: tuple = (1, 3)
    coverage_probability: float = 0.5
    coverage_mm: tuple = (60.0, 400.0)
    tissue_mean: tuple = (-1.0, 1.3)
    tissue_spread: tuple = (0.0, 0.12)
    anchored_probability: float = 0.5  # the label means are the source's own, shifted
    anchored_shift: tuple = (0.0, 0.4)  # standard deviation of those shifts, drawn per volume
    blur_px: tuple = (0.0, 1.0)
    thick_slice_probability: float = 0.6
    slice_thickness_mm: tuple = (3.0, 9.0)
    bias_spread: tuple = (0.0, 0.35)
    gamma_spread: float = 0.25  # standard deviation of log(gamma)
    noise: tuple = (0.0, 0.06)


@dataclasses.dataclass(frozen=True)
class SynthesisSource:
    """A label map on the canonical grid in which every voxel has a tissue.

    Attributes
    ----------
    tissues : ndarray of int32, shape (K, J, I)
        The source's label values; :data:`AIR` outside the body; unlabelled body
        voxels ``first_tissue + n`` for tissue class n (by increasing mean intensity).
    first_tissue : int
        Label value of the first tissue class.
    grid : CanonicalGrid
    volume : LabelledVolume
        The volume it was made from (names, lesion names).
    means : ndarray of float, shape (first_tissue + TISSUE_CLASSES,)
        Mean normalised intensity of each label value in the source image; NaN for a
        value that does not occur.
    """

    tissues: np.ndarray
    first_tissue: int
    grid: CanonicalGrid
    volume: LabelledVolume
    means: np.ndarray

    @property
    def organ_values(self):
        """Label values of the named labels present in the map (organs and other named structures)."""
        present = np.unique(self.tissues)
        return np.array([value for value in self.volume.label_names if value in present and value != AIR], int)


def synthesis_source(volume, pixel_mm):
    """The label map of a labelled volume on its canonical grid, every body voxel given a tissue.

    Parameters
    ----------
    volume : LabelledVolume
    pixel_mm : float
        Voxel edge of the canonical grid (mm), the detector's.

    Returns
    -------
    SynthesisSource
    """
    labels = np.asarray(volume.labels)
    if labels.shape != np.shape(volume.image):
        raise InputError(f"Label map of '{volume.name}' has shape {labels.shape}, its image {np.shape(volume.image)}; "
                         "give label maps on the image's voxel grid.")
    grid = canonical_grid(labels.shape, volume.ijk_to_ras, pixel_mm)
    image = normalise(resample_to_grid(volume.image, volume.ijk_to_ras, grid), guess_modality(volume.image))
    tissues = resample_to_grid(np.clip(labels, 0, None).astype(np.int32), volume.ijk_to_ras, grid, labels=True)
    first_tissue = int(tissues.max()) + 1
    body = _body_mask(image) | (tissues > 0)
    unlabelled = body & (tissues == 0)
    if unlabelled.sum() >= TISSUE_CLASSES:
        values = image[unlabelled].astype(np.float64)
        sample = values[np.random.default_rng(0).choice(len(values), min(len(values), 20000), replace=False)]
        centres, _ = kmeans2(sample, np.quantile(sample, np.linspace(0.1, 0.9, TISSUE_CLASSES)), minit="matrix",
                             seed=0)
        centres = np.sort(centres)
        tissues[unlabelled] = first_tissue + np.abs(values[:, None] - centres[None]).argmin(axis=1)
    values = first_tissue + TISSUE_CLASSES
    counts = np.bincount(tissues.ravel(), minlength=values)[:values]
    sums = np.bincount(tissues.ravel(), weights=image.ravel(), minlength=values)[:values]
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / counts, np.nan)
    return SynthesisSource(tissues, first_tissue, grid, volume, means)


def _body_mask(image):
    """The body on a normalised grid image: brighter than air, holes filled slice by slice, largest component."""
    body = image > BODY_THRESHOLD
    body = np.stack([ndimage.binary_fill_holes(plane) for plane in body])
    components, count = ndimage.label(body)
    if count > 1:
        sizes = np.bincount(components.ravel())
        sizes[0] = 0
        body = components == sizes.argmax()
    return body


def synthetic_volume(source, rng, settings=None, *, name=None):
    """One synthetic volume drawn from a synthesis source.

    Parameters
    ----------
    source : SynthesisSource
    rng : numpy.random.Generator
    settings : SynthesisSettings, optional
    name : str, optional
        The volume's name; default the source's with ``-synthetic``.

    Returns
    -------
    LabelledVolume
        Pseudo-HU image and label map on a canonical grid of the source's pixel size
        (possibly shorter along S-I than the source's: a coverage crop), with the
        source's label names and lesion names.
    """
    settings = settings or SynthesisSettings()
    tissues = deformed(source.tissues, source.grid.pixel_mm, rng, settings)
    tissues = _remove_organs(tissues, source, rng, settings)
    tissues, first_slice = coverage_crop(tissues, source.grid.pixel_mm, rng, settings)
    means = _tissue_means(source, rng, settings)
    spreads = rng.uniform(*settings.tissue_spread, len(means))
    spreads[AIR] = 0.0
    image = appearance(tissues, means, spreads, source.grid.pixel_mm, rng, settings)
    origin = np.asarray(source.grid.origin_lps, float) + np.array([0.0, 0.0, first_slice * source.grid.pixel_mm])
    grid = CanonicalGrid(tuple(float(value) for value in origin), source.grid.pixel_mm, tuple(tissues.shape))
    volume = source.volume
    return LabelledVolume(to_pseudo_hu(image, tissues == AIR), grid.ijk_to_ras, tissues, dict(volume.label_names),
                          name=name or f"{volume.name}-synthetic", lesion_names=tuple(volume.lesion_names))


def to_pseudo_hu(normalised, air):
    """Normalised intensities as the HU that the detector's CT window maps back onto them; air -1000 HU (float32)."""
    low, high = CT_WINDOW_HU
    hu = (np.asarray(normalised, np.float32) + 1.0) / 2.0 * (high - low) + low
    return np.where(air, np.float32(AIR_HU), hu).astype(np.float32)


def _tissue_means(source, rng, settings):
    """Mean normalised intensity of every label value (air: see :data:`AIR_HU`).

    Drawn uniformly from ``tissue_mean``, or with probability ``anchored_probability``
    the source's own means, each shifted by a normal draw (values the source lacks are
    drawn uniformly).
    """
    free = rng.uniform(*settings.tissue_mean, len(source.means))
    if rng.random() >= settings.anchored_probability:
        return free
    shifted = source.means + rng.normal(0.0, rng.uniform(*settings.anchored_shift), len(source.means))
    return np.where(np.isnan(source.means), free, np.clip(shifted, -1.5, 1.5))


def deformed(tissues, pixel_mm, rng, settings):
    """The label map under a random affine transform and a smooth random displacement (nearest neighbour).

    Parameters
    ----------
    tissues : ndarray of int, shape (K, J, I)
    pixel_mm : float
    rng : numpy.random.Generator
    settings : SynthesisSettings

    Returns
    -------
    ndarray, same shape and dtype
        Voxels mapped from outside the source are air.
    """
    shape = np.array(tissues.shape, float)
    scale = rng.uniform(*settings.body_scale) * rng.uniform(*settings.axis_scale, 3)
    angles = np.deg2rad([rng.uniform(-limit, limit) for limit in settings.rotation_degrees])
    rotation = _rotation(*angles)
    to_source = rotation @ np.diag(1.0 / scale)  # output offsets (k, j, i) -> source offsets
    shift = rng.uniform(-settings.shift_mm, settings.shift_mm, 3) / pixel_mm
    centre = (shape - 1) / 2
    grid = np.indices(tissues.shape, dtype=np.float32).reshape(3, -1)
    coordinates = (to_source @ (grid - centre[:, None].astype(np.float32))) + (centre + shift)[:, None]
    spread = rng.uniform(*settings.deformation_mm) / pixel_mm
    if spread > 0:
        points = settings.deformation_points
        for axis in range(3):
            field = rng.normal(0.0, spread, (points, points, points)).astype(np.float32)
            coordinates[axis] += ndimage.zoom(field, shape / points, order=1, mode="nearest",
                                              grid_mode=True).reshape(-1)
    moved = ndimage.map_coordinates(tissues, coordinates, order=0, mode="constant", cval=AIR)
    return moved.reshape(tissues.shape).astype(tissues.dtype, copy=False)


def _rotation(about_k, about_j, about_i):
    """3x3 rotation of (k, j, i) offsets: about the k axis, then j, then i (radians)."""
    def planar(angle, first, second):
        matrix = np.eye(3)
        matrix[[first, first, second, second], [first, second, first, second]] = (
            np.cos(angle), -np.sin(angle), np.sin(angle), np.cos(angle))
        return matrix
    return planar(about_k, 1, 2) @ planar(about_j, 0, 2) @ planar(about_i, 0, 1)


def _remove_organs(tissues, source, rng, settings):
    """With a set probability, one to a few named labels replaced by an unlabelled body tissue (the organ is absent)."""
    organs = [value for value in source.organ_values if (tissues == value).any()]
    if not organs or rng.random() >= settings.organ_absent_probability:
        return tissues
    count = min(int(rng.integers(settings.organs_absent[0], settings.organs_absent[1] + 1)), len(organs))
    removed = rng.choice(organs, count, replace=False)
    filling = source.first_tissue + int(rng.integers(1, TISSUE_CLASSES))  # not the darkest class (gas)
    return np.where(np.isin(tissues, removed), filling, tissues).astype(tissues.dtype)


def coverage_crop(tissues, pixel_mm, rng, settings):
    """With a set probability, only a stretch of the body axis (a random length and position) is kept.

    Returns
    -------
    tissues : ndarray, shape (K', J, I)
    first_slice : int
        Index along k of the first kept slice.
    """
    slices = tissues.shape[0]
    if rng.random() >= settings.coverage_probability:
        return tissues, 0
    low, high = (int(round(length / pixel_mm)) for length in settings.coverage_mm)
    kept = int(np.clip(rng.integers(low, high + 1), 1, slices))
    first = int(rng.integers(0, slices - kept + 1))
    return tissues[first:first + kept], first


def appearance(tissues, means, spreads, pixel_mm, rng, settings):
    """The image of a label map: Gaussian mixture, blur, thick slices, bias field, gamma and noise.

    Parameters
    ----------
    tissues : ndarray of int, shape (K, J, I)
    means, spreads : ndarray, shape (labels,)
        Mean and standard deviation (normalised units) of each label value.
    pixel_mm : float
    rng : numpy.random.Generator
    settings : SynthesisSettings

    Returns
    -------
    ndarray of float32, shape (K, J, I)
        Normalised intensities in [-1.5, 1.5].
    """
    means = np.asarray(means, np.float32)
    image = means[tissues] + np.asarray(spreads, np.float32)[tissues] * rng.standard_normal(tissues.shape,
                                                                                              np.float32)
    blur = rng.uniform(*settings.blur_px)
    if blur > 0.05:
        image = ndimage.gaussian_filter(image, (0.0, blur, blur))
    if rng.random() < settings.thick_slice_probability:
        image = thick_slices(image, rng.uniform(*settings.slice_thickness_mm) / pixel_mm, rng)
    positive = np.clip(image + 1.5, 0.0, None) / 3.0  # [0, 1]
    bias = rng.uniform(*settings.bias_spread)
    if bias > 0:
        field = rng.normal(0.0, bias, (4, 4, 4)).astype(np.float32)
        positive = positive * np.exp(ndimage.zoom(field, np.array(image.shape) / 4, order=1, mode="nearest",
                                                  grid_mode=True))
    positive = np.clip(positive, 0.0, 1.0) ** np.exp(rng.normal(0.0, settings.gamma_spread))
    image = positive * 3.0 - 1.5 + rng.normal(0.0, rng.uniform(*settings.noise), image.shape).astype(np.float32)
    return np.clip(image, -1.5, 1.5).astype(np.float32)


def thick_slices(image, thickness, rng):
    """The image as a scan of thick slices along axis 0, read back on the fine grid (partial volume).

    Each thick slice averages ``thickness`` fine slices (a box profile); thick slices are
    ``thickness`` apart from a random first position; the fine grid reads them back by
    linear interpolation, as the detector's resampling does.

    Parameters
    ----------
    image : ndarray, shape (K, J, I)
    thickness : float
        Slice thickness and spacing, in fine slices (at least 1).
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of float32, shape (K, J, I)
    """
    if thickness <= 1.0:
        return image
    averaged = ndimage.uniform_filter1d(image, size=max(int(round(thickness)), 1), axis=0, mode="nearest")
    centres = np.arange(rng.uniform(0, thickness), image.shape[0] + thickness, thickness)
    centres = np.clip(centres, 0, image.shape[0] - 1)
    thick = _along_axis0(averaged, centres)
    positions = np.interp(np.arange(image.shape[0]), centres, np.arange(len(centres)))
    return _along_axis0(thick, positions).astype(np.float32)


def _along_axis0(volume, positions):
    """Linear interpolation of a volume at fractional positions along axis 0."""
    low = np.clip(np.floor(positions).astype(int), 0, volume.shape[0] - 1)
    high = np.minimum(low + 1, volume.shape[0] - 1)
    weight = (positions - low).astype(np.float32)[:, None, None]
    return volume[low] * (1 - weight) + volume[high] * weight


def random_shapes_volume(shape, pixel_mm, rng, settings=None, *, shapes=8, name="random-shapes"):
    """A volume of smooth random blobs with random intensities and no organ: an example of what is not an organ.

    Parameters
    ----------
    shape : tuple of 3 int
        ``(K, J, I)`` of the canonical grid.
    pixel_mm : float
    rng : numpy.random.Generator
    settings : SynthesisSettings, optional
    shapes : int
        Number of blob classes.
    name : str

    Returns
    -------
    LabelledVolume
        ``background_only``: every class is absent.
    """
    settings = settings or SynthesisSettings()
    coarse = rng.standard_normal((shapes + 1, 6, 6, 6)).astype(np.float32)
    fields = np.stack([ndimage.zoom(field, np.array(shape) / 6, order=1, mode="nearest", grid_mode=True)
                       for field in coarse])
    body = _ellipsoid(shape, rng)
    tissues = np.where(body, fields[1:].argmax(axis=0) + 1, AIR).astype(np.int32)
    means = rng.uniform(*settings.tissue_mean, shapes + 1)
    spreads = rng.uniform(*settings.tissue_spread, shapes + 1)
    spreads[AIR] = 0.0
    image = appearance(tissues, means, spreads, pixel_mm, rng, settings)
    grid = CanonicalGrid((0.0, 0.0, 0.0), float(pixel_mm), tuple(int(n) for n in shape))
    return background_volume(to_pseudo_hu(image, tissues == AIR), grid.ijk_to_ras, name=name)


def _ellipsoid(shape, rng):
    """A random body-like elliptic cylinder along axis 0 filling 50-90 % of the in-plane field."""
    _, rows, columns = shape
    j, i = np.ogrid[:rows, :columns]
    half = np.array([rows, columns]) / 2 * rng.uniform(0.5, 0.9, 2)
    inside = ((j - rows / 2) / half[0]) ** 2 + ((i - columns / 2) / half[1]) ** 2 <= 1.0
    return np.broadcast_to(inside, shape)
