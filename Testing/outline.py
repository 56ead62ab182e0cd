"""A simulated clinician's outline of a phantom lesion, shared by the segmentation tests."""

import numpy as np
from scipy import ndimage


def lesion_outline(phantom, count=12):
    """``count`` points on the lesion boundary of its largest slice, as a clinician would click them.

    Rays from the lesion's centre of mass on that slice, at equal angles, stop at
    the last lesion pixel (steps of half a pixel).

    Parameters
    ----------
    phantom : clinicalimaging.phantom.Phantom
    count : int

    Returns
    -------
    points : (count, 3) ndarray of float
        (k, j, i) voxel coordinates, in drawing order.
    lesion : (K, J, I) ndarray of bool
        The phantom's lesion mask.
    """
    lesion = phantom.labels == phantom.lesion_label
    k = int(np.argmax(lesion.sum(axis=(1, 2))))
    centre_j, centre_i = ndimage.center_of_mass(lesion[k])
    points = []
    for angle in np.linspace(0, 2 * np.pi, count, endpoint=False):
        radius = 0.0
        while lesion[k, int(round(centre_j + (radius + 0.5) * np.sin(angle))),
                     int(round(centre_i + (radius + 0.5) * np.cos(angle)))]:
            radius += 0.5
        points.append((k, centre_j + radius * np.sin(angle), centre_i + radius * np.cos(angle)))
    return np.array(points), lesion
