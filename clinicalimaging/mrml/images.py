"""Volume nodes <-> SimpleITK images (RAS <-> LPS geometry)."""

import numpy as np

from ..errors import InputError
from .volumes import array_from_volume, ijk_to_ras, volume_from_array

# SimpleITK works in LPS, MRML in RAS.
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])


def sitk_image_from_volume(node):
    """A SimpleITK image (LPS geometry) holding a copy of a volume node's voxels.

    Parameters
    ----------
    node : vtkMRMLVolumeNode

    Returns
    -------
    SimpleITK.Image
        3D image with the node's spacing, origin and direction converted to LPS.
    """
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(array_from_volume(node))
    _set_sitk_geometry(image, ijk_to_ras(node))
    return image


def _set_sitk_geometry(image, matrix):
    axes = _LPS_TO_RAS @ matrix[:3, :3]
    spacing = np.linalg.norm(axes, axis=0)
    image.SetSpacing(spacing.tolist())
    image.SetDirection((axes / spacing).ravel().tolist())
    image.SetOrigin((_LPS_TO_RAS @ matrix[:3, 3]).tolist())


def _ijk_to_ras_from_sitk(image):
    matrix = np.eye(4)
    direction = np.array(image.GetDirection()).reshape(3, 3)
    matrix[:3, :3] = _LPS_TO_RAS @ direction @ np.diag(image.GetSpacing())
    matrix[:3, 3] = _LPS_TO_RAS @ np.array(image.GetOrigin())
    return matrix


def volume_from_sitk_image(image, *, scene=None, name="volume", labelmap=False):
    """A new volume node from a 3D scalar SimpleITK image (LPS geometry converted to RAS).

    Parameters
    ----------
    image : SimpleITK.Image
        3D, one component per voxel.
    scene, name, labelmap
        As in :func:`volume_from_array`.

    Returns
    -------
    vtkMRMLScalarVolumeNode or vtkMRMLLabelMapVolumeNode
    """
    import SimpleITK as sitk

    if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(f"Image '{name}' must be a 3D single-component image; got {image.GetDimension()}D with "
                         f"{image.GetNumberOfComponentsPerPixel()} components per voxel.")
    return volume_from_array(sitk.GetArrayViewFromImage(image), ijk_to_ras=_ijk_to_ras_from_sitk(image),
                             scene=scene, name=name, labelmap=labelmap)
