"""The network's view of a volume: a canonical grid, normalised intensities, slices in three views.

The canonical grid is axis-aligned in patient space whatever the volume's orientation
(oblique acquisitions included): array index ``[k, j, i]`` with i towards the patient's
left, j towards the back (posterior) and k towards the head (superior), every voxel a
cube of ``pixel_mm``. It is the LPS orientation DICOM and most CT files use, so a
typical axial CT is only resampled in-plane. Slices of the three views are
``grid[k]`` (axial: rows j, columns i), ``grid[:, j]`` (coronal: rows k, columns i) and
``grid[:, :, i]`` (sagittal: rows k, columns j).

Each network input pixel has two channels: the normalised intensity, and the lateral
coordinate, the signed distance in units of 100 mm from the body's midline towards the
patient's left. The second channel tells left from right on sagittal slices, where
the image alone cannot (a sagittal cut through the left kidney looks like one through
the right kidney).

Array level: numpy and scipy only.
"""

import dataclasses

import numpy as np
from scipy import ndimage

from ..errors import InputError

#: RAS <-> LPS: the two frames differ by the sign of their first two axes.
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])
#: Intensity normalisation of CT (HU): this window is mapped onto [-1, 1].
CT_WINDOW_HU = (-200.0, 400.0)
#: Intensity normalisation of MR: these percentiles of the body's voxels are mapped onto [-1, 1].
MR_PERCENTILES = (1.0, 99.0)
#: Lateral coordinate unit (mm).
LATERAL_UNIT_MM = 100.0


@dataclasses.dataclass(frozen=True)
class CanonicalGrid:
    """An axis-aligned LPS grid of cubic voxels.

    Attributes
    ----------
    origin_lps : tuple of 3 float
        LPS position (mm) of the centre of voxel ``[0, 0, 0]``.
    pixel_mm : float
        Edge of a voxel (mm).
    shape : tuple of 3 int
        ``(K, J, I)``.
    """

    origin_lps: tuple
    pixel_mm: float
    shape: tuple

    @property
    def ijk_to_ras(self):
        """4x4 IJK-to-RAS matrix of the grid."""
        matrix = np.eye(4)
        matrix[:3, :3] = LPS_TO_RAS * self.pixel_mm
        matrix[:3, 3] = LPS_TO_RAS @ np.asarray(self.origin_lps)
        return matrix


def canonical_grid(shape, ijk_to_ras, pixel_mm):
    """The canonical grid that covers a volume's voxels.

    Parameters
    ----------
    shape : tuple of 3 int
        The volume's ``(K, J, I)``.
    ijk_to_ras : ndarray, shape (4, 4)
        The volume's IJK-to-RAS matrix (mm).
    pixel_mm : float
        Voxel edge of the grid (mm).

    Returns
    -------
    CanonicalGrid
    """
    corners_ijk = np.array([[i, j, k, 1.0] for i in (-0.5, shape[2] - 0.5) for j in (-0.5, shape[1] - 0.5)
                            for k in (-0.5, shape[0] - 0.5)])
    corners_lps = (LPS_TO_RAS @ (np.asarray(ijk_to_ras) @ corners_ijk.T)[:3]).T
    low, high = corners_lps.min(axis=0), corners_lps.max(axis=0)
    size = np.maximum(np.ceil((high - low) / pixel_mm - 1e-6).astype(int), 1)
    origin = low + pixel_mm / 2
    return CanonicalGrid(tuple(float(value) for value in origin), float(pixel_mm), tuple(int(n) for n in size[::-1]))


def resample_to_grid(array, ijk_to_ras, grid, *, labels=False):
    """A volume on the canonical grid: trilinear for images, nearest neighbour for label maps.

    Parameters
    ----------
    array : ndarray, shape (K, J, I)
    ijk_to_ras : ndarray, shape (4, 4)
        The volume's IJK-to-RAS matrix.
    grid : CanonicalGrid
    labels : bool
        Nearest-neighbour interpolation, outside = 0; otherwise linear, outside = the
        volume's minimum (air on CT, background on MR).

    Returns
    -------
    ndarray, shape ``grid.shape``
        float32 for images, the label dtype for label maps.
    """
    # grid (k, j, i) -> grid ijk -> RAS -> volume ijk -> volume (k, j, i)
    reverse = np.eye(4)[[2, 1, 0, 3]]
    grid_to_volume = reverse @ np.linalg.inv(np.asarray(ijk_to_ras, float)) @ grid.ijk_to_ras @ reverse
    if labels:
        return ndimage.affine_transform(array, grid_to_volume, output_shape=grid.shape, order=0, cval=0,
                                        mode="constant")
    source = np.asarray(array, np.float32)
    return ndimage.affine_transform(source, grid_to_volume, output_shape=grid.shape, order=1,
                                    cval=float(source.min()), mode="constant", prefilter=False)


