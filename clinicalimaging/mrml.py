"""The one door to MRML: files <-> nodes, node <-> (array, geometry), output nodes, tables, markups.

Every other part of the package reaches MRML through these functions. They work in
two places with the same code:

- inside 3D Slicer, on ``slicer.mrmlScene``;
- standalone on the ``slicer-core`` wheel, on one scene created on first use together
  with the module logics Slicer would create (colors, volumes, segmentations, markups,
  tables), see :func:`get_scene`.

Arrays are in MRML's KJI order (``array[k, j, i]``); spacings are in mm in the same
order. Geometry is the node's 4x4 IJK-to-RAS matrix (origin, spacing and direction
cosines, oblique included). Files are read like Slicer's ``loadVolume`` does, so a file
stored left-handed gets its k axis flipped while its physical geometry stays right.
"""

import contextlib
import os
import shutil
import tempfile
import types
from pathlib import Path

import numpy as np

from .errors import InputError

VOLUME_EXTENSIONS = (".nrrd", ".nhdr", ".nii", ".nii.gz", ".mha")
OUTPUT_EXTENSIONS = {
    "volume": (".nrrd", ".nii", ".nii.gz", ".mha"),
    "table": (".csv", ".tsv"),
    "segmentation": (".seg.nrrd",),
    "markups": (".mrk.json",),
    "figure": (".png",),
}
# SimpleITK works in LPS, MRML in RAS.
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])
# dtypes that vtk cannot hold, and what they become (pitfall 7 of SLICER_CORE.md).
_SAFE_DTYPES = {np.dtype(np.bool_): np.uint8, np.dtype(np.float16): np.float32}

_standalone = None


def get_scene():
    """The MRML scene to work in.

    Inside Slicer this is ``slicer.mrmlScene``. Standalone, one scene is created on the
    first call, with the colors, volumes, segmentations, markups and tables logics
    attached, and is then installed as ``slicer.mrmlScene`` (with a
    ``slicer.modules.<name>.logic()`` shim) so ``slicer.util`` works on it.

    Returns
    -------
    vtkMRMLScene
    """
    import slicer

    scene = getattr(slicer, "mrmlScene", None)
    if scene is not None:
        return scene
    global _standalone
    if _standalone is None:
        _standalone = _create_standalone_scene()
    scene, logics = _standalone
    slicer.mrmlScene = scene
    slicer.modules = types.SimpleNamespace(
        **{key: types.SimpleNamespace(logic=(lambda logic=logic: logic)) for key, logic in logics.items()})
    return scene


def _create_standalone_scene():
    """A scene plus the module logics the Slicer application would create (SLICER_CORE §1).

    The returned logics must stay referenced: deleting the color logic removes its
    color tables from the scene.
    """
    import slicer

    scene = slicer.vtkMRMLScene()
    application_logic = slicer.vtkSlicerApplicationLogic()
    application_logic.SetMRMLScene(scene)
    colors = slicer.vtkMRMLColorLogic()
    colors.SetMRMLScene(scene)
    application_logic.SetColorLogic(colors)
    application_logic.SetModuleLogic("Colors", colors)
    logics = {"colors": colors}
    for key, module, logic_class in [("volumes", "Volumes", slicer.vtkSlicerVolumesLogic),
                                     ("segmentations", "Segmentations", slicer.vtkSlicerSegmentationsModuleLogic),
                                     ("markups", "Markups", slicer.vtkSlicerMarkupsLogic),
                                     ("tables", "Tables", slicer.vtkSlicerTablesLogic)]:
        logic = logic_class()
        logic.SetMRMLApplicationLogic(application_logic)
        logic.SetMRMLScene(scene)
        application_logic.SetModuleLogic(module, logic)
        logics[key] = logic
    logics["application"] = application_logic
    return scene, logics


@contextlib.contextmanager
def _quiet_vtk():
    """Silence VTK/ITK error and warning output; failures are reported as InputError instead."""
    import vtk

    previous = vtk.vtkObject.GetGlobalWarningDisplay()
    vtk.vtkObject.GlobalWarningDisplayOff()
    try:
        yield
    finally:
        vtk.vtkObject.SetGlobalWarningDisplay(previous)


