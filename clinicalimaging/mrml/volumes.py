"""Volume node <-> (KJI array, IJK-to-RAS geometry); new volume nodes from arrays."""

import numpy as np

from ..errors import InputError
from .scene import get_scene

# dtypes that vtk cannot hold, and what they become .
_SAFE_DTYPES = {np.dtype(np.bool_): np.uint8, np.dtype(np.float16): np.float32}
# Name of the VTK arrays behind :func:`empty_voxels_like`; the name VTK gives image scalars replaces it on take-over.
_STAGED_SCALARS_NAME = "clinicalimaging staged voxels"
_IMAGE_SCALARS_NAME = "ImageScalars"
#: Node attribute set by :func:`~clinicalimaging.mrml.read_volume` when the node's k axis runs against the
#: file's (Slicer reverses the k axis of a left-handed file); volumes made like such a node carry it too, so
#: that :func:`~clinicalimaging.mrml.write_volume` writes them in the file's own voxel order.
SLICE_AXIS_REVERSED_ATTRIBUTE = "clinicalimaging.sliceAxisReversed"


def array_from_volume(node):
    """A copy of the voxel array of a volume node: shape (K, J, I), the node's dtype, writable."""
    return voxels_of_volume(node).copy()


def voxels_of_volume(node):
    """The voxel array of a volume node as a read-only view, without a copy.

    For reading a large volume once; the view follows the node's image data and
    is valid while the node keeps it (use :func:`array_from_volume` for an
    array of your own).

    Parameters
    ----------
    node : vtkMRMLVolumeNode

    Returns
    -------
    ndarray, shape (K, J, I)
        Read-only; the node's dtype.

    Raises
    ------
    InputError
        No node, or a node without image data.
    """
    if node is None or node.GetImageData() is None:
        raise InputError(f"Volume '{node.GetName() if node else None}' has no image data.")
    view = _voxel_view(node.GetImageData())
    view.flags.writeable = False
    return view


def empty_voxels_like(reference, dtype=None):
    """An uninitialised voxel array for an output of ``reference``'s shape, held in VTK memory.

    Fill it and pass it to :func:`new_volume_like`, which then takes the memory
    over instead of copying the voxels (once: a second call copies).

    Parameters
    ----------
    reference : vtkMRMLVolumeNode
        Gives the shape.
    dtype : numpy dtype, optional
        Default: the reference's voxel type.

    Returns
    -------
    ndarray, shape (K, J, I)
    """
    from vtkmodules.util.numpy_support import get_vtk_array_type, vtk_to_numpy
    from vtkmodules.vtkCommonCore import vtkDataArray

    image = reference.GetImageData()
    shape = tuple(reversed(image.GetDimensions()))
    dtype = _voxel_view(image).dtype if dtype is None else np.dtype(dtype)
    scalars = vtkDataArray.CreateDataArray(get_vtk_array_type(dtype))
    scalars.SetNumberOfTuples(int(np.prod(shape)))
    scalars.SetName(_STAGED_SCALARS_NAME)
    return vtk_to_numpy(scalars).reshape(shape)


def spacing_kji(node):
    """Voxel spacing of a volume node in mm, in KJI order (slice spacing first)."""
    return tuple(float(value) for value in reversed(node.GetSpacing()))


def ijk_to_ras(node):
    """The (4, 4) IJK-to-RAS matrix of a volume node (origin, spacing, direction cosines) in mm."""
    from vtkmodules.vtkCommonMath import vtkMatrix4x4

    matrix = vtkMatrix4x4()
    node.GetIJKToRASMatrix(matrix)
    return _array_from_matrix(matrix)


# The voxel and matrix conversions below do what slicer.util's arrayFromVolume, updateVolumeFromArray and
# vtkMatrixFromArray do, with the VTK modules they need: those import all of VTK (`import vtk`), which
# a command-line run outside Slicer would otherwise load for nothing.

def _voxel_view(image):
    """The voxels of a vtkImageData as a writable (K, J, I[, components]) view."""
    from vtkmodules.util.numpy_support import vtk_to_numpy

    shape = tuple(reversed(image.GetDimensions()))
    components = image.GetNumberOfScalarComponents()
    return vtk_to_numpy(image.GetPointData().GetScalars()).reshape(shape + ((components,) if components > 1 else ()))


