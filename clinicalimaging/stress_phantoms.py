"""Stress phantoms for lesion and organ segmentation: the failure modes of one outline on real scans.

Each phantom reproduces one situation where segmenting from an outline on one slice
goes wrong:

- ``thick_small``: a small bright lesion on 3 thick (6.5 mm) MR slices, and on the
  slice above its top a larger structure of the same brightness, shifted sideways
  (a vessel or a neighbouring enhancing region): the rough step must not claim it;
- ``neighbour_gap``: a heterogeneous, heart-like structure on CT (a bright
  contrast-filled chamber inside a darker wall) with neighbours of the same
  intensities beyond a 2-3 mm fat gap (a bright vessel, an organ below);
- ``shape_change``: an organ on CT whose cross-section drifts, turns and tapers to an
  apex over 30-40 slices from its largest slice, touching a neighbour of the same
  intensity far from that slice.

The anatomy is defined in mm and rendered with through-plane partial volume (each
slice the mean of sub-slices 1 mm or less apart), in-plane blur and noise (Gaussian for
CT, Rician for MR). The reference label of a thick slice holds the voxels that are
target in at least half of its sub-slices. Numpy and scipy only; the result is a
:class:`clinicalimaging.phantom.Phantom` whose ``lesion_label`` is the target.
"""

import math

import numpy as np
from scipy import ndimage

from .errors import InputError
from .phantom import Phantom, _ijk_to_ras

#: The stress phantom families.
FAMILIES = ("thick_small", "neighbour_gap", "shape_change")
TARGET_LABEL = 1
_NEIGHBOUR_LABEL = 2
_SUB_SLICE_MM = 1.0


def make_stress_phantom(family, *, seed=0):
    """One stress phantom.

    Parameters
    ----------
    family : {"thick_small", "neighbour_gap", "shape_change"}
    seed : int
        Seed of the shape's jitter, the texture and the noise.

    Returns
    -------
    Phantom
        ``labels`` 1 for the target, 2 for the look-alike neighbours, 0 elsewhere.
    """
    if family not in FAMILIES:
        raise InputError(f"Stress phantom family must be one of {', '.join(FAMILIES)}; got '{family}'.")
    rng = np.random.default_rng(seed)
    scene = {"thick_small": _thick_small, "neighbour_gap": _neighbour_gap, "shape_change": _shape_change}[family]
    shape, spacing, kind, tissues, z_centre = scene(rng)
    image, labels = _render(shape, spacing, kind, tissues, z_centre, rng)
    return Phantom(image=image, labels=labels, label_names={TARGET_LABEL: "target", _NEIGHBOUR_LABEL: "neighbour"},
                   lesion_label=TARGET_LABEL, spacing=spacing, ijk_to_ras=_ijk_to_ras(shape, spacing, False))


def _ellipsoid(centre, semi_axes):
    """Inside test of an ellipsoid, in mm (x, y, z)."""
    centre, semi_axes = np.asarray(centre, float), np.asarray(semi_axes, float)

    def inside(x, y, z):
        return (((x - centre[0]) / semi_axes[0]) ** 2 + ((y - centre[1]) / semi_axes[1]) ** 2
                + ((z - centre[2]) / semi_axes[2]) ** 2) <= 1

    return inside


def _thick_small(rng):
    # Brain-like MR: a 13 mm bright lesion; one slice above its top a wider bright region, shifted sideways.
    spacing = (6.5, 0.9, 0.9)
    lesion = _ellipsoid(rng.uniform(-2, 2, 2).tolist() + [0.0], (6.5, 6.0, 7.5))
    look_alike = _ellipsoid((9.0 + rng.uniform(-1, 1), 3.0, 14.5), (14.0, 10.0, 2.5))
    tissues = [
        ("background", lambda x, y, z: np.ones(np.broadcast_shapes(x.shape, y.shape, z.shape), bool), 100.0, 0),
        ("look-alike", look_alike, 165.0, _NEIGHBOUR_LABEL),
        ("lesion", lesion, 165.0, TARGET_LABEL),
    ]
    return (9, 96, 96), spacing, "mr", tissues, 0.0


