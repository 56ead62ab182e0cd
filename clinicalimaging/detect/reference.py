"""The reference box of each organ of a label map: the smallest RAS-aligned box that holds its voxels (numpy, scipy)."""

import itertools

import numpy as np
import scipy.ndimage

from ..errors import InputError
from .organs import select_organs


def reference_boxes_in_array(labels, ijk_to_ras, label_names, *, organs=None, name="label map"):
    """The RAS-aligned bounding box of each organ of a label array.

    Exact for any orientation: the box spans the RAS coordinates of the organ's voxel
    centres plus, on each axis, the smallest and largest RAS offset of the 8 corners
    of a voxel from its centre (the same for every voxel). Node level:
    :func:`.evaluation.reference_boxes`.

    Parameters
    ----------
    labels : ndarray, shape (K, J, I)
        Integer label values; never modified.
    ijk_to_ras : array_like, shape (4, 4)
        Voxel indices (i, j, k, 1) to RAS mm.
    label_names, organs
        Label value -> organ name; the organs to measure (see
        :func:`~.organs.select_organs`), default all of ``label_names``.
    name : str
        The label map's name, for messages.

    Returns
    -------
    dict of str to (ndarray, ndarray)
        Organ -> ``(ras_min, ras_max)``, each shape (3,) in mm (R, A, S); organs without
        a voxel are left out.

    Raises
    ------
    InputError
        An organ not in ``label_names``, or a label map with non-integer values.
    """
    chosen = set(select_organs(organs, list(label_names.values())))
    values = {value: organ for value, organ in label_names.items() if organ in chosen}
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.isfinite(labels)) or not np.array_equal(labels, np.round(labels)):
            raise InputError(f"Label map '{name}' has non-integer values; it must hold whole label "
                             "values (0 for the background). Choose the label map, not the image.")
        labels = labels.astype(np.int64)
    matrix = np.asarray(ijk_to_ras, dtype=np.float64)
    axes = matrix[:3, :3]
    corners = np.array(list(itertools.product((-0.5, 0.5), repeat=3))) @ axes.T
    wanted = [value for value in sorted(values) if value > 0]
    if not wanted:
        return {}
    clipped = np.where((labels > 0) & (labels <= max(wanted)), labels, 0)
    extents = scipy.ndimage.find_objects(clipped, max_label=max(wanted))
    boxes = {}
    for value in wanted:
        extent = extents[value - 1]
        if extent is None:
            continue
        kji = np.argwhere(clipped[extent] == value) + [piece.start for piece in extent]
        ras = kji[:, ::-1] @ axes.T + matrix[:3, 3]
        boxes[values[value]] = (ras.min(axis=0) + corners.min(axis=0), ras.max(axis=0) + corners.max(axis=0))
    return boxes