def _extension(path, extensions):
    """The entry of ``extensions`` that ``path`` ends with (longest first), or None."""
    name = Path(path).name.lower()
    return next((ext for ext in sorted(extensions, key=len, reverse=True) if name.endswith(ext)), None)


def _default_name(path):
    path = Path(path)
    extension = _extension(path, VOLUME_EXTENSIONS)
    return path.name[:-len(extension)] if extension else path.name


def _dicom_header(path):
    """(series UID, position along the slice normal or None, instance number) of a DICOM file, or None."""
    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetImageIO("GDCMImageIO")
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        return None

    def tag(key, default=""):
        return reader.GetMetaData(key).strip() if reader.HasMetaDataKey(key) else default

    try:
        orientation = np.array(tag("0020|0037").split("\\"), float)
        position = float(np.dot(np.array(tag("0020|0032").split("\\"), float), np.cross(orientation[:3],
                                                                                       orientation[3:])))
    except ValueError:
        position = None
    try:
        instance = int(tag("0020|0013", "0"))
    except ValueError:
        instance = 0
    return tag("0020|000e"), position, instance


def _dicom_files(folder):
    """The DICOM files of the one series in ``folder``, sorted along the slice normal.

    The archetype reader needs them in spatial order; failing that, instance number
    order. InputError for a folder with no DICOM file or with several series.
    """
    headers = {path: _dicom_header(path) for path in sorted(folder.iterdir()) if path.is_file()}
    headers = {path: header for path, header in headers.items() if header is not None}
    if not headers:
        raise InputError(f"Input folder '{folder}' contains no DICOM files. Pass a folder holding the DICOM "
                         f"files of one series, or a volume file ({', '.join(VOLUME_EXTENSIONS)}).")
    series = sorted({header[0] for header in headers.values()})
    if len(series) > 1:
        raise InputError(f"Input folder '{folder}' holds {len(series)} DICOM series ({', '.join(series)}). "
                         "Put each series in its own folder and pass one series folder.")
    if all(header[1] is not None for header in headers.values()):
        return sorted(headers, key=lambda path: headers[path][1])
    return sorted(headers, key=lambda path: headers[path][2])


def _describe_read_failure(path, storage):
    """An actionable reason why ``path`` could not be read as a scalar volume."""
    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
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
    details = storage.GetUserMessages().GetAllMessagesAsString().strip()
    return f"Input '{path}' could not be read as a volume. {details}".strip()


def _vector_message(path, components):
    return (f"Input '{path}' has {components} values per voxel (a colour/RGB, vector or multi-channel image); "
            "a single-component (grayscale) 3D volume is needed. Convert it to grayscale or extract one "
            "channel and pass that.")


def read_volume(path, *, scene=None, name=None, labelmap=False):
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

    Returns
    -------
    vtkMRMLScalarVolumeNode or vtkMRMLLabelMapVolumeNode
        The node, with its storage and display nodes, in ``scene``.

    Raises
    ------
    InputError
        Missing, empty, unsupported, corrupt, vector/RGB or 4D input. Nothing is
        left in the scene then.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"Input '{path}' does not exist. Check the path.")
    files = []
    if path.is_dir():
        files = _dicom_files(path)
        archetype = files[0]
    else:
        if _extension(path, VOLUME_EXTENSIONS) is None:
            raise InputError(f"Input '{path}' has an unsupported file type. Use one of "
                             f"{', '.join(VOLUME_EXTENSIONS)}, or pass the folder of a DICOM series.")
        if path.stat().st_size == 0:
            raise InputError(f"Input '{path}' is empty (0 bytes). Check the file or export it again.")
        archetype = path
    scene = scene if scene is not None else get_scene()
    node_class = "vtkMRMLLabelMapVolumeNode" if labelmap else "vtkMRMLScalarVolumeNode"
    node = scene.AddNewNodeByClass(node_class, scene.GenerateUniqueName(name or _default_name(path)))
    storage = scene.AddNewNodeByClass("vtkMRMLVolumeArchetypeStorageNode")
    storage.SetFileName(str(archetype))
    for file in files:  # DICOM: every file explicitly, never archetype discovery (SLICER_CORE pitfall 2)
        storage.AddFileName(str(file))
    try:
        with _quiet_vtk():
            read = storage.ReadData(node)
        image = node.GetImageData()
        if not read or image is None:
            raise InputError(_describe_read_failure(archetype, storage))
        if image.GetNumberOfScalarComponents() > 1:
            raise InputError(_vector_message(path, image.GetNumberOfScalarComponents()))
    except BaseException:
        scene.RemoveNode(node)
        scene.RemoveNode(storage)
        raise
    node.SetAndObserveStorageNodeID(storage.GetID())
    node.CreateDefaultDisplayNodes()
    return node


