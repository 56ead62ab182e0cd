"""Synthetic abdominal CT and MR phantoms with organs and one lesion, for the demo and tests.

A phantom is an axial slab of an abdomen: a body ellipse with a subcutaneous fat
ring, liver, spleen, two kidneys, the spine and the aorta, and one slightly
irregular, roughly spherical lesion inside the liver. The anatomy is defined in
physical mm as fractions of the field of view, so phantoms with the same field of
view and different spacings hold the same anatomy. Image formation then adds a
subtle tissue texture, partial-volume blur, (MR only) a smooth bias field and noise:
Gaussian for CT (HU), Rician for MR (magnitude images).

Array level: numpy and scipy only. :func:`clinicalimaging.phantom_nodes.phantom_volume`
turns a phantom into MRML nodes.
"""

import dataclasses

import numpy as np
from scipy import ndimage

from .errors import InputError

LABEL_NAMES = {1: "body", 2: "liver", 3: "spleen", 4: "kidney_left", 5: "kidney_right", 6: "spine", 7: "aorta",
               8: "lesion"}
LESION_LABEL = 8
# Tissue intensities: CT in HU (portal venous phase), MR in arbitrary units (T1-weighted-like contrasts).
INTENSITIES = {
    "ct": {0: -1000.0, "fat": -100.0, 1: 50.0, 2: 100.0, 3: 110.0, 4: 160.0, 5: 160.0, 6: 450.0, 7: 150.0, 8: 70.0},
    "mr": {0: 0.0, "fat": 180.0, 1: 60.0, 2: 100.0, 3: 80.0, 4: 90.0, 5: 90.0, 6: 130.0, 7: 20.0, 8: 80.0},
}
# Standard deviation of the noise: HU for CT; for MR, sigma of each Gaussian channel before the magnitude.
NOISE_SIGMA = {"ct": 15.0, "mr": 6.0}
TEXTURE_AMPLITUDE = {"ct": 5.0, "mr": 3.0}
PARTIAL_VOLUME_SIGMA_PX = 0.7
# Organs as ellipsoids (center, semi-axes) in units of the half field of view, axes (x=i, y=j, z=k);
# i runs to the patient's left and j to the back (LPS-like axial CT), hence the liver at x < 0.
_ORGANS = {
    2: ((-0.38, -0.05, 0.0), (0.36, 0.30, 0.8)),
    3: ((0.45, 0.15, 0.05), (0.14, 0.18, 0.5)),
    4: ((0.30, 0.38, -0.1), (0.10, 0.14, 0.5)),
    5: ((-0.30, 0.38, -0.15), (0.10, 0.14, 0.5)),
}
_TUBES = {6: ((0.0, 0.5), 0.09), 7: ((0.05, 0.32), 0.05)}  # cylinders along z: center (x, y), radius
_BODY = (0.92, 0.72)  # semi-axes of the body ellipse
_FAT_THICKNESS = 0.08  # of the subcutaneous fat ring
_LESION_MAX_BUMP = 1.23  # 1 + the sum of the bump amplitudes in _lesion


@dataclasses.dataclass(frozen=True)
class Phantom:
    """A synthetic volume with its ground-truth labels.

    Attributes
    ----------
    image : ndarray of float32, shape (K, J, I)
        CT in HU or MR in arbitrary units.
    labels : ndarray of uint8, shape (K, J, I)
        0 outside the body, else a key of ``label_names``.
    label_names : dict of int to str
        Label value -> tissue name; includes ``"lesion"``.
    lesion_label : int
        The lesion's label value.
    spacing : tuple of 3 float
        Voxel spacing in mm, KJI order.
    ijk_to_ras : ndarray, shape (4, 4)
        IJK-to-RAS matrix in mm.
    """

    image: np.ndarray
    labels: np.ndarray
    label_names: dict
    lesion_label: int
    spacing: tuple
    ijk_to_ras: np.ndarray


