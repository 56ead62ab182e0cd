"""Training slices: which slices to learn from, and one augmented slice with its boxes (numpy and scipy).

Augmentation: a random zoom (scale jitter), a random crop around the organs (or
padding) to the training size, with a set probability one of the seven other
elements of the 8x dihedral augmentation of :mod:`clinicalimaging.preprocess`, and a
random contrast and brightness change. A mirror flips the slice's columns: on axial
and coronal slices that swaps left and right, so the left/right organ labels trade
places and the lateral coordinate changes sign; on sagittal slices it swaps front and
back, and neither changes.
"""

import numpy as np
from scipy import ndimage

from ..preprocess import AUGMENTATIONS, augment, augment_labels
from .slices import slice_boxes
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
            shows = np.moveaxis(case.classes, axis, 0).reshape(case.classes.shape[axis], -1).any(axis=1)
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
    """
    inputs = view_slice(case.inputs, view, index)
    classes = view_slice(case.classes, view, index)
    lesion = None if case.lesion is None else view_slice(case.lesion, view, index)
    zoom = 1.0 + rng.uniform(-parameters.scale_jitter, parameters.scale_jitter)
    if abs(zoom - 1.0) > 1e-3:
        inputs = ndimage.zoom(inputs, (zoom, zoom, 1), order=1)
        classes = ndimage.zoom(classes, zoom, order=0)
        lesion = None if lesion is None else ndimage.zoom(lesion, zoom, order=0)
    inputs, classes, lesion = _crop(inputs, classes, lesion, parameters.crop_px, rng)
    if rng.random() < parameters.dihedral_probability:
        transform = AUGMENTATIONS[rng.integers(1, len(AUGMENTATIONS))]
        lateral_flip = transform.mirrored and view != "sagittal"
        inputs = augment(inputs, transform, axes=(0, 1))
        if lateral_flip:
            inputs[..., 1] *= -1
        classes = augment_labels(classes, transform, mirror_swaps=swaps if lateral_flip else None)
        lesion = None if lesion is None else augment(lesion, transform)
    contrast = 1.0 + rng.uniform(-parameters.intensity_jitter, parameters.intensity_jitter)
    brightness = rng.uniform(-parameters.intensity_jitter, parameters.intensity_jitter)
    inputs = inputs.astype(np.float32, copy=True)
    inputs[..., 0] = inputs[..., 0] * contrast + brightness
    boxes, box_classes = slice_boxes(classes, range(1, int(classes.max(initial=0)) + 1))
    box_classes = box_classes.astype(np.int64)  # class c has value c + 1, so the index is the class
    if lesion is None:
        grades = np.full(len(boxes), UNKNOWN_GRADE)
    else:
        grades = np.array([float(lesion[int(y0):int(y1), int(x0):int(x1)].any()) for x0, y0, x1, y1 in boxes])
    return inputs, boxes, box_classes, grades


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
