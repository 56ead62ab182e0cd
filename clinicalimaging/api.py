"""The public helper that composes :mod:`.mrml` functions for users of the top-level API.

Everything else the package exports at its top level is a function of its
submodules, re-exported by name (see :mod:`clinicalimaging`).
"""

from . import mrml
from .errors import InputError


def read_outline(path, volume_node):
    """The points of an outline file as continuous voxel coordinates of a volume.

    Parameters
    ----------
    path : str or Path
        A Slicer markups file (``.mrk.json``: closed curve, open curve or point list;
        positions in LPS or RAS mm, as the file says).
    volume_node : vtkMRMLScalarVolumeNode
        The volume the outline was drawn on, e.g. from :func:`clinicalimaging.read_volume`;
        its IJK-to-RAS matrix maps the points. It must not be under a parent transform
        (harden it first).

    Returns
    -------
    ndarray, shape (N, 3), float64
        One row ``(k, j, i)`` per point in the file's order: continuous voxel indices
        of ``volume_node``'s array (KJI order, ``array[k, j, i]``), integer values at
        voxel centres. This is what :func:`clinicalimaging.segment_lesion` takes as
        ``points_kji``.

    Raises
    ------
    InputError
        Missing, empty or non-markups file, an outline without points, no volume, or a
        volume under a transform.
    """
    mrml.check_volume_nodes(volume_node)
    if volume_node.GetTransformNodeID():
        raise InputError(f"Volume '{volume_node.GetName()}' is under a transform, which the outline's voxel "
                         "coordinates would ignore; harden the transform (Transforms module) first.")
    outline = mrml.read_markups(path)
    try:
        return mrml.points_kji(outline, volume_node)
    finally:
        outline.GetScene().RemoveNode(outline)  # the points are returned; the node would only pile up in the scene