def make_phantom(kind="ct", *, shape=(24, 96, 96), spacing=(2.5, 0.8, 0.8), oblique=False, seed=0):
    """Make a synthetic abdominal CT or MR volume with organ labels and one liver lesion.

    Parameters
    ----------
    kind : {"ct", "mr"}
        CT (HU, Gaussian noise of ``NOISE_SIGMA["ct"]`` HU) or MR (arbitrary units,
        smooth bias field, Rician noise).
    shape : tuple of 3 int
        Volume shape (K, J, I); at least 8 voxels along every axis.
    spacing : tuple of 3 float
        Voxel spacing in mm, KJI order (anisotropy allowed).
    oblique : bool
        Rotate the direction cosines (20 degrees about S, then 10 degrees about R) and
        move the origin; the voxel arrays do not change.
    seed : int
        Seed of every random choice; the same arguments give the same phantom.

    Returns
    -------
    Phantom
    """
    if kind not in INTENSITIES:
        raise InputError(f"Phantom kind must be one of {', '.join(INTENSITIES)}; got '{kind}'.")
    shape = tuple(int(size) for size in shape)
    spacing = tuple(float(value) for value in spacing)
    if len(shape) != 3 or min(shape) < 8:
        raise InputError(f"Phantom shape must be 3 sizes (K, J, I) of at least 8 voxels; got {shape}.")
    if len(spacing) != 3 or min(spacing) <= 0:
        raise InputError(f"Phantom spacing must be 3 positive values in mm (K, J, I); got {spacing}.")
    rng = np.random.default_rng(seed)
    half_fov = np.array([shape[2] * spacing[2], shape[1] * spacing[1], shape[0] * spacing[0]]) / 2
    x, y, z = _centered_coordinates(shape, spacing)
    labels = _anatomy(x, y, z, half_fov, rng)
    image = _form_image(kind, labels, x, y, z, half_fov, spacing, rng)
    return Phantom(image=image, labels=labels, label_names=dict(LABEL_NAMES), lesion_label=LESION_LABEL,
                   spacing=spacing, ijk_to_ras=_ijk_to_ras(shape, spacing, oblique))


def _centered_coordinates(shape, spacing):
    """Physical coordinates in mm of the voxel centers relative to the volume center, broadcastable (x, y, z)."""
    k, j, i = (np.arange(size, dtype=np.float32) - (size - 1) / 2 for size in shape)
    return (i * spacing[2])[None, None, :], (j * spacing[1])[None, :, None], (k * spacing[0])[:, None, None]


def _box(x, y, z, center, half_extent):
    """The index box (tuple of slices, KJI) of the voxels within ``half_extent`` mm of ``center``, and their
    coordinates."""
    ranges = [np.flatnonzero(np.abs(axis.ravel() - c) <= h) for axis, c, h in zip((z, y, x), center[::-1],
                                                                                    half_extent[::-1])]
    box = tuple(slice(r[0], r[-1] + 1) if r.size else slice(0, 0) for r in ranges)
    return box, x[..., box[2]], y[:, box[1]], z[box[0]]


def _paint_ellipsoid(labels, x, y, z, center, semi_axes, label):
    box, bx, by, bz = _box(x, y, z, center, semi_axes)
    inside = ((bx - center[0]) / semi_axes[0]) ** 2 + ((by - center[1]) / semi_axes[1]) ** 2 \
        + ((bz - center[2]) / semi_axes[2]) ** 2 <= 1
    labels[box][inside] = label


def _anatomy(x, y, z, half_fov, rng):
    """The label map; organ positions jitter slightly with the seed."""
    shape = np.broadcast_shapes(x.shape, y.shape, z.shape)
    labels = np.zeros(shape, np.uint8)
    body = (x / (_BODY[0] * half_fov[0])) ** 2 + (y / (_BODY[1] * half_fov[1])) ** 2 <= 1
    labels[np.broadcast_to(body, shape)] = 1
    for label, (center, radius) in _TUBES.items():
        tube = (x - center[0] * half_fov[0]) ** 2 + (y - center[1] * half_fov[1]) ** 2 \
            <= (radius * half_fov[:2].min()) ** 2
        labels[np.broadcast_to(tube, shape)] = label
    centers = {label: (np.array(center) + rng.uniform(-0.02, 0.02, 3)) * half_fov
               for label, (center, _) in _ORGANS.items()}
    for label, (_, semi_axes) in _ORGANS.items():
        _paint_ellipsoid(labels, x, y, z, centers[label], np.array(semi_axes) * half_fov, label)
    liver_semi_axes = np.array(_ORGANS[2][1]) * half_fov
    lesion_center = centers[2] + rng.uniform(-0.1, 0.1, 3) * liver_semi_axes
    radius = 0.5 * liver_semi_axes.min()
    box, bx, by, bz = _box(x, y, z, lesion_center, np.full(3, radius * _LESION_MAX_BUMP))
    labels[box][_lesion(bx, by, bz, lesion_center, radius, rng)] = LESION_LABEL
    return labels


