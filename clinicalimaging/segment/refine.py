"""Interactive refinement: scribbles added after a first result update it, re-using what it computed.

The level set, the rough surface and the features of every voxel already described
are kept in the result's :class:`~.result.SegmentState`. New scribbles (lesion and
background) join the training voxels with their labels, the band grows around them,
only the voxels not yet described get their features, and the SVM is refitted (the
features keep the first run's ranking): a second or so instead of a whole run
(docs/segmentation.md#interactive-refinement).
Scribbles accumulate: pass all of them each time, the earlier ones too.
"""

from ..errors import InputError
from ..progress import report, subrange
from .band import classify_band
from .result import check_seeds


def refine_lesion(result, seeds, *, parameters=None, progress=None):
    """Update a segmentation with scribbles, re-using its rough surface and features.

    Parameters
    ----------
    result : SegmentResult
        A result of :func:`~.core.segment_lesion` (or of this function).
    seeds : (K, J, I) array_like of int
        Scribbles on the input's grid: :data:`~.result.LESION_SEED` (1) lesion,
        :data:`~.result.BACKGROUND_SEED` (2) background, 0 unmarked. Scribbles outside
        the region of interest the segmentation ran in are ignored.
    parameters : SegmentParameters, optional
        Default those of the first run. Only the classification stage's parameters
        (training voxels, band, shell, prior, classifier, clean-up) can change here.
    progress : callable, optional

    Returns
    -------
    SegmentResult
        The updated segmentation; its rough mask is the first run's.

    Raises
    ------
    InputError
        A result without its state, seeds of another shape or with other values, or
        scribbles of one class only inside the region of interest.
    """
    state = getattr(result, "state", None)
    if state is None:
        raise InputError("This result keeps no segmentation state to refine; run segment_lesion again with the "
                         "seeds instead.")
    seeds = check_seeds(seeds, state.input_shape)
    scribbles = state.scribbles_on_grid(seeds)
    if not scribbles[0].any() or not scribbles[1].any():
        raise InputError("Inside the region of interest the scribbles need both classes: some lesion (1) and some "
                         "background (2). Scribble on the region the outline covers.")
    report(progress, 0.0, "Refining with the scribbles")
    band = classify_band(state.band, parameters or state.parameters, scribbles=scribbles,
                         importance=list(result.feature_importance), progress=subrange(progress, 0.0, 1.0))
    refined = state.result(band, seeds)
    report(progress, 1.0, "Refinement done")
    return refined
