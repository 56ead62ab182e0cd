"""Training slices: which slices to learn from, and one augmented slice with its boxes (numpy and scipy).

Augmentation: a random in-plane affine transform (zoom, stretch along one axis, small
rotation: the scale, aspect and rotation jitter), a random crop around the organs (or
padding) to the training size, with a set probability one of the seven other
elements of the 8x dihedral augmentation of :mod:`clinicalimaging.preprocess`, and a
random contrast and brightness change. A mirror flips the slice's columns: on axial
and coronal slices that swaps left and right, so the left/right organ labels trade
places (and so do their entries in the case's labelled classes) and the lateral
coordinate changes sign; on sagittal slices it swaps front and back, and none of them
changes.
"""

import numpy as np
from scipy import ndimage

from ..preprocess import AUGMENTATIONS, augment, augment_labels
from .cases import UNKNOWN_CLASS, case_slice_boxes
from .targets import UNKNOWN_GRADE

#: Of the slices without any organ, this fraction is kept as pure background examples.
EMPTY_SLICE_FRACTION = 0.1
PAD_INTENSITY = -1.0


def training_slices(cases, views, rng):
    """``(case, view, slice)`` triples: every slice that shows an organ, and some that show none.

    Parameters
    ----------
    cases : sequence of GridCase
    views : sequence of str
    rng : numpy.random.Generator

    Returns
    -------
    list of tuple (int, str, int)
    """
    chosen = []
    for number, case in enumerate(cases):
        for view in views:
            axis = {"axial": 0, "coronal": 1, "sagittal": 2}[view]
            organ = (case.classes > 0) & (case.classes != UNKNOWN_CLASS)
            shows = np.moveaxis(organ, axis, 0).reshape(organ.shape[axis], -1).any(axis=1)
            empty = np.flatnonzero(~shows)
            keep = rng.random(len(empty)) < EMPTY_SLICE_FRACTION
            chosen.extend((number, view, int(index)) for index in np.r_[np.flatnonzero(shows), empty[keep]])
    return chosen


def view_slice(volume, view, index):
    """One slice of a grid volume ``(K, J, I, ...)`` in a view (rows, columns as in :mod:`.slices`)."""
    return np.take(volume, index, axis={"axial": 0, "coronal": 1, "sagittal": 2}[view])


def augmented_slice(case, view, index, parameters, swaps, rng):
    """One training slice, augmented, with its ground-truth boxes.

    Parameters
    ----------
    case : GridCase
    view : str
    index : int
        Slice index along the view's axis.
    parameters : TrainParameters
    swaps : dict of int to int
        Class values (``c + 1``) of left/right pairs.
    rng : numpy.random.Generator

    Returns
    -------
    inputs : ndarray of float32, shape (crop, crop, 2)
    boxes : ndarray, shape (M, 4)
        ``(x0, y0, x1, y1)`` pixels.
    classes : ndarray of int, shape (M,)
    grades : ndarray, shape (M,)
        1 / 0 lesion in the box or not, :data:`UNKNOWN_GRADE` without lesion labels.
    unknown : ndarray, shape (U, 4)
        The box of the voxels whose class is unknown (U is 0 or 1).
    labelled : ndarray of bool, shape (num_classes,)
        The case's labelled classes (:attr:`.cases.GridCase.labelled`), left and right
        traded when the slice is mirrored.
    """
    inputs = view_slice(case.inputs, view, index)
    classes = view_slice(case.classes, view, index)
    lesion = None if case.lesion is None else view_slice(case.lesion, view, index)
    labelled = case.labelled.copy()
    inputs, classes, lesion = jitter_geometry(inputs, classes, lesion, parameters, rng)
    inputs, classes, lesion = _crop(inputs, classes, lesion, parameters.crop_px, rng)
    if rng.random() < parameters.dihedral_probability:
        transform = AUGMENTATIONS[rng.integers(1, len(AUGMENTATIONS))]
        lateral_flip = transform.mirrored and view != "sagittal"
        inputs = augment(inputs, transform, axes=(0, 1))
        if lateral_flip:
            inputs[..., 1] *= -1
        classes = augment_labels(classes, transform, mirror_swaps=swaps if lateral_flip else None)
        if lateral_flip:
            left, right = (np.array(list(values), int) - 1 for values in (swaps.keys(), swaps.values()))
            labelled[left], labelled[right] = case.labelled[right], case.labelled[left]
        lesion = None if lesion is None else augment(lesion, transform)
    contrast = 1.0 + rng.uniform(-parameters.intensity_jitter, parameters.intensity_jitter)
    brightness = rng.uniform(-parameters.intensity_jitter, parameters.intensity_jitter)
    inputs = inputs.astype(np.float32, copy=True)
    inputs[..., 0] = inputs[..., 0] * contrast + brightness
    boxes, box_classes, unknown = case_slice_boxes(classes)
    if lesion is None:
        grades = np.full(len(boxes), UNKNOWN_GRADE)
    else:
        grades = np.array([float(lesion[int(y0):int(y1), int(x0):int(x1)].any()) for x0, y0, x1, y1 in boxes])
    return inputs, boxes, box_classes, grades, unknown, labelled