def check_output_path(path, kind="volume"):
    """Check, before any computation, that an output can be written to ``path``.

    Parameters
    ----------
    path : str or Path
        The output file.
    kind : {"volume", "table", "segmentation", "markups", "figure"}
        What will be written; decides the allowed extensions (volume: ``.nrrd``,
        ``.nii``, ``.nii.gz``, ``.mha``; table: ``.csv``, ``.tsv``; segmentation:
        ``.seg.nrrd``; markups: ``.mrk.json``; figure: ``.png``).

    Returns
    -------
    Path
        ``path`` as a Path.

    Raises
    ------
    InputError
        Unsupported extension, missing or non-writable folder, or ``path`` is a folder.
    """
    if kind not in OUTPUT_EXTENSIONS:
        raise InputError(f"Unknown output kind '{kind}'; use one of {', '.join(OUTPUT_EXTENSIONS)}.")
    path = Path(path)
    extensions = OUTPUT_EXTENSIONS[kind]
    if _extension(path, extensions) is None:
        raise InputError(f"Output '{path}' has an unsupported extension for a {kind}; "
                         f"use one of {', '.join(extensions)}.")
    if path.is_dir():
        raise InputError(f"Output '{path}' is a folder; give a file name ending in {extensions[0]}.")
    folder = path.parent
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "does not exist"
        raise InputError(f"Output folder '{folder}' {problem}. Create it or choose another output path for "
                         f"'{path.name}'.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"Output folder '{folder}' is not writable. Choose a folder you can write to for "
                         f"'{path.name}'.")
    return path


def check_outputs(inputs, outputs):
    """Check output paths before any computation.

    Parameters
    ----------
    inputs : list of path
        Input files or folders; no output may be one of them.
    outputs : list of (path, kind)
        Output files and their kind for :func:`check_output_path`.

    Raises
    ------
    InputError
        An output equals an input or another output, or cannot be written.
    """
    seen = {}
    for path, kind in outputs:
        path = Path(check_output_path(path, kind))
        for source in map(Path, inputs):
            if _same_file(path, source):
                raise InputError(f"Output '{path}' is the input file '{source}'; the input is never overwritten. "
                                 "Choose another output path.")
        key = path.resolve()
        if key in seen:
            raise InputError(f"Outputs '{seen[key]}' and '{path}' are the same file; give each output its own path.")
        seen[key] = path


def _same_file(first, second):
    if first.exists() and second.exists():
        return os.path.samefile(first, second)
    return first.resolve() == second.resolve()


@contextlib.contextmanager
def staged_outputs(paths):
    """Write several output files all or nothing.

    Yields a dict mapping each final path to a path of the same name in a hidden
    staging folder beside it (so writers still choose the format from the extension).
    When the block ends normally, every file of each staging folder (the outputs and
    any sidecar their writers add, e.g. a table's ``.schema.csv``) replaces its
    namesake beside that folder. When the block raises, nothing is moved and existing
    files keep their old content. The staging folders are always removed.

    Parameters
    ----------
    paths : iterable of path
        The final output files; their folders must exist and be writable.

    Yields
    ------
    dict of Path to Path
    """
    paths = [Path(path) for path in paths]
    staging = {}
    try:
        for path in paths:
            if path.parent not in staging:
                staging[path.parent] = Path(tempfile.mkdtemp(prefix=".clinicalimaging-", dir=path.parent))
        yield {path: staging[path.parent] / path.name for path in paths}
        for folder, stage in staging.items():
            for file in sorted(stage.iterdir()):
                os.replace(file, folder / file.name)
    finally:
        for stage in staging.values():
            shutil.rmtree(stage, ignore_errors=True)


