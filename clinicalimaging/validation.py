"""Checks of array inputs shared by every stage's core functions."""

import numpy as np

from .errors import InputError


def as_scalar_volume(image, *, name: str = "image", allow_constant: bool = False) -> np.ndarray:
    """Validate a scalar image and return it as a (K, J, I) array (a view when possible).

    Parameters
    ----------
    image : (J, I) or (K, J, I) array_like
        A 2-D array is taken as a single slice.
    name : str
        How the input is called in error messages.
    allow_constant : bool
        Whether an image with a single intensity is acceptable.

    Raises
    ------
    InputError
        Wrong number of dimensions (vector/RGB images arrive here as 4-D),
        non-real dtype, NaN or infinite voxels, empty or constant image.
    """
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[np.newaxis]
    if array.ndim != 3:
        raise InputError(f"The {name} must be a 2-D or 3-D scalar image; got an array of shape {array.shape} "
                         "(a colour/vector or time-series image?). Convert it to a single-component volume first.")
    if array.size == 0:
        raise InputError(f"The {name} is empty (shape {array.shape}).")
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise InputError(f"The {name} has voxel type {array.dtype}; a real-valued scalar image is needed.")
    lowest, highest = array.min(), array.max()
    # NaN propagates into the minimum and the maximum, and an infinity is one of them: no need to test every voxel.
    if np.issubdtype(array.dtype, np.floating) and not (np.isfinite(lowest) and np.isfinite(highest)):
        bad = np.count_nonzero(~np.isfinite(array))
        raise InputError(f"The {name} has {bad} NaN or infinite voxel(s); replace them (e.g. with the background "
                         "value) before processing.")
    if not allow_constant and lowest == highest:
        raise InputError(f"The {name} is constant (every voxel is {array.flat[0]}): there is no contrast to work on. "
                         "Check that the right volume was selected.")
    return array


def check_spacing(spacing) -> np.ndarray:
    """Validate a voxel spacing: three positive finite numbers in mm, KJI order.

    Returns
    -------
    spacing : (3,) ndarray of float64
    """
    spacing = np.asarray(spacing, dtype=np.float64)
    if spacing.shape != (3,) or not np.all(np.isfinite(spacing)) or np.any(spacing <= 0):
        raise InputError(f"Voxel spacing must be three positive numbers in mm (KJI order); got {spacing.tolist()}.")
    return spacing


def as_binary_mask(mask, *, name: str = "mask") -> np.ndarray:
    """Validate a mask (any non-zero voxel is inside) and return it as a boolean (K, J, I) array.

    Parameters
    ----------
    mask : (J, I) or (K, J, I) array_like
    name : str
        How the mask is called in error messages.
    """
    return as_scalar_volume(np.not_equal(mask, 0).view(np.uint8), name=name, allow_constant=True).astype(bool)


def on_image_grid(array, shape, *, name: str, hint: str = "they must share the voxel grid.") -> np.ndarray:
    """An array that must lie on an image's grid, as (K, J, I) (a 2-D array is one slice).

    Raises
    ------
    InputError
        A shape other than ``shape``; the message names the array and ends with ``hint``.
    """
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[np.newaxis]
    if array.shape != tuple(shape):
        raise InputError(f"The {name} has shape {array.shape} but the image has {tuple(shape)}; {hint}")
    return array
