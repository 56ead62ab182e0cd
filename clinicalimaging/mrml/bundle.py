"""Scenes <-> Medical Reality Bundles (``.mrb``): a whole scene in one file that Slicer opens."""

import contextlib
import zipfile
from pathlib import Path

from ..errors import InputError
from .paths import check_output_path, staged_outputs, temporary_folder
from .scene import _quiet_vtk, create_standalone_scene

BUNDLE_EXTENSION = ".mrb"


def write_scene_bundle(scene, path):
    """Write a scene as a Slicer Medical Reality Bundle (``.mrb``), atomically.

    MRML's own bundle writer (``vtkMRMLScene::WriteToMRB``, which Slicer's
    "Save scene as .mrb" calls) writes the zip: one folder named after the file,
    holding the ``.mrml`` scene file and a ``Data/`` folder with every storable node
    (volumes and label maps, segmentations, markups, tables) and with the display
    nodes, references and singleton nodes (e.g. the selection node's active volume)
    in the scene file. A node without a storage node is given Slicer's default one,
    as Slicer's save does: ``.nrrd`` for volumes, ``.seg.nrrd`` for segmentations,
    ``.mrk.json`` for markups, ``.tsv`` (with its ``.schema.tsv``) for tables; it keeps
    it afterwards, without a file name. The storage nodes' file names and the scene's
    URL are restored after writing. Slicer opens the file by a double-click or drag
    and drop.

    The bundle is written into a staging folder beside ``path``
    (:func:`~clinicalimaging.mrml.staged_outputs`): no partial file ever has the
    final name, and a failure leaves no file behind.

    Parameters
    ----------
    scene : vtkMRMLScene
    path : str or Path
        The ``.mrb`` file; its folder must exist and be writable.

    Returns
    -------
    Path
        ``path`` as a Path.

    Raises
    ------
    InputError
        ``path`` does not end in ``.mrb``, is a folder, or its folder is missing or
        not writable; checked before anything is written.
    OSError
        MRML could not write the bundle (e.g. a node's data could not be written, disk full).
    """
    import slicer

    path = check_output_path(path, "bundle")
    messages = slicer.vtkMRMLMessageCollection()
    with staged_outputs([path]) as staged:
        with _quiet_vtk():
            written = scene.WriteToMRB(str(staged[path].resolve()), None, messages)  # MRML needs a full path
        if not written or not staged[path].is_file():
            details = " ".join(messages.GetAllMessagesAsString().split())
            raise OSError(f"Could not write the scene bundle '{path}' ({details or 'no reason given'}).")
    return path


def read_scene_bundle(path, scene=None):
    """Load a Medical Reality Bundle (``.mrb``) into a scene, as Slicer opens one.

    MRML's bundle reader (``vtkMRMLScene::ReadFromMRB``) unpacks the zip into a
    temporary folder, imports its ``.mrml`` scene file with every node's data, and
    removes the folder. Nodes whose IDs or names are taken in ``scene`` are imported
    under new ones; singleton nodes (e.g. the selection node) take the bundle's content.

    Parameters
    ----------
    path : str or Path
        A ``.mrb`` file (written by Slicer or :func:`write_scene_bundle`).
    scene : vtkMRMLScene, optional
        Where the nodes go; it needs the module logics of the bundle's node types
        (markups, segmentations, tables: as in :func:`get_scene`). Default: a new scene
        from :func:`~clinicalimaging.mrml.scene.create_standalone_scene`, which keeps
        its module logics referenced in its attribute ``logics`` (the color tables
        the volumes' display nodes use live as long as the color logic).

    Returns
    -------
    vtkMRMLScene
        ``scene``, or the new scene.

    Raises
    ------
    InputError
        Missing file, a folder, or a file that is not a readable bundle (corrupt,
        truncated, or a zip without a ``.mrml`` scene file). Nothing is left in the
        scene then.
    """
    import slicer

    path = Path(path)
    if path.is_dir():
        raise InputError(f"Scene bundle '{path}' is a folder, not a file. Pass the {BUNDLE_EXTENSION} file.")
    if not path.is_file():
        raise InputError(f"Scene bundle '{path}' does not exist. Check the path.")
    if not _holds_scene_file(path):
        raise InputError(f"Scene bundle '{path}' is not a readable Slicer scene bundle (corrupt, truncated, or a "
                         f"zip without a .mrml scene file). Save the scene again from Slicer as {BUNDLE_EXTENSION}.")
    if scene is None:
        scene, logics = create_standalone_scene()
        scene.logics = logics
    before = {scene.GetNthNode(index).GetID() for index in range(scene.GetNumberOfNodes())}
    messages = slicer.vtkMRMLMessageCollection()
    with _unpacking_folder(scene), _quiet_vtk():
        read = scene.ReadFromMRB(str(path.resolve()), False, messages)
    if not read:
        for node in [scene.GetNthNode(index) for index in range(scene.GetNumberOfNodes())]:
            if node.GetID() not in before:
                scene.RemoveNode(node)
        details = " ".join(messages.GetAllMessagesAsString().split())
        raise InputError(f"Scene bundle '{path}' could not be loaded ({details or 'no reason given'}). Save the "
                         f"scene again from Slicer as {BUNDLE_EXTENSION}.")
    return scene


def _holds_scene_file(path):
    """Whether ``path`` is a whole zip archive with a ``.mrml`` scene file in it."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None and any(name.endswith(".mrml") for name in archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError):
        return False


@contextlib.contextmanager
def _unpacking_folder(scene):
    """Give a scene without one (standalone) a place where MRML unpacks a bundle, for the block.

    MRML unpacks into its cache manager's remote cache directory; inside Slicer the
    application's is used, standalone a temporary folder that is removed afterwards.
    """
    import slicer

    if scene.GetDataIOManager() is not None:
        yield
        return
    with temporary_folder() as folder:
        cache = slicer.vtkCacheManager()
        cache.SetRemoteCacheDirectory(str(folder))
        manager = slicer.vtkDataIOManager()
        manager.SetCacheManager(cache)
        scene.SetDataIOManager(manager)
        try:
            yield
        finally:
            scene.SetDataIOManager(None)
