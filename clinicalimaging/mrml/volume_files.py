"""Volume files <-> volume nodes: read a file or DICOM series, write a file atomically."""

from pathlib import Path

import numpy as np

from ..errors import InputError
from .dicom import _dicom_files
from .images import ijk_to_ras_from_sitk
from .nifti_size import check_nifti_complete
from .paths import VOLUME_EXTENSIONS, _extension, check_output_path, write_node
from .scene import _quiet_vtk, get_scene
from .volumes import SLICE_AXIS_REVERSED_ATTRIBUTE, _array_from_matrix, ijk_to_ras, in_file_order


def _default_name(path):
    path = Path(path)
    extension = _extension(path, VOLUME_EXTENSIONS)
    return path.name[:-len(extension)] if extension else path.name


def _describe_read_failure(path):
    """An actionable reason why ``path`` could not be read as a scalar volume."""
    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    if Path(path).name.lower().endswith(".mha") and not Path(path).name.endswith(".mha"):
        return (f"Input '{path}' cannot be read: ITK reads MetaImage files only by a lower-case extension. Rename "
                f"it to '{Path(path).name[:-4]}.mha'.")
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        return (f"Input '{path}' is not a readable image file (corrupt, truncated or not an image). "
                f"Check the file, or export it again as {', '.join(VOLUME_EXTENSIONS)}.")
    if reader.GetDimension() > 3:
        return (f"Input '{path}' is a {reader.GetDimension()}D image (size {reader.GetSize()}); a 3D volume is "
                "needed. Extract one 3D volume (e.g. one time point) and pass that.")
    if reader.GetNumberOfComponents() > 1:
        return _vector_message(path, reader.GetNumberOfComponents())
    try:
        reader.Execute()
    except RuntimeError:
        return (f"Input '{path}' is not a readable volume: its header is readable but its voxel data is not "
                "(the file is truncated or corrupt). Copy or export the file again.")
    return (f"Input '{path}' is a {reader.GetDimension()}D image of type {reader.GetPixelIDTypeAsString()} that "
            f"cannot be loaded as a volume. Export it again as {', '.join(VOLUME_EXTENSIONS)}.")


def _vector_message(path, components):
    return (f"Input '{path}' has {components} values per voxel (a colour/RGB, vector or multi-channel image); "
            "a single-component (grayscale) 3D volume is needed. Convert it to grayscale or extract one "
            "channel and pass that.")