def guess_modality(array):
    """``"ct"`` when the intensities look like Hounsfield units (air near -1000), else ``"mr"``."""
    sample = np.asarray(array)[::2, ::4, ::4]
    return "ct" if np.percentile(sample, 1) < -500 and sample.max() > 0 else "mr"


def normalise(grid_image, modality):
    """Intensities mapped onto about [-1, 1]: the CT window, or the MR body's percentiles.

    Parameters
    ----------
    grid_image : ndarray
    modality : {"ct", "mr"}

    Returns
    -------
    ndarray of float32, same shape
    """
    if modality == "ct":
        low, high = CT_WINDOW_HU
    elif modality == "mr":
        body = grid_image[grid_image > np.percentile(grid_image, 5)]
        low, high = np.percentile(body, MR_PERCENTILES) if body.size else (0.0, 1.0)
    else:
        raise InputError(f"Modality must be 'ct' or 'mr'; got '{modality}'.")
    scaled = (np.asarray(grid_image, np.float32) - low) / max(high - low, 1e-6) * 2 - 1
    return np.clip(scaled, -1.5, 1.5)


def body_midline_i(normalised):
    """The column (grid i, fractional) of the body's midline: centre of mass of the voxels brighter than air."""
    body = normalised > -0.95
    profile = body.sum(axis=(0, 1)).astype(float)
    if profile.sum() == 0:
        return (normalised.shape[2] - 1) / 2
    return float((profile * np.arange(len(profile))).sum() / profile.sum())


def lateral_channel(shape, midline_i, pixel_mm):
    """The lateral coordinate of every grid voxel, broadcastable to ``shape`` (K, J, I)."""
    i = np.arange(shape[2], dtype=np.float32)
    return ((i - midline_i) * pixel_mm / LATERAL_UNIT_MM)[None, None, :]


def network_input(normalised, midline_i, pixel_mm):
    """The two-channel grid volume: ``(K, J, I, 2)`` float32 (intensity, lateral coordinate)."""
    lateral = np.broadcast_to(lateral_channel(normalised.shape, midline_i, pixel_mm), normalised.shape)
    return np.stack([normalised, lateral], axis=-1).astype(np.float32)


def view_slices(volume, view, *, step=1):
    """The slices of one view as a stack ``(N, rows, columns, ...)``, with their grid indices.

    Parameters
    ----------
    volume : ndarray, shape (K, J, I, ...)
    view : {"axial", "coronal", "sagittal"}
    step : int
        Every ``step``-th slice.

    Returns
    -------
    slices : ndarray, shape (N, rows, columns, ...)
        Axial rows j, columns i; coronal rows k, columns i; sagittal rows k, columns j.
    indices : ndarray of int, shape (N,)
        Grid index of each slice along the view's slice axis.
    """
    axis = {"axial": 0, "coronal": 1, "sagittal": 2}[view]
    indices = np.arange(0, volume.shape[axis], step)
    return np.moveaxis(volume, axis, 0)[indices], indices


def slice_boxes(label_slice, class_values):
    """The 2-D bounding box of each class present in one label slice.

    Parameters
    ----------
    label_slice : ndarray, shape (rows, columns)
    class_values : sequence of int
        Label value of class ``c`` is ``class_values[c]``.

    Returns
    -------
    boxes : ndarray, shape (M, 4)
        ``(x0, y0, x1, y1)`` pixel edges (x = column).
    classes : ndarray of int, shape (M,)
        Class index of each box.
    """
    boxes, classes = [], []
    found = ndimage.find_objects(np.asarray(label_slice, np.int32))
    for index, value in enumerate(class_values):
        if 0 < value <= len(found) and found[value - 1] is not None:
            rows, columns = found[value - 1]
            boxes.append((columns.start, rows.start, columns.stop, rows.stop))
            classes.append(index)
    return np.array(boxes, np.float32).reshape(-1, 4), np.array(classes, np.int64)


def grid_box_to_ras(box, grid):
    """RAS corners (mm) of a canonical-grid box ``(i0, j0, k0, i1, j1, k1)`` given in voxel edges.

    Returns
    -------
    ras_min, ras_max : ndarray, shape (3,)
    """
    low = np.asarray(box[:3], float) - 0.5  # voxel edge -> voxel-centre index coordinates
    high = np.asarray(box[3:], float) - 0.5
    corners = np.array([grid.ijk_to_ras @ np.r_[low, 1.0], grid.ijk_to_ras @ np.r_[high, 1.0]])[:, :3]
    return corners.min(axis=0), corners.max(axis=0)
