"""Lesion measurements a radiologist reads: volume, RECIST diameters and intensity statistics.

RECIST (Response Evaluation Criteria In Solid Tumours, version 1.1) sizes a lesion by its longest
diameter measured on one axial slice, with calipers from one edge of the lesion to the opposite edge;
lymph nodes, and WHO-style bidimensional reads, add the longest diameter perpendicular to it on the same
slice. :func:`lesion_measurements` computes both on the slices of the volume (the k planes of the
(K, J, I) array), in mm, from the in-plane columns of the IJK-to-RAS matrix, so anisotropic, sheared
and oblique in-plane spacings are honoured.

Conventions
-----------
- Edge to edge: every lesion voxel is the parallelogram spanned by its in-plane step vectors, and a
  slice's lesion is the union of these parallelograms. Diameters are measured between voxel corners,
  so a single voxel of 1 mm x 1 mm has a longest diameter of sqrt(2) mm, and a disk of radius r mm
  measures 2r within about one pixel.
- The longest diameter of a slice is the largest distance between two lesion points on it, whether
  or not they belong to the same connected piece; it is the largest distance between two vertices of
  the convex hull of the slice's lesion corners.
- The perpendicular diameter is the longest chord of that convex hull perpendicular to the longest
  diameter, as calipers laid across the lesion's outline read it (a concavity does not shorten it).
- The diameter slice is the slice with the largest longest diameter; of equal slices, the lowest k.
"""

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull
from scipy.spatial.distance import pdist, squareform

from .errors import InputError
from .validation import as_binary_mask, as_scalar_volume, on_image_grid

#: Percentiles of the lesion's intensities reported, with their keys.
PERCENTILES = {"p5": 5.0, "p25": 25.0, "median": 50.0, "p75": 75.0, "p95": 95.0}


def lesion_measurements(image, mask, ijk_to_ras, *, unit: str = "") -> dict:
    """Volume, RECIST-style diameters and intensity statistics of a lesion.

    Parameters
    ----------
    image : array_like, shape (K, J, I) or (J, I)
        Real-valued scalar image, KJI order (slice k, row j, column i); never modified.
    mask : array_like, shape of ``image``
        The lesion: any non-zero voxel is inside.
    ijk_to_ras : array_like, shape (4, 4)
        Maps voxel indices (i, j, k, 1) to RAS positions in mm: column 0 is the step along i, column 1
        along j, column 2 along k (spacing included; directions may be oblique).
    unit : str
        The image's intensity unit (e.g. ``"HU"``), copied to the result.

    Returns
    -------
    dict
        JSON-serialisable plain numbers:

        - ``voxels`` (int): number of lesion voxels;
        - ``volume_ml`` (float): their volume in mL, ``voxels * |det(ijk_to_ras[:3, :3])| / 1000``;
        - ``longest_diameter_mm`` (float): the largest edge-to-edge distance between two lesion points
          on one k slice, in mm;
        - ``perpendicular_diameter_mm`` (float): the longest chord of the lesion's convex hull on that
          slice perpendicular to the longest diameter, in mm;
        - ``diameter_slice`` (int): the k index of that slice;
        - ``mean``, ``sd`` (population standard deviation), ``p5``, ``p25``, ``median``, ``p75``, ``p95``
          (linearly interpolated percentiles, as :func:`numpy.percentile`), ``min``, ``max`` (float):
          intensities of the image inside the mask, in ``unit``;
        - ``unit`` (str): ``unit`` as given.

    Raises
    ------
    InputError
        Invalid image, a mask of another shape, an empty mask, or a matrix that is not an invertible
        4x4 of finite numbers.
    """
    image = as_scalar_volume(image, allow_constant=True)
    mask = as_binary_mask(on_image_grid(mask, image.shape, name="lesion mask",
                                        hint="draw the lesion on the image's voxel grid (resample it first)."))
    axes = _voxel_axes(ijk_to_ras)
    voxels = int(np.count_nonzero(mask))
    if voxels == 0:
        raise InputError("The lesion mask is empty (no non-zero voxel); segment the lesion or choose the right "
                         "label map before measuring.")
    longest, perpendicular, diameter_slice = _recist_diameters(mask, axes[:, :2])
    values = image[mask].astype(np.float64)
    percentiles = np.percentile(values, list(PERCENTILES.values()))
    return {
        "voxels": voxels,
        "volume_ml": voxels * abs(float(np.linalg.det(axes))) / 1000.0,
        "longest_diameter_mm": longest,
        "perpendicular_diameter_mm": perpendicular,
        "diameter_slice": diameter_slice,
        "mean": float(values.mean()),
        "sd": float(values.std()),
        **{key: float(value) for key, value in zip(PERCENTILES, percentiles)},
        "min": float(values.min()),
        "max": float(values.max()),
        "unit": str(unit),
    }


