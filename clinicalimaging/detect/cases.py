"""Training and evaluation cases on the canonical grid: network input, organ classes, lesions (numpy only)."""

import dataclasses
from typing import Optional

import numpy as np

from ..errors import InputError
from ..phantom import make_phantom
from .organs import PHANTOM_NAMES, covered_classes
from .slices import (body_midline_i, canonical_grid, guess_modality, network_input, normalise, resample_to_grid,
                     slice_boxes)


@dataclasses.dataclass(frozen=True)
class LabelledVolume:
    """A volume with an organ label map on its voxel grid.

    Attributes
    ----------
    image : ndarray, shape (K, J, I)
    ijk_to_ras : ndarray, shape (4, 4)
    labels : ndarray of int, shape (K, J, I)
    label_names : dict of int to str
        Label value -> organ name (TotalSegmentator's spelling).
    name : str
        For messages and the model's training summary.
    lesion_names : tuple of str
        Label names that mark lesions; given, the organs get grade targets
        (lesion inside the organ's box or not).
    background_only : bool
        The scan is known to hold none of the organs (its label map all 0): every
        class is labelled, as absent (:func:`background_volume`).
    """

    image: np.ndarray
    ijk_to_ras: np.ndarray
    labels: np.ndarray
    label_names: dict
    name: str = "volume"
    lesion_names: tuple = ()
    background_only: bool = False


def background_volume(image, ijk_to_ras, name="background"):
    """A :class:`LabelledVolume` of a scan that holds none of the organs: an empty label map, every class absent.

    Parameters
    ----------
    image : ndarray, shape (K, J, I)
    ijk_to_ras : ndarray, shape (4, 4)
    name : str
    """
    return LabelledVolume(image, ijk_to_ras, np.zeros(np.shape(image), np.uint8), {}, name=name,
                          background_only=True)


#: Class value of voxels whose organ class is unknown (a coarser label, see :func:`.organs.covered_classes`).
UNKNOWN_CLASS = 255


@dataclasses.dataclass(frozen=True)
class GridCase:
    """A case on the canonical grid.

    Attributes
    ----------
    inputs : ndarray of float32, shape (K, J, I, 2)
        Normalised intensity and lateral coordinate.
    classes : ndarray of uint8, shape (K, J, I)
        0 background, ``c + 1`` for class ``c``, :data:`UNKNOWN_CLASS` for voxels of a
        coarser label that covers several classes.
    lesion : ndarray of bool or None
        Lesion voxels, None when the case has no lesion labels.
    grid : CanonicalGrid
    modality : str
    labelled : ndarray of bool, shape (num_classes,)
        The classes the label map can show: where a class is not labelled, its
        organ may lie among the background voxels (a partial label map), and
        training does not teach it as absent there.
    """

    inputs: np.ndarray
    classes: np.ndarray
    lesion: Optional[np.ndarray]
    grid: object
    modality: str
    labelled: np.ndarray


def grid_input(image, ijk_to_ras, pixel_mm, modality="auto"):
    """The network input of a volume on its canonical grid.

    Returns
    -------
    inputs : ndarray of float32, shape (K, J, I, 2)
    grid : CanonicalGrid
    modality : str
        ``"ct"`` or ``"mr"`` (guessed when ``"auto"``).
    """
    image = np.asarray(image)
    if image.ndim != 3 or min(image.shape) < 1:
        raise InputError(f"Organ detection needs a 3-D volume; got an array of shape {image.shape}.")
    if not np.isfinite(image).all():
        raise InputError("The volume holds NaN or infinite values; replace them before detecting organs.")
    modality = guess_modality(image) if modality == "auto" else modality
    grid = canonical_grid(image.shape, ijk_to_ras, pixel_mm)
    normalised = normalise(resample_to_grid(image, ijk_to_ras, grid), modality)
    return network_input(normalised, body_midline_i(normalised), pixel_mm), grid, modality


