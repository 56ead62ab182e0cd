"""The MRML scene to work in: Slicer's, or one standalone scene with the module logics."""

import contextlib
import types

from ..library_output import library_output_discarded

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
        _standalone = create_standalone_scene()
    scene, logics = _standalone
    slicer.mrmlScene = scene
    slicer.modules = types.SimpleNamespace(
        **{key: types.SimpleNamespace(logic=(lambda logic=logic: logic)) for key, logic in logics.items()})
    return scene


@contextlib.contextmanager
def case_scene():
    """A scene for one case of a cohort, holding only that case's nodes.

    Standalone, a new scene with its module logics (:func:`create_standalone_scene`)
    is what :func:`get_scene` returns inside the block; when the block ends it is
    cleared and the scene before it returns. Inside Slicer the block works in
    ``slicer.mrmlScene``, and the nodes it added are removed when it ends. Either
    way, nodes of one case never meet another's, and a worker's memory does not grow
    with the cases it has run.

    Yields
    ------
    vtkMRMLScene
    """
    import slicer

    global _standalone
    current = getattr(slicer, "mrmlScene", None)
    if current is not None and (_standalone is None or current is not _standalone[0]):
        before = {current.GetNthNode(index).GetID() for index in range(current.GetNumberOfNodes())}
        try:
            yield current
        finally:
            added = [current.GetNthNode(index) for index in range(current.GetNumberOfNodes())]
            for node in added:
                if node.GetID() not in before and not node.GetSingletonTag():
                    current.RemoveNode(node)
        return
    previous, previous_modules = _standalone, getattr(slicer, "modules", None)
    _standalone = create_standalone_scene()
    slicer.mrmlScene = None  # get_scene installs the new one
    try:
        yield get_scene()
    finally:
        _standalone[0].Clear(True)
        _standalone = previous
        slicer.mrmlScene = None if previous is None else previous[0]
        slicer.modules = previous_modules


def create_standalone_scene():
    """A new scene with the module logics the Slicer application attaches to its own scene.

    Returns ``(scene, logics)``: ``logics`` maps ``"colors"``, ``"volumes"``,
    ``"segmentations"``, ``"markups"``, ``"tables"`` and ``"application"`` to the
    logic objects.

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
    """Silence VTK/ITK/Teem error and warning output; failures are reported as InputError instead.

    VTK's warning display is switched off, and what the libraries print themselves
    (VTK's logger, ITK exceptions, MetaIO notes) is discarded unless ``--debug``
    (:mod:`clinicalimaging.library_output`).
    """
    from vtkmodules.vtkCommonCore import vtkObject

    previous = vtkObject.GetGlobalWarningDisplay()
    vtkObject.GlobalWarningDisplayOff()
    try:
        with library_output_discarded():
            yield
    finally:
        vtkObject.SetGlobalWarningDisplay(previous)
