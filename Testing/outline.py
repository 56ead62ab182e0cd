"""A simulated clinician's outline of a phantom lesion, shared by the segmentation tests."""

from clinicalimaging.segment.evaluation import simulate_outline


def lesion_outline(phantom, count=12):
    """``count`` points on the lesion boundary of its largest slice, as a clinician would click them.

    Parameters
    ----------
    phantom : clinicalimaging.phantom.Phantom
    count : int

    Returns
    -------
    points : (count, 3) ndarray of float
        (k, j, i) voxel coordinates, in drawing order
        (:func:`clinicalimaging.segment.evaluation.simulate_outline`).
    lesion : (K, J, I) ndarray of bool
        The phantom's lesion mask.
    """
    lesion = phantom.labels == phantom.lesion_label
    return simulate_outline(lesion, count=count), lesion