def grid_case(volume, class_names, pixel_mm, modality="auto"):
    """A :class:`LabelledVolume` on its canonical grid with the model's classes.

    A class is labelled (:attr:`GridCase.labelled`) when its name is one of the
    volume's label names, or every class when the volume is ``background_only``; a
    coarser label that covers several classes labels none of them.

    Raises
    ------
    InputError
        The label map's shape differs from the image's, or it holds none of the classes
        (and the volume is not ``background_only``).
    """
    labels = np.asarray(volume.labels)
    if labels.shape != np.shape(volume.image):
        raise InputError(f"Label map of '{volume.name}' has shape {labels.shape}, its image {np.shape(volume.image)}; "
                         "give label maps on the image's voxel grid.")
    if len(class_names) >= UNKNOWN_CLASS:
        raise InputError(f"A detector holds at most {UNKNOWN_CLASS - 1} organ classes; {len(class_names)} were "
                         "asked for. Choose fewer with --organs.")
    by_name = {name: value for value, name in volume.label_names.items()}
    lookup = np.zeros(int(labels.max()) + 1 if labels.size else 1, np.uint8)
    for index, name in enumerate(class_names):
        if name in by_name and by_name[name] < len(lookup):
            lookup[by_name[name]] = index + 1
    for value, name in volume.label_names.items():
        if value < len(lookup) and covered_classes(name, class_names):
            lookup[value] = UNKNOWN_CLASS
    lesion_values = [by_name[name] for name in volume.lesion_names if name in by_name and by_name[name] < len(lookup)]
    if not volume.background_only and not ((lookup > 0) & (lookup != UNKNOWN_CLASS)).any():
        raise InputError(f"Label map of '{volume.name}' holds none of the organs to train "
                         f"({', '.join(class_names[:6])}, ...); check --label-names and --organs.")
    inputs, grid, modality = grid_input(volume.image, volume.ijk_to_ras, pixel_mm, modality)
    labels = np.clip(labels, 0, len(lookup) - 1)
    classes = resample_to_grid(lookup[labels], volume.ijk_to_ras, grid, labels=True)
    lesion = None
    if volume.lesion_names:
        lesion = resample_to_grid(np.isin(labels, lesion_values).astype(np.uint8), volume.ijk_to_ras, grid,
                                  labels=True).astype(bool)
    labelled = np.array([volume.background_only or name in by_name for name in class_names], bool)
    return GridCase(inputs, classes, lesion, grid, modality, labelled)


def case_slice_boxes(class_slice):
    """The organ boxes of one slice of :attr:`GridCase.classes`, and the box of its unknown-class voxels.

    Parameters
    ----------
    class_slice : ndarray of uint8, shape (rows, columns)

    Returns
    -------
    boxes : ndarray, shape (M, 4)
        ``(x0, y0, x1, y1)`` pixel edges of each class present.
    classes : ndarray of int, shape (M,)
        Class index (0-based).
    unknown : ndarray, shape (U, 4)
        The bounding box of the :data:`UNKNOWN_CLASS` voxels (U is 0 or 1).
    """
    highest = int(class_slice[class_slice != UNKNOWN_CLASS].max(initial=0))
    boxes, classes = slice_boxes(class_slice, range(1, highest + 1))
    unknown, _ = slice_boxes(class_slice == UNKNOWN_CLASS, [1])
    return boxes, classes, unknown


def phantom_volumes(count, *, seed=0, shape=(48, 112, 112), spacing=(3.0, 2.5, 2.5)):
    """Synthetic labelled volumes, CT and MR in turn, with the phantom's organs and lesion (a grade target).

    Parameters
    ----------
    count : int
    seed : int
        Phantom ``n`` uses seed ``seed + n``.
    shape, spacing : tuple of 3
        As in :func:`clinicalimaging.phantom.make_phantom` (KJI, mm).

    Returns
    -------
    list of LabelledVolume
    """
    volumes = []
    for number in range(count):
        kind = ("ct", "mr")[number % 2]
        phantom = make_phantom(kind, shape=shape, spacing=spacing, seed=seed + number)
        names = {value: PHANTOM_NAMES.get(name, name) for value, name in phantom.label_names.items()
                 if name in PHANTOM_NAMES or value == phantom.lesion_label}
        volumes.append(LabelledVolume(phantom.image, phantom.ijk_to_ras, phantom.labels, names,
                                      name=f"phantom-{kind}-{seed + number}",
                                      lesion_names=(phantom.label_names[phantom.lesion_label],)))
    return volumes