def _update_voxels(node, array):
    """Replace the image data's voxels of ``node`` by ``array`` (3-D, KJI) and notify observers.

    The voxels are copied, unless ``array`` is the whole of an :func:`empty_voxels_like` array
    not yet taken over: then the image takes over its memory.
    """
    from vtkmodules.util.numpy_support import get_vtk_array_type
    from vtkmodules.vtkCommonDataModel import vtkImageData

    image = node.GetImageData()
    if image is None:
        image = vtkImageData()
        node.SetAndObserveImageData(image)
    image.SetDimensions(tuple(reversed(array.shape)))
    staged = _staged_scalars(array)
    if staged is None:
        image.AllocateScalars(get_vtk_array_type(array.dtype), 1)
        _voxel_view(image)[:] = array
    else:
        staged.SetName(_IMAGE_SCALARS_NAME)
        image.GetPointData().SetScalars(staged)
    node.StorableModified()
    node.Modified()
    node.InvokeEvent(node.ImageDataModifiedEvent, node)


def _staged_scalars(array):
    """The VTK array behind ``array`` if ``array`` is the whole of an :func:`empty_voxels_like` array, else None."""
    from vtkmodules.util.numpy_support import get_vtk_array_type

    base = array
    while isinstance(base, np.ndarray):
        base = base.base
    scalars = base.obj if isinstance(base, memoryview) else None
    staged = (hasattr(scalars, "GetName") and scalars.GetName() == _STAGED_SCALARS_NAME
              and array.flags.c_contiguous and array.size == scalars.GetNumberOfValues()
              and get_vtk_array_type(array.dtype) == scalars.GetDataType())
    return scalars if staged else None


def _matrix_from_array(array):
    """A vtkMatrix4x4 holding a (4, 4) array."""
    from vtkmodules.vtkCommonMath import vtkMatrix4x4

    matrix = vtkMatrix4x4()
    matrix.DeepCopy(np.asarray(array, dtype=float).ravel())
    return matrix


def _array_from_matrix(matrix):
    """The (4, 4) array of a vtkMatrix4x4."""
    return np.array([[matrix.GetElement(row, column) for column in range(4)] for row in range(4)])


def _vtk_compatible(array, what):
    """``array`` as 3D KJI in a dtype vtk accepts."""
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[np.newaxis]
    if array.ndim != 3:
        raise InputError(f"{what} must be a 2D or 3D array (KJI); got shape {array.shape}.")
    if array.dtype in _SAFE_DTYPES:
        return array.astype(_SAFE_DTYPES[array.dtype])
    if array.dtype == np.int64:
        info = np.iinfo(np.int32)
        fits = array.size == 0 or (array.min() >= info.min and array.max() <= info.max)
        return array.astype(np.int32 if fits else np.float64)
    return array


def _set_voxels(node, array, matrix, *, display=True):
    """Geometry and voxels of ``node``; with ``display`` a display node too if it has none (and is in a scene)."""
    node.SetIJKToRASMatrix(_matrix_from_array(matrix))
    _update_voxels(node, array)
    if display and node.GetScene() is not None and node.GetDisplayNode() is None:
        node.CreateDefaultDisplayNodes()


def volume_from_array(array, *, ijk_to_ras, scene=None, name="volume", labelmap=False, display=True):
    """A new volume node holding ``array`` with the given geometry.

    Parameters
    ----------
    array : ndarray, shape (K, J, I) or (J, I)
        Voxels; int64 becomes int32 (float64 when out of range), bool becomes uint8,
        float16 becomes float32.
    ijk_to_ras : array_like, shape (4, 4)
        IJK-to-RAS matrix in mm.
    scene : vtkMRMLScene, optional
        Default :func:`get_scene`.
    name : str
        Node name, made unique in the scene.
    labelmap : bool
        Create a ``vtkMRMLLabelMapVolumeNode`` instead of a scalar volume node.
    display : bool
        Give the node a display node (for views; a file-to-file run needs none).

    Returns
    -------
    vtkMRMLScalarVolumeNode or vtkMRMLLabelMapVolumeNode
        The node, with display nodes, in ``scene``.
    """
    array = _vtk_compatible(array, "The volume array")
    matrix = np.asarray(ijk_to_ras, dtype=float)
    if matrix.shape != (4, 4):
        raise InputError(f"ijk_to_ras must be a 4x4 matrix; got shape {matrix.shape}.")
    scene = scene if scene is not None else get_scene()
    node_class = "vtkMRMLLabelMapVolumeNode" if labelmap else "vtkMRMLScalarVolumeNode"
    node = scene.AddNewNodeByClass(node_class, scene.GenerateUniqueName(name))
    _set_voxels(node, array, matrix, display=display)
    return node