def write_volume(node, path):
    """Write a volume node to a file, atomically.

    The data go to a temporary file in the destination folder (same extension), which
    then replaces ``path``; a failure leaves neither a partial nor a temporary file.
    The node's own storage node is not touched. NRRD files are gzip-compressed.

    Parameters
    ----------
    node : vtkMRMLVolumeNode
        The volume to write.
    path : str or Path
        ``.nrrd``, ``.nii``, ``.nii.gz`` or ``.mha`` file.

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
    storage.SetUseCompression(True)
    with staged_outputs([path]) as staged:
        storage.SetFileName(str(staged[path]))
        with _quiet_vtk():
            written = storage.WriteData(node)
        if not written:
            details = storage.GetUserMessages().GetAllMessagesAsString().strip()
            raise OSError(f"Could not write volume '{node.GetName()}' to '{path}'. {details}".strip())


def array_from_volume(node):
    """A copy of the voxel array of a volume node.

    Parameters
    ----------
    node : vtkMRMLVolumeNode

    Returns
    -------
    ndarray, shape (K, J, I)
        The voxels, in the node's dtype.
    """
    import slicer

    if node is None or node.GetImageData() is None:
        raise InputError(f"Volume '{node.GetName() if node else None}' has no image data.")
    return slicer.util.arrayFromVolume(node).copy()


def spacing_kji(node):
    """Voxel spacing of a volume node in mm, in KJI order (slice spacing first)."""
    return tuple(float(value) for value in reversed(node.GetSpacing()))


def ijk_to_ras(node):
    """The (4, 4) IJK-to-RAS matrix of a volume node (origin, spacing, direction cosines) in mm."""
    import vtk

    import slicer

    matrix = vtk.vtkMatrix4x4()
    node.GetIJKToRASMatrix(matrix)
    return slicer.util.arrayFromVTKMatrix(matrix)


def _vtk_compatible(array, what):
    """``array`` as 3D KJI in a dtype vtk accepts (SLICER_CORE pitfall 7)."""
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


def _set_voxels(node, array, matrix):
    import slicer

    node.SetIJKToRASMatrix(slicer.util.vtkMatrixFromArray(np.asarray(matrix, dtype=float)))
    slicer.util.updateVolumeFromArray(node, array)
    if node.GetScene() is not None and node.GetDisplayNode() is None:
        node.CreateDefaultDisplayNodes()


def volume_from_array(array, *, ijk_to_ras, scene=None, name="volume", labelmap=False):
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
    _set_voxels(node, array, matrix)
    return node


def new_volume_like(reference, array, *, name=None, node=None, labelmap=False):
    """A volume with exactly the geometry of ``reference`` and the voxels of ``array``.

    Parameters
    ----------
    reference : vtkMRMLVolumeNode
        Gives origin, spacing, direction cosines and parent transform; never modified.
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
        ``node``, or the new node in the reference's scene (or :func:`get_scene`).
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
                                                 name=name or f"{reference.GetName()}_{suffix}",
                                                 labelmap=labelmap), reference)
    if name:
        node.SetName(name)
    _set_voxels(node, array, matrix)
    return _with_transform(node, reference)


def _with_transform(node, reference):
    node.SetAndObserveTransformNodeID(reference.GetTransformNodeID())
    return node