def _voxel_axes(ijk_to_ras) -> np.ndarray:
    """The (3, 3) step vectors in mm (columns i, j, k) of a validated IJK-to-RAS matrix."""
    matrix = np.asarray(ijk_to_ras, dtype=np.float64)
    if matrix.shape != (4, 4) or not np.all(np.isfinite(matrix)) or np.linalg.det(matrix[:3, :3]) == 0:
        raise InputError(f"The IJK-to-RAS matrix must be a 4x4 array of finite numbers with an invertible 3x3 part "
                         f"(voxel axes times spacing, in mm); got {matrix.tolist()}. Take it from the image's header.")
    return matrix[:3, :3]


def _recist_diameters(mask: np.ndarray, in_plane: np.ndarray) -> tuple[float, float, int]:
    """``(longest, perpendicular, k)``: the diameters in mm on the slice k where the longest is largest.

    Parameters
    ----------
    mask : ndarray of bool, shape (K, J, I)
        The lesion, not empty.
    in_plane : ndarray, shape (3, 2)
        The RAS step vectors in mm along i (column 0) and j (column 1).
    """
    box = ndimage.find_objects(mask.view(np.uint8))[0]
    cropped = np.pad(mask[box].view(np.uint8), ((0, 0), (1, 1), (1, 1)))
    # Corner (a, b) of the padded grid touches pixels a-1 and a along j, b-1 and b along i. The hull's
    # vertices are among the corners touching between one and three lesion pixels (the outline's corners).
    touching = cropped[:, :-1, :-1] + cropped[:, 1:, :-1] + cropped[:, :-1, 1:] + cropped[:, 1:, 1:]
    k, a, b = np.nonzero((touching > 0) & (touching < 4))
    # The R factor of in_plane = Q R maps (i, j) onto orthonormal in-plane coordinates in mm, keeping distances.
    to_plane_mm = np.linalg.qr(in_plane, mode="r")
    corners = np.column_stack([b - 0.5 + box[2].start, a - 0.5 + box[1].start]) @ to_plane_mm.T
    slices, starts = np.unique(k, return_index=True)
    best = (-1.0, 0.0, 0)
    for index, points in zip(slices, np.split(corners, starts[1:])):
        hull = points[ConvexHull(points).vertices]  # counter-clockwise
        distances = squareform(pdist(hull))
        first, second = np.unravel_index(np.argmax(distances), distances.shape)
        if distances[first, second] > best[0]:
            best = (float(distances[first, second]), _perpendicular_chord(hull, hull[second] - hull[first]),
                    int(index) + box[0].start)
    return best


def _perpendicular_chord(polygon: np.ndarray, direction: np.ndarray) -> float:
    """The longest chord of a convex polygon perpendicular to ``direction``, in the polygon's units.

    Parameters
    ----------
    polygon : ndarray, shape (N, 2)
        Vertices of a convex polygon in order around it.
    direction : ndarray, shape (2,)
        Non-zero vector; the chords are perpendicular to it.
    """
    along = direction / np.linalg.norm(direction)
    s = polygon @ along  # position along the direction
    w = polygon @ np.array([-along[1], along[0]])  # position across it
    s_end, w_end = np.roll(s, -1), np.roll(w, -1)
    # The chord length is concave and piecewise linear in its position along the direction, with breaks at
    # the vertices: its maximum lies on the line through a vertex. Rows are these lines, columns the edges.
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = (s[:, np.newaxis] - s) / (s_end - s)
    crossed = (fraction >= 0.0) & (fraction <= 1.0)  # an edge along the line crosses nowhere; its ends do
    crossing = np.where(crossed, w + fraction * (w_end - w), np.nan)
    return float(np.max(np.nanmax(crossing, axis=1) - np.nanmin(crossing, axis=1)))