def new_volume_like(reference, array, *, name=None, node=None, labelmap=False):
    """A volume with exactly the geometry of ``reference`` and the voxels of ``array``.

    Parameters
    ----------
    reference : vtkMRMLVolumeNode
        Gives origin, spacing, direction cosines, parent transform and the voxel order
        its file had (written back in that order by
        :func:`~clinicalimaging.mrml.write_volume`); never modified.
    array : ndarray, shape (K, J, I)
        Voxels; must have the reference's shape. dtypes are converted as in
        :func:`volume_from_array`.
    name : str, optional
        Node name; default ``<reference name>_label`` or ``<reference name>_output``
        for a new node, unchanged for an updated one.
    node : vtkMRMLVolumeNode, optional
        Update this node instead of creating one.
    labelmap : bool
        For a new node: a ``vtkMRMLLabelMapVolumeNode``.

    Returns
    -------
    vtkMRMLVolumeNode
        ``node``, or the new node in the reference's scene (or :func:`get_scene`),
        with a display node if the reference has one.
    """
    array = _vtk_compatible(array, "The output array")
    reference_shape = tuple(reversed(reference.GetImageData().GetDimensions())) if reference.GetImageData() else None
    if array.shape != reference_shape:
        raise InputError(f"The output array has shape {array.shape} (KJI) but the reference volume "
                         f"'{reference.GetName()}' has shape {reference_shape}; they must match.")
    if node is reference:
        raise InputError(f"The output node must differ from the input volume '{reference.GetName()}'; "
                         "choose or create another output volume.")
    matrix = ijk_to_ras(reference)
    if node is None:
        suffix = "label" if labelmap else "output"
        return _with_transform(volume_from_array(array, ijk_to_ras=matrix, scene=reference.GetScene(),
                                                 name=name or f"{reference.GetName()}_{suffix}", labelmap=labelmap,
                                                 display=reference.GetDisplayNode() is not None), reference)
    if name:
        node.SetName(name)
    _set_voxels(node, array, matrix, display=reference.GetDisplayNode() is not None)
    return _with_transform(node, reference)


def _with_transform(node, reference):
    """``node`` with the parent transform and the file's slice order of ``reference`` (its attribute)."""
    node.SetAndObserveTransformNodeID(reference.GetTransformNodeID())
    if reference.GetAttribute(SLICE_AXIS_REVERSED_ATTRIBUTE):
        node.SetAttribute(SLICE_AXIS_REVERSED_ATTRIBUTE, reference.GetAttribute(SLICE_AXIS_REVERSED_ATTRIBUTE))
    else:
        node.RemoveAttribute(SLICE_AXIS_REVERSED_ATTRIBUTE)
    return node


def in_file_order(node):
    """A volume node as its file stores it: ``node`` itself, or a scene-less copy in the file's voxel order.

    For a node whose k axis runs against its file's (``SLICE_AXIS_REVERSED_ATTRIBUTE``),
    the copy holds the voxels with the slice order reversed and the geometry to match
    (origin at the last slice, slice direction negated): the same voxels in space,
    left-handed as in the file.

    Parameters
    ----------
    node : vtkMRMLVolumeNode

    Returns
    -------
    vtkMRMLVolumeNode
    """
    if node.GetAttribute(SLICE_AXIS_REVERSED_ATTRIBUTE) != "true":
        return node
    voxels = voxels_of_volume(node)
    matrix = ijk_to_ras(node)
    matrix[:3, 3] += (voxels.shape[0] - 1) * matrix[:3, 2]  # the last slice becomes the first
    matrix[:3, 2] *= -1
    copy = node.CreateNodeInstance()
    copy.SetName(node.GetName())
    _set_voxels(copy, np.ascontiguousarray(voxels[::-1]), matrix, display=False)
    return copy