def set_label_names(label_node, label_names):
    """Name the values of a label map with a new color table, so Slicer shows organ names.

    Importing the label map into a segmentation then names each segment after its
    label. Colors are taken from Slicer's generic ``Labels`` table when the scene
    has it.

    Parameters
    ----------
    label_node : vtkMRMLLabelMapVolumeNode
        In a scene.
    label_names : dict of int to str
        Label value -> name; value 0 is the background.

    Returns
    -------
    vtkMRMLColorTableNode
        The new color table, named ``<label node name>_colors``.
    """
    scene = label_node.GetScene()
    table = scene.AddNewNodeByClass("vtkMRMLColorTableNode",
                                    scene.GenerateUniqueName(f"{label_node.GetName()}_colors"))
    table.SetTypeToUser()
    table.SetNumberOfColors(max(label_names) + 1)
    table.SetColor(0, "background", 0.0, 0.0, 0.0, 0.0)
    generic = scene.GetNodeByID("vtkMRMLColorTableNodeLabels")
    rgba = [0.5, 0.5, 0.5, 1.0]
    for value, name in label_names.items():
        if generic is not None:
            generic.GetColor(value, rgba)
        table.SetColor(value, name, *rgba[:3], 1.0)
    if label_node.GetDisplayNode() is None:
        label_node.CreateDefaultDisplayNodes()
    label_node.GetDisplayNode().SetAndObserveColorNodeID(table.GetID())
    return table


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


def _present_values(array):
    values = np.unique(array)
    values = values[values != 0]
    return ", ".join(str(value) for value in values[:20]) + (", ..." if len(values) > 20 else "") or "none"


def label_mask_like(label_node, reference_node, label_value=None):
    """A label map brought onto the voxel grid of a reference volume, as a binary mask.

    The label map is used as is when its grid equals the reference's; otherwise it is
    resampled by nearest neighbour in physical space (SimpleITK), outside = 0.

    Parameters
    ----------
    label_node : vtkMRMLVolumeNode
        Label map (any integer volume).
    reference_node : vtkMRMLVolumeNode
        Gives the output grid.
    label_value : int, optional
        The label to select; default every non-zero voxel.

    Returns
    -------
    ndarray of uint8, shape (K, J, I) of the reference
        1 inside the selected label, 0 elsewhere.

    Raises
    ------
    InputError
        The selected label has no voxel on the reference grid.
    """
    import SimpleITK as sitk

    labels = array_from_volume(label_node)
    reference_shape = tuple(reversed(reference_node.GetImageData().GetDimensions()))
    if labels.shape != reference_shape or not np.allclose(ijk_to_ras(label_node), ijk_to_ras(reference_node)):
        grid = sitk.Image(list(reversed(reference_shape)), sitk.sitkUInt8)
        _set_sitk_geometry(grid, ijk_to_ras(reference_node))
        resampled = sitk.Resample(sitk_image_from_volume(label_node), grid, sitk.Transform(),
                                  sitk.sitkNearestNeighbor, 0)
        labels = sitk.GetArrayFromImage(resampled)
    mask = (labels != 0) if label_value is None else (labels == label_value)
    if not mask.any():
        selected = "any non-zero label" if label_value is None else f"label value {label_value}"
        raise InputError(f"Label map '{label_node.GetName()}' has no voxel with {selected} inside volume "
                         f"'{reference_node.GetName()}' (label values there: {_present_values(labels)}; "
                         f"in the whole label map: {_present_values(array_from_volume(label_node))}). "
                         "Choose a label value that is present, or a label map that overlaps the volume.")
    return mask.astype(np.uint8)


