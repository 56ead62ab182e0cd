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


def ijk_to_ras_from_sitk(image):
    """The 4x4 IJK-to-RAS matrix of a SimpleITK image, its LPS geometry converted to RAS.

    SimpleITK's origin and direction are in LPS (x to the patient's Left, y
    Posterior); MRML, :func:`clinicalimaging.detect_organs_in_array` and every
    ``ijk_to_ras`` argument of this package are in RAS (x Right, y Anterior, z
    Superior). The first two rows of the matrix are negated accordingly.

    Parameters
    ----------
    image : SimpleITK.Image or SimpleITK.ImageFileReader
        A 3-D image (its voxels are ``sitk.GetArrayFromImage(image)``, in KJI order), or
        a reader that has read the image's information.

    Returns
    -------
    ndarray, shape (4, 4), float64
        Maps voxel indices (i, j, k, 1) to RAS mm: spacing, direction and origin.

    Raises
    ------
    InputError
        Not a 3-D SimpleITK image.
    """
    if not hasattr(image, "GetDirection") or image.GetDimension() != 3:
        got = f"a {image.GetDimension()}-D image" if hasattr(image, "GetDimension") else type(image).__name__
        raise InputError(f"ijk_to_ras_from_sitk takes a 3-D SimpleITK image (e.g. sitk.ReadImage(path)); got {got}.")
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
    return volume_from_array(sitk.GetArrayViewFromImage(image), ijk_to_ras=ijk_to_ras_from_sitk(image),
                             scene=scene, name=name, labelmap=labelmap)