def read_volume(path, *, scene=None, name=None, labelmap=False, display=True):
    """Read a volume file or a DICOM series folder into a new volume node.

    Parameters
    ----------
    path : str or Path
        A ``.nrrd``, ``.nhdr``, ``.nii``, ``.nii.gz`` or ``.mha`` file, or a folder
        holding the DICOM files of one series.
    scene : vtkMRMLScene, optional
        Where to add the node; default :func:`get_scene`.
    name : str, optional
        Node name; default the file name without extension (or the folder name),
        made unique in the scene.
    labelmap : bool
        Read into a ``vtkMRMLLabelMapVolumeNode`` instead of a scalar volume node.
    display : bool
        Give the node its display node (window/level from the voxels' histogram):
        for views; a file-to-file run needs none.

    Returns
    -------
    vtkMRMLScalarVolumeNode or vtkMRMLLabelMapVolumeNode
        The node, with its storage node (and display node), in ``scene``.

    Raises
    ------
    InputError
        Missing, empty, unsupported, corrupt, truncated, vector/RGB or 4D input; a
        DICOM series with missing slices. Nothing is left in the scene then.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"Input '{path}' does not exist. Check the path.")
    files = []
    if path.is_dir():
        if _extension(path, VOLUME_EXTENSIONS):
            raise InputError(f"Input '{path}' is a folder, not a file. Pass the volume file itself, or a folder "
                             "holding the DICOM files of one series.")
        files = _dicom_files(path)
        archetype = files[0]
    else:
        if _extension(path, VOLUME_EXTENSIONS) is None:
            raise InputError(f"Input '{path}' has an unsupported file type. Use one of "
                             f"{', '.join(VOLUME_EXTENSIONS)}, or pass the folder of a DICOM series.")
        if path.stat().st_size == 0:
            raise InputError(f"Input '{path}' is empty (0 bytes). Check the file or export it again.")
        if _extension(path, (".nii", ".nii.gz")):
            check_nifti_complete(path)
        archetype = path
    scene = scene if scene is not None else get_scene()
    node_class = "vtkMRMLLabelMapVolumeNode" if labelmap else "vtkMRMLScalarVolumeNode"
    node = scene.AddNewNodeByClass(node_class, scene.GenerateUniqueName(name or _default_name(path)))
    storage = scene.AddNewNodeByClass("vtkMRMLVolumeArchetypeStorageNode")
    storage.SetFileName(str(archetype))
    for file in files:  # DICOM: every file explicitly, never archetype discovery, which scrambles series with empty UIDs
        storage.AddFileName(str(file))
    try:
        with _quiet_vtk():
            read = storage.ReadData(node)
        image = node.GetImageData()
        if not read or image is None:
            with _quiet_vtk():
                reason = _describe_read_failure(archetype)
            raise InputError(reason)
        if image.GetNumberOfScalarComponents() > 1:
            raise InputError(_vector_message(path, image.GetNumberOfScalarComponents()))
    except BaseException:
        scene.RemoveNode(node)
        scene.RemoveNode(storage)
        raise
    with _quiet_vtk():
        reversed_ = not files and _slice_axis_reversed(archetype, node)
    if reversed_:
        node.SetAttribute(SLICE_AXIS_REVERSED_ATTRIBUTE, "true")
    node.SetAndObserveStorageNodeID(storage.GetID())
    if display:
        node.CreateDefaultDisplayNodes()
    return node


def file_is_compressed(path):
    """Whether a volume file's voxels are compressed: True, False, or None when unknown (a DICOM folder).

    From the name for NIfTI (``.nii.gz``), from the header for NRRD (``encoding``) and
    MetaImage (``CompressedData``).
    """
    path = Path(path)
    name = path.name.lower()
    if path.is_dir() or not name.endswith((".nrrd", ".nhdr", ".mha", ".nii", ".nii.gz")):
        return None
    if name.endswith((".nii", ".nii.gz")):
        return name.endswith(".gz")
    with path.open("rb") as file:
        header = file.read(1 << 16).split(b"\n\n", 1)[0].decode("latin-1").lower()
    for line in header.splitlines():
        key, _, value = line.partition(":" if name.endswith((".nrrd", ".nhdr")) else "=")
        if key.strip() in ("encoding", "compresseddata"):
            return value.strip() in ("gzip", "gz", "bzip2", "bz2", "zstd", "true")
    return False


def _slice_axis_reversed(path, node):
    """Whether the node's k axis runs against the file's (Slicer reverses it for left-handed files)."""
    return bool(np.allclose(ijk_to_ras(node)[:3, 2], -_file_slice_axis(path), atol=1e-6))


def _file_slice_axis(path):
    """The k axis of a volume file as stored, in RAS mm: the third column of its own IJK-to-RAS matrix."""
    if _extension(path, (".nrrd", ".nhdr")):
        # Teem reads only the header and applies no reversal; it is loaded with MRML already.
        import slicer

        reader = slicer.vtkTeemNRRDReader()
        reader.SetFileName(str(path))
        reader.UpdateInformation()
        return np.linalg.inv(_array_from_matrix(reader.GetRasToIjkMatrix()))[:3, 2]
    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    reader.ReadImageInformation()
    return ijk_to_ras_from_sitk(reader)[:3, 2]


def file_slice_index(node, k):
    """The slice index in the volume's file of slice ``k`` of the node's array.

    A file stored left-handed is read with its k axis reversed (as Slicer's
    ``loadVolume`` does), so a message about slices should name the file's index,
    which any other viewer of the file shows.

    Parameters
    ----------
    node : vtkMRMLVolumeNode
        Read by :func:`read_volume` (any other node: ``k`` is returned unchanged).
    k : int
        Slice index of the node's (K, J, I) array.

    Returns
    -------
    int
    """
    if node.GetAttribute(SLICE_AXIS_REVERSED_ATTRIBUTE) == "true":
        return node.GetImageData().GetDimensions()[2] - 1 - int(k)
    return int(k)


def write_volume(node, path, *, compress=True):
    """Write a volume node to a file, atomically, in the voxel order of the file it came from.

    The data go to a temporary file in the destination folder (same extension), which
    then replaces ``path``; a failure leaves neither a partial nor a temporary file.
    The node's own storage node is not touched.

    A volume read from a left-handed file (and every volume made like it with
    :func:`new_volume_like`) is written left-handed again, with the file's origin,
    direction and slice order: its array pairs voxel for voxel with the input file's
    in any program that reads both (numpy, nibabel, pyradiomics).

    Parameters
    ----------
    node : vtkMRMLVolumeNode
        The volume to write.
    path : str or Path
        ``.nrrd``, ``.nii``, ``.nii.gz`` or ``.mha`` file.
    compress : bool
        gzip-compress NRRD and MetaImage voxels (NIfTI follows the extension).

    Raises
    ------
    InputError
        Bad output path (see :func:`check_output_path`) or a node without image data.
    OSError
        The writer failed (e.g. disk full).
    """
    import slicer

    path = check_output_path(path, "volume")
    if node is None or node.GetImageData() is None:
        raise InputError(f"Cannot write '{path}': the volume node has no image data.")
    storage = slicer.vtkMRMLVolumeArchetypeStorageNode()  # standalone: the node's storage node stays as it is
    storage.SetUseCompression(bool(compress))
    write_node(storage, in_file_order(node), path, "volume")