def segment_mask(segmentation_node, segment, reference_volume):
    """One segment of a segmentation as a binary mask on the grid of a reference volume.

    Parameters
    ----------
    segmentation_node : vtkMRMLSegmentationNode
    segment : str
        Segment id or segment name.
    reference_volume : vtkMRMLVolumeNode
        Gives the output grid.

    Returns
    -------
    ndarray of uint8, shape (K, J, I) of the reference
        1 inside the segment, 0 elsewhere.

    Raises
    ------
    InputError
        Unknown segment, or a segment with no voxel in the reference volume.
    """
    import vtk

    import slicer

    segmentation = segmentation_node.GetSegmentation()
    segment_id = segment if segmentation.GetSegment(segment) else segmentation.GetSegmentIdBySegmentName(segment)
    if not segment_id:
        names = [segmentation.GetNthSegment(n).GetName() for n in range(segmentation.GetNumberOfSegments())]
        raise InputError(f"Segmentation '{segmentation_node.GetName()}' has no segment '{segment}' "
                         f"(segments: {', '.join(names) or 'none'}). Choose one of these.")
    scene = segmentation_node.GetScene() or get_scene()
    color_tables_before = _node_ids(scene, "vtkMRMLColorTableNode")
    labelmap = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", scene.GenerateUniqueName("__segment_mask"))
    try:
        ids = vtk.vtkStringArray()
        ids.InsertNextValue(segment_id)
        with _quiet_vtk():
            exported = slicer.vtkSlicerSegmentationsModuleLogic.ExportSegmentsToLabelmapNode(
                segmentation_node, ids, labelmap, reference_volume, slicer.vtkSegmentation.EXTENT_REFERENCE_GEOMETRY)
        if not exported or labelmap.GetImageData() is None:
            raise InputError(f"Segment '{segment}' of '{segmentation_node.GetName()}' could not be converted to a "
                             "label map; check that it is not empty.")
        labelmap.SetName(f"{segmentation_node.GetName()}: {segment}")
        return label_mask_like(labelmap, reference_volume)
    finally:
        displays = [labelmap.GetNthDisplayNode(index) for index in range(labelmap.GetNumberOfDisplayNodes())]
        for node in [*displays, labelmap]:
            scene.RemoveNode(node)
        for node_id in _node_ids(scene, "vtkMRMLColorTableNode") - color_tables_before:  # made by the export
            scene.RemoveNode(scene.GetNodeByID(node_id))


def _node_ids(scene, node_class):
    nodes = scene.GetNodesByClass(node_class)
    return {nodes.GetItemAsObject(index).GetID() for index in range(nodes.GetNumberOfItems())}


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def table_from_rows(rows, *, name="table", scene=None, node=None):
    """A table node from a list of row dicts.

    Columns appear in the order their keys are first seen. A column whose values are
    all numbers (missing ones allowed) becomes a double column, with NaN for missing
    values; any other column a string column, with "" for missing values.

    Parameters
    ----------
    rows : list of dict
        One dict per row, column name -> value.
    name : str
        Name of a new node, made unique in the scene.
    scene : vtkMRMLScene, optional
        Default :func:`get_scene`.
    node : vtkMRMLTableNode, optional
        Replace the content of this node instead of creating one.

    Returns
    -------
    vtkMRMLTableNode
    """
    import vtk

    import slicer

    columns = list(dict.fromkeys(key for row in rows for key in row))
    if node is None:
        scene = scene if scene is not None else get_scene()
        node = scene.AddNewNodeByClass("vtkMRMLTableNode", scene.GenerateUniqueName(name))
    with slicer.util.NodeModify(node):
        node.RemoveAllColumns()
        for column in columns:
            values = [row.get(column) for row in rows]
            numeric = all(value is None or _is_number(value) for value in values)
            array = vtk.vtkDoubleArray() if numeric else vtk.vtkStringArray()
            array.SetName(str(column))
            for value in values:
                if numeric:
                    array.InsertNextValue(np.nan if value is None else float(value))
                else:
                    array.InsertNextValue("" if value is None else str(value))
            node.AddColumn(array)
    return node


def write_table(table_node, path):
    """Write a table node as ``.csv`` or ``.tsv``, atomically.

    Slicer's table storage also writes a schema sidecar ``<stem>.schema.csv`` (or
    ``.tsv``) that records the column types, so Slicer reads numbers back as numbers;
    it is kept and, like the table itself, written to a temporary folder first and
    then moved into place. Plain CSV readers can ignore it.

    Parameters
    ----------
    table_node : vtkMRMLTableNode
    path : str or Path
        ``.csv`` or ``.tsv`` file.

    Raises
    ------
    InputError
        Bad output path (see :func:`check_output_path`).
    OSError
        The writer failed.
    """
    import slicer

    path = check_output_path(path, "table")
    storage = slicer.vtkMRMLTableStorageNode()
    with staged_outputs([path]) as staged:
        storage.SetFileName(str(staged[path]))
        with _quiet_vtk():
            written = storage.WriteData(table_node)
        if not written:
            details = storage.GetUserMessages().GetAllMessagesAsString().strip()
            raise OSError(f"Could not write table '{table_node.GetName()}' to '{path}'. {details}".strip())