def _neighbour_gap(rng):
    # Heart-like CT: a wall of 110 HU around a contrast-filled chamber of 300 HU; a 300 HU vessel and a
    # 110 HU organ below, each beyond a fat gap of 2-3 mm.
    spacing = (1.5, 1.5, 1.5)
    tilt = rng.uniform(-3, 3)
    heart = _ellipsoid((tilt, 0.0, 0.0), (30.0, 24.0, 26.0))
    chamber = _ellipsoid((tilt + 3.0, 2.0, 2.0), (20.0, 15.0, 17.0))
    vessel = _ellipsoid((0.0, 24.0 + 2.5 + 9.0, 0.0), (9.0, 9.0, 60.0))
    organ = _ellipsoid((0.0, 0.0, -26.0 - 3.0 - 14.0), (40.0, 30.0, 14.0))
    tissues = [
        ("fat", lambda x, y, z: np.ones(np.broadcast_shapes(x.shape, y.shape, z.shape), bool), -100.0, 0),
        ("vessel", vessel, 300.0, _NEIGHBOUR_LABEL),
        ("organ", organ, 110.0, _NEIGHBOUR_LABEL),
        ("wall", heart, 110.0, TARGET_LABEL),
        ("chamber", chamber, 300.0, TARGET_LABEL),
    ]
    return (64, 72, 72), spacing, "ct", tissues, -10.0


def _shape_change(rng):
    # Organ-like CT at 2 mm slices: its largest slice at z = 0; towards +z it drifts 25 mm sideways, turns and
    # tapers to an apex 70 mm away, where it touches a neighbour of the same intensity.
    spacing = (2.0, 1.0, 1.0)
    turn = rng.uniform(0.6, 0.9)
    length = 70.0

    def organ(x, y, z):
        t = np.clip(z / length, 0.0, None)
        shrink = np.where(z < 0, np.sqrt(np.clip(1 - (z / 20.0) ** 2, 0, None)), np.sqrt(np.clip(1 - t, 0, None)))
        angle = turn * t
        cx, cy = 25.0 * t ** 1.5, 0.0
        u = (x - cx) * np.cos(angle) + (y - cy) * np.sin(angle)
        v = -(x - cx) * np.sin(angle) + (y - cy) * np.cos(angle)
        return (u / (30.0 * shrink + 1e-6)) ** 2 + (v / (18.0 * shrink + 1e-6)) ** 2 <= 1

    neighbour = _ellipsoid((25.0 + 14.0, 0.0, length - 8.0), (12.0, 12.0, 20.0))
    tissues = [
        ("background", lambda x, y, z: np.ones(np.broadcast_shapes(x.shape, y.shape, z.shape), bool), 20.0, 0),
        ("neighbour", neighbour, 70.0, _NEIGHBOUR_LABEL),
        ("organ", organ, 70.0, TARGET_LABEL),
    ]
    return (56, 80, 96), spacing, "ct", tissues, 22.0


def _render(shape, spacing, kind, tissues, z_centre, rng):
    """Image and labels of ``tissues`` (painted in order) on a grid centred on (0, 0, z_centre) mm, KJI arrays."""
    sub = max(1, math.ceil(spacing[0] / _SUB_SLICE_MM))
    k = np.arange(shape[0] * sub, dtype=np.float32)
    z = ((k + 0.5) / sub - 0.5 - (shape[0] - 1) / 2) * spacing[0]
    z = z + z_centre
    y = (np.arange(shape[1], dtype=np.float32) - (shape[1] - 1) / 2) * spacing[1]
    x = (np.arange(shape[2], dtype=np.float32) - (shape[2] - 1) / 2) * spacing[2]
    z, y, x = z[:, None, None], y[None, :, None], x[None, None, :]
    fine_shape = (shape[0] * sub, shape[1], shape[2])
    image = np.zeros(fine_shape, np.float32)
    labels = np.zeros(fine_shape, np.uint8)
    for _, inside, value, label in tissues:
        region = np.broadcast_to(inside(x, y, z), fine_shape)
        image[region] = value
        labels[region] = label
    texture = ndimage.gaussian_filter(rng.standard_normal(fine_shape, dtype=np.float32), (1.0 * sub, 1.5, 1.5))
    image += texture * (5.0 if kind == "ct" else 3.0) / max(float(texture.std()), 1e-6)
    image = image.reshape(shape[0], sub, *shape[1:]).mean(axis=1)
    target = (labels == TARGET_LABEL).reshape(shape[0], sub, *shape[1:]).mean(axis=1) >= 0.5
    neighbour = (labels == _NEIGHBOUR_LABEL).reshape(shape[0], sub, *shape[1:]).mean(axis=1) >= 0.5
    coarse = np.where(target, TARGET_LABEL, np.where(neighbour, _NEIGHBOUR_LABEL, 0)).astype(np.uint8)
    image = ndimage.gaussian_filter(image, (0.0, 0.7, 0.7))
    if kind == "ct":
        return (image + 15.0 * rng.standard_normal(shape, dtype=np.float32)).astype(np.float32), coarse
    real = image + 6.0 * rng.standard_normal(shape, dtype=np.float32)
    imaginary = 6.0 * rng.standard_normal(shape, dtype=np.float32)
    return np.sqrt(real ** 2 + imaginary ** 2).astype(np.float32), coarse