def jitter_geometry(inputs, classes, lesion, parameters, rng):
    """The slice zoomed, stretched and rotated about its centre by random amounts (bilinear; labels nearest)."""
    zoom = 1.0 + rng.uniform(-parameters.scale_jitter, parameters.scale_jitter)
    aspect = 1.0 + rng.uniform(-parameters.aspect_jitter, parameters.aspect_jitter)
    angle = np.deg2rad(rng.uniform(-parameters.rotation_jitter, parameters.rotation_jitter))
    scales = np.array([zoom * aspect, zoom / aspect])  # rows, columns
    if np.allclose(scales, 1.0, atol=1e-3) and abs(angle) < 1e-3:
        return inputs, classes, lesion
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    to_input = rotation @ np.diag(1.0 / scales)  # output (row, column) offsets -> input offsets
    shape_in = np.array(classes.shape, float)
    shape_out = np.maximum(np.round(np.abs(np.diag(scales) @ rotation.T) @ shape_in).astype(int), 1)
    offset = (shape_in - 1) / 2 - to_input @ ((shape_out - 1) / 2)

    def warp(plane, order, mode="constant", fill=0.0):
        return ndimage.affine_transform(plane, to_input, offset=offset, output_shape=tuple(shape_out), order=order,
                                        mode=mode, cval=fill)

    # Outside the slice: padding intensity; the lateral coordinate continues from the edge.
    inputs = np.stack([warp(inputs[..., 0], 1, fill=PAD_INTENSITY), warp(inputs[..., 1], 1, mode="nearest")],
                      axis=-1)
    classes = warp(classes, 0)
    lesion = None if lesion is None else warp(lesion.astype(np.uint8), 0).astype(bool)
    return inputs, classes, lesion


def _crop(inputs, classes, lesion, size, rng):
    """Pad to at least ``size`` on both axes, then cut a ``size x size`` window that holds organ pixels."""
    rows, columns = classes.shape
    pad_rows, pad_columns = max(size - rows, 0), max(size - columns, 0)
    if pad_rows or pad_columns:
        before = (pad_rows // 2, pad_columns // 2)
        widths = ((before[0], pad_rows - before[0]), (before[1], pad_columns - before[1]))
        intensity = np.pad(inputs[..., 0], widths, constant_values=PAD_INTENSITY)
        lateral = np.pad(inputs[..., 1], widths, mode="edge")
        inputs = np.stack([intensity, lateral], axis=-1)
        classes = np.pad(classes, widths)
        lesion = None if lesion is None else np.pad(lesion, widths)
        rows, columns = classes.shape
    organ = np.argwhere(classes > 0)
    centre = organ[rng.integers(len(organ))] if len(organ) else np.array([rows // 2, columns // 2])
    top = int(np.clip(centre[0] - rng.integers(size // 4, 3 * size // 4 + 1), 0, rows - size))
    left = int(np.clip(centre[1] - rng.integers(size // 4, 3 * size // 4 + 1), 0, columns - size))
    window = (slice(top, top + size), slice(left, left + size))
    return inputs[window], classes[window], None if lesion is None else lesion[window]