def read_markups(path):
    """Read a Slicer markups file (``.mrk.json``: point list, open or closed curve) into a node.

    The node is added to :func:`get_scene` (``slicer.mrmlScene`` inside Slicer), the
    scene the markups logic works on.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    vtkMRMLMarkupsNode
        With at least one control point.

    Raises
    ------
    InputError
        Missing, empty or non-markups file, or a markups node without points. Nothing
        is left in the scene then.
    """
    import slicer

    path = Path(path)
    if not path.is_file():
        raise InputError(f"Points file '{path}' does not exist. Check the path.")
    if not path.name.lower().endswith(".json"):
        raise InputError(f"Points file '{path}' must be a Slicer markups file (.mrk.json); save the points from "
                         "Slicer's Markups module.")
    if path.stat().st_size == 0:
        raise InputError(f"Points file '{path}' is empty (0 bytes).")
    get_scene()  # standalone: creates the scene and its markups logic
    with _quiet_vtk():
        node_id = slicer.modules.markups.logic().LoadMarkups(str(path))
    node = slicer.mrmlScene.GetNodeByID(node_id) if node_id else None
    if node is None:
        raise InputError(f"Points file '{path}' is not a readable Slicer markups file (.mrk.json). Save the "
                         "outline from Slicer's Markups module (point list or closed curve).")
    if node.GetNumberOfControlPoints() == 0:
        slicer.mrmlScene.RemoveNode(node)
        raise InputError(f"Points file '{path}' holds no points; place the outline points and save it again.")
    return node


def points_kji(markups_node, volume_node):
    """The control points of a markups node as continuous voxel coordinates of a volume.

    Parameters
    ----------
    markups_node : vtkMRMLMarkupsNode
        Points in world (RAS) coordinates, parent transforms applied.
    volume_node : vtkMRMLVolumeNode
        Its IJK-to-RAS matrix maps the points (a parent transform of the volume is
        not applied: harden it first).

    Returns
    -------
    ndarray, shape (N, 3), float64
        (k, j, i) per point; integer values are voxel centres.
    """
    import slicer

    ras = slicer.util.arrayFromMarkupsControlPoints(markups_node, world=True)
    homogeneous = np.c_[ras, np.ones(len(ras))]
    ijk = (np.linalg.inv(ijk_to_ras(volume_node)) @ homogeneous.T).T[:, :3]
    return ijk[:, ::-1].copy()


def markups_from_points(points, reference_volume, *, name="outline", closed=True, scene=None):
    """A closed-curve (or point-list) node from continuous voxel coordinates of a volume.

    Parameters
    ----------
    points : array_like, shape (N, 3)
        (k, j, i) voxel coordinates in ``reference_volume``.
    reference_volume : vtkMRMLVolumeNode
    name : str
    closed : bool
        A ``vtkMRMLMarkupsClosedCurveNode`` (True) or a point list.
    scene : vtkMRMLScene, optional
        Default: the reference volume's scene.

    Returns
    -------
    vtkMRMLMarkupsNode
    """
    import slicer

    points = np.asarray(points, dtype=np.float64)
    ras = (ijk_to_ras(reference_volume) @ np.c_[points[:, ::-1], np.ones(len(points))].T).T[:, :3]
    scene = scene or reference_volume.GetScene() or get_scene()
    node_class = "vtkMRMLMarkupsClosedCurveNode" if closed else "vtkMRMLMarkupsFiducialNode"
    node = scene.AddNewNodeByClass(node_class, scene.GenerateUniqueName(name))
    slicer.util.updateMarkupsControlPointsFromArray(node, ras)
    node.CreateDefaultDisplayNodes()
    return node


def write_markups(markups_node, path):
    """Write a markups node as ``.mrk.json`` (LPS coordinates, Slicer's default), atomically."""
    path = check_output_path(path, "markups")
    storage = markups_node.CreateDefaultStorageNode()  # the class that keeps this markups type complete
    with staged_outputs([path]) as staged:
        storage.SetFileName(str(staged[path]))
        with _quiet_vtk():
            written = storage.WriteData(markups_node)
        if not written:
            raise OSError(f"Could not write markups '{markups_node.GetName()}' to '{path}'.")