def _lesion(x, y, z, center, radius, rng):
    """A roughly spherical blob of mean radius ``radius`` mm whose boundary has smooth random bumps.

    The bumps are low-order angular harmonics with random phases (at most
    ``_LESION_MAX_BUMP`` times the radius), so the shape is the same in mm whatever
    the voxel grid.
    """
    dx, dy, dz = x - center[0], y - center[1], z - center[2]
    distance = np.sqrt(dx ** 2 + dy ** 2 + dz ** 2)
    azimuth = np.arctan2(dy, dx)
    polar = np.arccos(np.clip(dz / np.maximum(distance, 1e-6), -1, 1))
    phases = rng.uniform(0, 2 * np.pi, 4)
    bumps = 0.08 * np.cos(2 * azimuth + phases[0]) * np.sin(polar) + 0.06 * np.cos(3 * azimuth + phases[1]) \
        + 0.05 * np.cos(2 * polar + phases[2]) + 0.04 * np.cos(azimuth + 3 * polar + phases[3])
    return distance <= radius * (1 + bumps)


def _form_image(kind, labels, x, y, z, half_fov, spacing, rng):
    """Tissue intensities + texture, partial-volume blur, bias field (MR) and noise; float32 KJI."""
    values = INTENSITIES[kind]
    lookup = np.array([values[label] for label in range(len(LABEL_NAMES) + 1)], np.float32)
    image = lookup[labels]
    fat_ring = (x / ((_BODY[0] - _FAT_THICKNESS) * half_fov[0])) ** 2 \
        + (y / ((_BODY[1] - _FAT_THICKNESS) * half_fov[1])) ** 2 > 1
    image[(labels == 1) & fat_ring] = values["fat"]
    texture = ndimage.gaussian_filter(rng.standard_normal(labels.shape, dtype=np.float32), 1.5)
    texture *= TEXTURE_AMPLITUDE[kind] / max(float(texture[::3, ::3, ::3].std()), 1e-6)
    image += np.where(labels > 0, texture, 0)
    image = ndimage.gaussian_filter(image, PARTIAL_VOLUME_SIGMA_PX)
    sigma = NOISE_SIGMA[kind]
    if kind == "ct":
        image += sigma * rng.standard_normal(labels.shape, dtype=np.float32)
        return image
    image *= _bias_field(x, y, z, half_fov, rng)
    real = image + sigma * rng.standard_normal(labels.shape, dtype=np.float32)
    imaginary = sigma * rng.standard_normal(labels.shape, dtype=np.float32)
    return np.sqrt(real ** 2 + imaginary ** 2)  # Rician magnitude


def _bias_field(x, y, z, half_fov, rng):
    """A smooth multiplicative field of about +-15 %: a random low-order polynomial of the position."""
    u, v, w = x / half_fov[0], y / half_fov[1], z / half_fov[2]
    a = rng.uniform(-1, 1, 6)
    field = a[0] * u + a[1] * v + a[2] * w + a[3] * u * v + a[4] * (u ** 2 - 0.5) + a[5] * (v ** 2 - 0.5)
    return (1 + 0.15 * field / np.abs(a).sum()).astype(np.float32)


def _ijk_to_ras(shape, spacing, oblique):
    """An axial LPS-like orientation (i to the left, j to the back), rotated and shifted when oblique."""
    direction = np.diag([-1.0, -1.0, 1.0])
    if oblique:
        about_s, about_r = np.radians(20.0), np.radians(10.0)
        rotate_s = np.array([[np.cos(about_s), -np.sin(about_s), 0], [np.sin(about_s), np.cos(about_s), 0],
                             [0, 0, 1]])
        rotate_r = np.array([[1, 0, 0], [0, np.cos(about_r), -np.sin(about_r)],
                             [0, np.sin(about_r), np.cos(about_r)]])
        direction = rotate_r @ rotate_s @ direction
    axes = direction @ np.diag(spacing[::-1])
    center_ijk = (np.array(shape[::-1]) - 1) / 2
    matrix = np.eye(4)
    matrix[:3, :3] = axes
    matrix[:3, 3] = -axes @ center_ijk + (np.array([12.5, -30.0, 45.0]) if oblique else 0)
    return matrix
