"""Array-level fractional enhancement: fractal and edge-consistency maps, order map and variable-order mask."""

import concurrent.futures
import dataclasses
import os

import numpy as np

from ..blocks import padded_block, slab_boxes
from ..errors import InputError
from ..progress import report, subrange
from ..validation import as_scalar_volume, check_spacing
from .filter import filter_halo, variable_order_filter
from .edge_evidence import edge_consistency
from .fractal import intensity_range, local_fractal_dimension
from .grunwald_letnikov import sample_offsets
from .order_map import dimension_thresholds, holds_air_in_hu, order_map, reaches_air
from .parameters import EnhanceParameters

#: Voxels per slab, halo included: about one 512 x 512 slice. The maps work within slices, and slabs
#: this small keep each thread's temporaries in the processor's caches.
SLAB_VOXELS = 1 << 18


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
                       progress=None, out=None) -> EnhanceResult:
    """Variable-order fractional differential enhancement of a volume.

    The local fractal dimension (:func:`~.fractal.local_fractal_dimension`)
    chooses a fractional order per voxel: eq. (1) in paper mode; in adaptive
    mode a ramp into negative orders (smoothing) moved towards a sharpening
    order on consistent edges (:func:`~.edge_evidence.edge_consistency`;
    :mod:`.order_map`). The Grünwald–Letnikov mask of that order is applied
    exactly at that voxel (:func:`~.filter.variable_order_filter`, eq. (2)).

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
    out : ndarray, optional
        C-contiguous array of the input's shape and dtype that receives the
        enhanced image (then ``enhanced`` is ``out``); may be written to even when
        the call fails.

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
    shape = np.shape(image)
    dtype = np.asarray(image).dtype
    if out is not None and (out.shape != shape or out.dtype != dtype or not out.flags.c_contiguous
                            or not out.flags.writeable):
        raise InputError(f"The output array must be a writable C-contiguous array of the input's shape {shape} and "
                         f"dtype {dtype}; got shape {out.shape}, dtype {out.dtype}.")
    (enhanced,), orders, dimensions = _enhance(image, spacing, parameters, (parameters.strength,), None, progress,
                                               None if out is None else [out])
    return EnhanceResult(enhanced.reshape(shape) if out is None else out, orders.reshape(shape),
                         dimensions.reshape(shape))


def fractional_enhance_strengths(image, spacing, parameters: EnhanceParameters, strengths, *, region=None,
                                 progress=None) -> list:
    """:func:`fractional_enhance` at several strengths, from one order map and one mask response.

    The strength only blends the input with the response, so the fractal
    dimension, the orders and the mask are computed once (the strength sweep).

    Parameters
    ----------
    image, spacing, parameters, progress
        As for :func:`fractional_enhance` (``parameters.strength`` is ignored).
    strengths : sequence of float
    region : tuple of 3 slices, optional
        KJI box of the volume to return, steps of 1 (default: the whole volume). The
        enhancement still sees the whole volume.

    Returns
    -------
    list of ndarray
        The enhanced ``region`` for each strength, as ``EnhanceResult.enhanced``.
    """
    enhanced, _, _ = _enhance(image, spacing, parameters, tuple(strengths), region, progress, None)
    return enhanced


def blend(image: np.ndarray, response: np.ndarray, orders: np.ndarray, strength: float) -> np.ndarray:
    """``I + λ (F - I)``, with ``λ`` capped at 1 where the order is negative.

    Above 1 a blend extrapolates: that makes a sharpening stronger, but turns a
    smoothing into an amplification of the noise with its sign flipped. The
    smoothing voxels (negative orders, fractional integration) therefore keep
    their full response. At order 0 the response equals the input, so the cap
    leaves the result continuous.

    Returns
    -------
    ndarray of float32, the shape of ``image``
    """
    image = np.asarray(image, dtype=np.float32)
    if strength == 1.0:
        return response.copy()
    weight = np.where(orders < 0, np.float32(min(strength, 1.0)), np.float32(strength))
    return image + weight * (response - image)


def _enhance(image, spacing, parameters, strengths, region, progress, outputs):
    """The engine of :func:`fractional_enhance`: ``(enhanced per strength on region, orders, dimensions)``.

    ``outputs``: one C-contiguous array of the region's size per strength to write into, or None for new ones.
    """
    volume = as_scalar_volume(image, name="input image")
    spacing = check_spacing(spacing)
    value_range = intensity_range(volume)
    low, high = volume.min(), volume.max()
    offsets = sample_offsets(parameters.mask, spacing)
    halo = filter_halo(offsets, parameters.number_of_terms)
    region = tuple((0, size) if region is None else region[axis].indices(size)[:2]
                   for axis, size in enumerate(volume.shape))
    region_shape = tuple(stop - start for start, stop in region)

    protect_air = parameters.mode == "adaptive" and parameters.protect_air and holds_air_in_hu(low)
    enhanced = ([output.reshape(region_shape) for output in outputs] if outputs
                else [np.empty(region_shape, dtype=volume.dtype) for _ in strengths])
    # Adaptive mode keeps the edge consistency in the order map's array until the orders replace it.
    orders = np.empty(volume.shape, dtype=np.float32)
    dimensions = np.empty(volume.shape, dtype=np.float32)

    def measure(start: int, stop: int) -> None:
        dimensions[start:stop] = local_fractal_dimension(volume[start:stop], window=parameters.fractal_window,
                                                         smoothing=parameters.fractal_smoothing,
                                                         value_range=value_range)
        if parameters.mode == "adaptive":
            orders[start:stop] = edge_consistency(volume[start:stop], scale=parameters.edge_scale)

    def enhance(start: int, stop: int) -> None:
        orders[start:stop] = order_map(dimensions[start:stop], parameters, thresholds, consistency=orders[start:stop])
        padded = padded_block(volume, _whole_slices(volume, start, stop), halo)
        if protect_air:
            orders[start:stop][reaches_air(padded, halo)] = 0.0
        core = (max(start, region[0][0]), min(stop, region[0][1]))
        if core[0] >= core[1]:
            return
        response = variable_order_filter(volume[start:stop], orders[start:stop], spacing, mask=parameters.mask,
                                         number_of_terms=parameters.number_of_terms, padded=padded, pad=halo)
        inside = (slice(core[0] - start, core[1] - start), slice(*region[1]), slice(*region[2]))
        target = (slice(core[0] - region[0][0], core[1] - region[0][0]),)
        for strength, output in zip(strengths, enhanced):
            result = blend(volume[start:stop][inside], response[inside], orders[start:stop][inside], strength)
            if np.issubdtype(volume.dtype, np.integer):
                np.rint(result, out=result)
            output[target] = np.clip(result, low, high, out=result)

    slabs = [box[0] for box in slab_boxes(volume.shape, halo, SLAB_VOXELS)]
    report(progress, 0.0, "Measuring local fractal dimension")
    _run_on_slabs(measure, slabs, subrange(progress, 0.0, 0.4), "Local fractal dimension")
    thresholds = dimension_thresholds(dimensions, parameters)
    _run_on_slabs(enhance, slabs, subrange(progress, 0.4, 1.0), "Fractional mask")
    return enhanced, orders, dimensions


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
