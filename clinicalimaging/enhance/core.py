"""Array-level fractional enhancement: fractal map, order map and variable-order mask."""

import concurrent.futures
import dataclasses
import os

import numpy as np

from ..blocks import padded_block, slab_boxes
from ..progress import report, subrange
from ..validation import as_scalar_volume, check_spacing
from .filter import filter_halo, variable_order_filter
from .fractal import intensity_range, local_fractal_dimension
from .grunwald_letnikov import sample_offsets
from .order_map import dimension_thresholds, order_map
from .parameters import EnhanceParameters


@dataclasses.dataclass(frozen=True)
class EnhanceResult:
    """Output of :func:`fractional_enhance`; every array has the input's shape (KJI)."""

    enhanced: np.ndarray
    """Enhanced image: the input's dtype and units, clipped to the input's intensity range."""
    order_map: np.ndarray
    """Fractional order used at each voxel (float32)."""
    fractal_dimension_map: np.ndarray
    """Local 2-D fractal dimension of each voxel's slice neighbourhood (float32)."""


def fractional_enhance(image, spacing=(1.0, 1.0, 1.0), parameters: EnhanceParameters = None, *,
                       progress=None) -> EnhanceResult:
    """Variable-order fractional differential enhancement of a volume.

    The local fractal dimension (:func:`~.fractal.local_fractal_dimension`)
    chooses a fractional order per voxel (eq. (1) in paper mode, a ramp into
    negative orders in adaptive mode; :mod:`.order_map`), and the
    Grünwald–Letnikov mask of that order is applied exactly at that voxel
    (:func:`~.filter.variable_order_filter`, eq. (2)).

    Parameters
    ----------
    image : (K, J, I) or (J, I) array_like
        Scalar volume in KJI order (a 2-D array is one slice).
    spacing : sequence of 3 float
        Voxel spacing in mm, KJI order.
    parameters : EnhanceParameters, optional
        Defaults to ``EnhanceParameters()`` (adaptive mode).
    progress : callable, optional
        ``progress(fraction, message)``; may raise :class:`~clinicalimaging.Cancelled`.

    Returns
    -------
    EnhanceResult
        Arrays of the input's shape. ``enhanced`` has the input's dtype (integers
        are rounded) and is clipped to the input's minimum and maximum, so units
        such as HU are kept.

    Raises
    ------
    InputError
        Not a 2-D/3-D scalar image, NaN or infinite voxels, constant image,
        wrong spacing.
    """
    parameters = parameters or EnhanceParameters()
    volume = as_scalar_volume(image, name="input image")
    spacing = check_spacing(spacing)
    value_range = intensity_range(volume)
    low, high = volume.min(), volume.max()
    offsets = sample_offsets(parameters.mask, spacing)
    halo = filter_halo(offsets, parameters.number_of_terms)

    enhanced = np.empty(volume.shape, dtype=volume.dtype)
    orders = np.empty(volume.shape, dtype=np.float32)
    dimensions = np.empty(volume.shape, dtype=np.float32)

    def measure(start: int, stop: int) -> None:
        dimensions[start:stop] = local_fractal_dimension(volume[start:stop], window=parameters.fractal_window,
                                                         smoothing=parameters.fractal_smoothing,
                                                         value_range=value_range)

    def enhance(start: int, stop: int) -> None:
        orders[start:stop] = order_map(dimensions[start:stop], parameters, thresholds)
        response = variable_order_filter(volume[start:stop], orders[start:stop], spacing, mask=parameters.mask,
                                         number_of_terms=parameters.number_of_terms, strength=parameters.strength,
                                         padded=padded_block(volume, _whole_slices(volume, start, stop), halo),
                                         pad=halo)
        if np.issubdtype(volume.dtype, np.integer):
            np.rint(response, out=response)
        enhanced[start:stop] = np.clip(response, low, high, out=response)

    slabs = [box[0] for box in slab_boxes(volume.shape, halo)]
    report(progress, 0.0, "Measuring local fractal dimension")
    _run_on_slabs(measure, slabs, subrange(progress, 0.0, 0.4), "Local fractal dimension")
    thresholds = dimension_thresholds(dimensions, parameters)
    _run_on_slabs(enhance, slabs, subrange(progress, 0.4, 1.0), "Fractional mask")
    shape = np.shape(image)
    return EnhanceResult(enhanced.reshape(shape), orders.reshape(shape), dimensions.reshape(shape))


def _run_on_slabs(task, slabs, progress, label: str) -> None:
    """Run ``task(start, stop)`` for every slab on a thread pool, reporting progress; stop on the first error."""
    # numpy and scipy.ndimage release the GIL in their loops, so threads share the work across cores.
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(len(slabs), os.cpu_count() or 1)) as pool:
        futures = [pool.submit(task, start, stop) for start, stop in slabs]
        try:
            for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
                future.result()
                report(progress, done / len(slabs), f"{label}: slab {done} of {len(slabs)}")
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _whole_slices(volume, start, stop):
    """The box of slices ``start:stop`` of ``volume``."""
    return (start, stop), (0, volume.shape[1]), (0, volume.shape[2])
