"""Organ Detect: one box per abdominal organ found in a CT or MR volume by a 2-D detection network.

The panel, its parameter node and a thin logic. The network runs out of process
(``PythonSlicer -m clinicalimaging detect ...``, see :mod:`clinicalimaging.slicer_process`),
so TensorFlow's libraries and GPU memory stay out of Slicer; the boxes come back as a
table file, from which the ROI nodes and the table node are built here. Loading this
file needs nothing beyond a stock Slicer: Keras and TensorFlow are installed on first
use, after asking, and imported only by the child process.
"""

import logging
import sys
import time
from pathlib import Path
from typing import Annotated, Optional, Union

import vtk

import slicer
from slicer import (
    vtkMRMLLabelMapVolumeNode,
    vtkMRMLMarkupsROINode,
    vtkMRMLScalarVolumeNode,
    vtkMRMLSegmentationNode,
    vtkMRMLTableNode,
)
from slicer.i18n import tr as _
from slicer.i18n import translate
from slicer.parameterNodeWrapper import Choice, WithinRange, parameterNodeWrapper
from slicer.ScriptedLoadableModule import *
from slicer.util import VTKObservationMixin

from clinicalimaging import mrml
from clinicalimaging.errors import Cancelled, InputError
from clinicalimaging.slicer_chain import SEGMENT_MODULE, segment_organ_box, segment_organ_region
from clinicalimaging.slicer_dependencies import ensure_requirements
from clinicalimaging.slicer_process import run_cli
from clinicalimaging.slicer_progress import run_with_progress

#: The module's extra Python packages; one file per module, because an extension's modules share one Resources
#: folder once installed.
REQUIREMENTS = "Requirements/OrganDetect.txt"

#: The model shipped with the module (the command line's default model when absent here).
SHIPPED_MODEL = Path(__file__).resolve().parent / "Resources" / "Models" / "organ-detector.keras"
#: The views choice of the panel -> the command line's ``--views``.
VIEWS = {"automatic (three views on scans of 15 cm or more)": "auto", "axial, coronal and sagittal": "all",
         "axial only": "axial"}
DEFAULT_SCORE_THRESHOLD = 0.15
DEFAULT_EPOCHS = 30
#: Seconds between two repeats of the last progress report while the child is silent (Cancel is seen then).
CANCEL_POLL_S = 0.25
#: Node reference role from an ROI node to the volume it was detected in.
DETECTED_IN_REFERENCE = "ClinicalImaging.DetectedIn"


#
# OrganDetect
#


class OrganDetect(ScriptedLoadableModule):
    """Module description shown in Slicer's module selector and help panel."""

    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("Organ Detect")
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Segmentation")]
        self.parent.dependencies = []
        self.parent.contributors = ["The ClinicalImageAnalysis developers (ClinicalImageAnalysis project)"]
        self.parent.helpText = _("""
Finds abdominal organs (liver, spleen, kidneys, ...) in a CT or MR volume and gives one box per organ: a
Markups ROI named after the organ and a table of the boxes (RAS corners, centre, size in mm, score). A 2-D
detection network looks at the axial slices (and, by default, the coronal and sagittal ones too); the
per-slice boxes are fused into one 3-D box per organ. Re-running on the same volume updates the same ROIs.
<b>Segment this organ</b> segments the organ of the selected box without an outline (outline points found on
its cross-sections in the box seed Self-Paced Segment's segmentation), shows it, and opens Self-Paced Segment
with the volume, the segmentation, those points and the box, to refine or re-run it. <b>Train</b> fine-tunes
or trains a model on a volume and its label map or segmentation.
The network runs in a separate process; needs Slicer 5.10 or newer and installs Keras and TensorFlow on
first use, after asking (on Linux with the NVIDIA GPU libraries), and scikit-learn on the first organ segmented.
See the <a href="https://github.com/ClinicalImageAnalysis/SlicerClinicalImageAnalysis#organdetect">README</a>.
""")
        self.parent.acknowledgementText = _("""
Part of the ClinicalImageAnalysis extension. The detector is a VGG16-based single-shot box detector applied
to 2-D slices. Running the network out of process follows SlicerTotalSegmentator by Andras Lasso (PerkLab).
The module layout follows the 3D Slicer scripted module template by Jean-Christophe Fillion-Robin (Kitware),
Andras Lasso (PerkLab) and Steve Pieper (Isomics).
""")


#
# OrganDetectParameterNode
#


@parameterNodeWrapper
class OrganDetectParameterNode:
    """The panel's state, saved with the scene.

    inputVolume - The volume to search; never modified.
    modelPath - Keras model file; empty (".") means the model shipped with the module.
    organs - Comma-separated class names to report; empty means every class of the model.
    scoreThreshold - Lowest score (0-1) of a reported organ.
    views - Which slice views the network looks at (a key of VIEWS).
    outputTable - Receives one row per organ; None creates a new table on Apply.
    organRoi - The organ box (Markups ROI) whose organ "Segment this organ" segments.
    trainingVolume, trainingLabels - Training image and its label map or segmentation.
    epochs - Passes over the training slices.
    startFromModel - Fine-tune the selected (or shipped) model instead of starting from ImageNet weights.
    outputModelPath - Where Train writes the new model (.keras).
    """

    inputVolume: vtkMRMLScalarVolumeNode
    modelPath: Path
    organs: str
    # Decimals and step come from the .ui (Slicer warns about GUI annotations on a member: "Unused annotations").
    scoreThreshold: Annotated[float, WithinRange(0.0, 1.0)] = DEFAULT_SCORE_THRESHOLD
    views: Annotated[str, Choice(list(VIEWS))] = next(iter(VIEWS))
    outputTable: vtkMRMLTableNode
    organRoi: vtkMRMLMarkupsROINode
    trainingVolume: vtkMRMLScalarVolumeNode
    # Slicer's node selector needs concrete classes (it instantiates each to read its name); None: not chosen.
    trainingLabels: Optional[Union[vtkMRMLLabelMapVolumeNode, vtkMRMLSegmentationNode]]
    epochs: Annotated[int, WithinRange(1, 10000)] = DEFAULT_EPOCHS
    startFromModel: bool = True
    outputModelPath: Path


def _givenPath(path) -> Optional[Path]:
    """A path the user gave, or None for an empty path line edit (which the parameter node stores as ".")."""
    if path is None or str(path).strip() in ("", "."):
        return None
    return Path(path)


#
# OrganDetectWidget
#


class OrganDetectWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    """The module panel: binds the .ui to the parameter node and runs the logic with a progress dialog."""

    def __init__(self, parent=None) -> None:
        """Called when the user opens the module the first time and the widget is initialized."""
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)  # needed for parameter node observation
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None

    def setup(self) -> None:
        """Called when the user opens the module the first time and the widget is initialized."""
        ScriptedLoadableModuleWidget.setup(self)

        uiWidget = slicer.util.loadUI(self.resourcePath("UI/OrganDetect.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)

        # The .ui connects the root's mrmlSceneChanged(vtkMRMLScene*) to each MRML widget's setMRMLScene.
        uiWidget.setMRMLScene(slicer.mrmlScene)

        self.logic = OrganDetectLogic()

        # These connections ensure that we update parameter node when scene is closed
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)

        self.ui.applyButton.connect("clicked(bool)", self.onApplyButton)
        self.ui.trainButton.connect("clicked(bool)", self.onTrainButton)
        self.ui.segmentOrganButton.connect("clicked(bool)", self.onSegmentOrganButton)

        # Make sure parameter node is initialized (needed for module reload)
        self.initializeParameterNode()

    def cleanup(self) -> None:
        """Called when the application closes and the module widget is destroyed."""
        self.removeObservers()

    def enter(self) -> None:
        """Called each time the user opens this module."""
        self.initializeParameterNode()

    def exit(self) -> None:
        """Called each time the user opens a different module."""
        # Do not react to parameter node changes (GUI will be updated when the user enters into the module)
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._checkCanApply)

    def onSceneStartClose(self, caller, event) -> None:
        """Called just before the scene is closed."""
        self.setParameterNode(None)

    def onSceneEndClose(self, caller, event) -> None:
        """Called just after the scene is closed."""
        if self.parent.isEntered:
            self.initializeParameterNode()

    def onReload(self) -> None:
        """Developer mode: re-import the shared package from disk, then reload this module.

        The package's modules are dropped from ``sys.modules`` so that every
        ``from ... import`` inside the package is bound to the fresh code.
        """
        for name in [name for name in sys.modules if name.split(".")[0] == "clinicalimaging"]:
            del sys.modules[name]
        super().onReload()

    def initializeParameterNode(self) -> None:
        """Ensure parameter node exists and observed."""
        self.setParameterNode(self.logic.getParameterNode())

        # Select default input nodes if nothing is selected yet to save a few clicks for the user
        if not self._parameterNode.inputVolume:
            firstVolumeNode = slicer.mrmlScene.GetFirstNodeByClass("vtkMRMLScalarVolumeNode")
            if firstVolumeNode:
                self._parameterNode.inputVolume = firstVolumeNode

    def setParameterNode(self, inputParameterNode: OrganDetectParameterNode | None) -> None:
        """Set and observe parameter node.

        Observation is needed because when the parameter node is changed then the GUI must be updated immediately.
        """
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._checkCanApply)
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            # Each bound widget of the .ui carries a "SlicerParameterName" dynamic property.
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._checkCanApply)
            self._checkCanApply()

    def _checkCanApply(self, caller=None, event=None) -> None:
        """Enable Apply once an input volume is chosen, Train once its image, labels and output file are."""
        parameterNode = self._parameterNode
        if parameterNode and parameterNode.inputVolume:
            self.ui.applyButton.toolTip = _("Detect the organs in the input volume")
            self.ui.applyButton.enabled = True
        else:
            self.ui.applyButton.toolTip = _("Select an input volume")
            self.ui.applyButton.enabled = False

        canSegment = bool(parameterNode and parameterNode.organRoi and self._organVolume(parameterNode.organRoi))
        self.ui.segmentOrganButton.toolTip = (
            _("Segment the organ of this box, then open Self-Paced Segment to refine or re-run it")
            if canSegment else _("Select an organ box (Apply makes one per organ found) and its input volume"))
        self.ui.segmentOrganButton.enabled = canSegment

        if not (parameterNode and parameterNode.trainingVolume and parameterNode.trainingLabels):
            self.ui.trainButton.toolTip = _("Select a training volume and its label map or segmentation")
            self.ui.trainButton.enabled = False
        elif _givenPath(parameterNode.outputModelPath) is None:
            self.ui.trainButton.toolTip = _("Choose the file for the new model (.keras)")
            self.ui.trainButton.enabled = False
        else:
            self.ui.trainButton.toolTip = _("Train a model on the training volume and its labels")
            self.ui.trainButton.enabled = True

    def _model(self) -> Optional[str]:
        """The model file the user chose, else the module's shipped model (None: the command line's default)."""
        model = _givenPath(self._parameterNode.modelPath)
        if model is not None:
            return str(model)
        shipped = Path(self.resourcePath("Models/organ-detector.keras"))
        return str(shipped) if shipped.is_file() else None

    def _showDevice(self, device) -> None:
        self.ui.deviceLabel.text = (_("Network ran on: {device}").format(device=device) if device
                                    else _("Network ran on: (not reported)"))

    def onApplyButton(self) -> None:
        """Detect the organs; ROIs are created or updated, and a new table is created when none is selected."""
        if not ensure_requirements(self.resourcePath(REQUIREMENTS), requester="OrganDetect"):
            return
        parameterNode = self._parameterNode
        result = run_with_progress(
            lambda progress: self.logic.process(
                parameterNode.inputVolume,
                parameterNode.outputTable,
                model=self._model(),
                organs=parameterNode.organs,
                scoreThreshold=parameterNode.scoreThreshold,
                views=VIEWS[parameterNode.views],
                progress=progress,
            ),
            title=_("Organ Detect"),
            failure_message=_("Failed to detect the organs."),
        )
        if result is not None:
            roiNodes, tableNode, device = result
            parameterNode.outputTable = tableNode
            if roiNodes and parameterNode.organRoi not in roiNodes:
                parameterNode.organRoi = roiNodes[0]  # one click less for "Segment this organ"
            self._showDevice(device)
            if self.logic.notes:
                self.ui.deviceLabel.text += "\n" + "\n".join(self.logic.notes)
                if not roiNodes:
                    slicer.util.warningDisplay(self.logic.notes[0], windowTitle=_("Organ Detect"))

    def _organVolume(self, roiNode):
        """The volume an organ box was found in (its reference), else the panel's input volume."""
        return roiNode.GetNodeReference(DETECTED_IN_REFERENCE) or self._parameterNode.inputVolume

    def onSegmentOrganButton(self) -> None:
        """Segment the organ of the selected box and show it, then open Self-Paced Segment on the result.

        Self-Paced Segment's requirements (scikit-learn) are installed first, after asking, as its own Apply
        does. Self-Paced Segment gets the volume, the segmentation, the outline points it started from and
        the box (its input, output, outline and region), so that its Apply re-runs it and Refine updates it.
        """
        segmentRequirements = (Path(slicer.util.modulePath(SEGMENT_MODULE)).parent / "Resources" / "Requirements"
                               / f"{SEGMENT_MODULE}.txt")
        if not ensure_requirements(segmentRequirements, requester="OrganDetect"):
            return
        roiNode = self._parameterNode.organRoi
        volumeNode = self._organVolume(roiNode) if roiNode else None

        def segmentAndHandOver(progress):
            segmentationNode = self.logic.segmentOrgan(volumeNode, roiNode, progress=progress)
            segment_organ_region(slicer.mrmlScene, roiNode.GetID(), volumeNode.GetID(), segmentationNode.GetID())
            return segmentationNode

        if run_with_progress(segmentAndHandOver, title=_("Organ Detect: segment the organ"),
                             failure_message=_("Failed to segment the organ.")) is not None:
            slicer.util.selectModule(SEGMENT_MODULE)

    def onTrainButton(self) -> None:
        """Train a model on the training volume and its labels; the new model becomes the selected one."""
        if not ensure_requirements(self.resourcePath(REQUIREMENTS), requester="OrganDetect"):
            return
        parameterNode = self._parameterNode
        result = run_with_progress(
            lambda progress: self.logic.train(
                parameterNode.trainingVolume,
                parameterNode.trainingLabels,
                _givenPath(parameterNode.outputModelPath),
                epochs=parameterNode.epochs,
                initialModel=self._model() if parameterNode.startFromModel else None,
                organs=parameterNode.organs,
                progress=progress,
            ),
            title=_("Organ Detect: train"),
            failure_message=_("Failed to train the model."),
        )
        if result is not None:
            modelPath, device = result
            parameterNode.modelPath = Path(modelPath)
            self._showDevice(device)


#
# OrganDetectLogic
#


class OrganDetectLogic(ScriptedLoadableModuleLogic):
    """Organ detection, training and organ segmentation on MRML nodes, usable without the panel (Python console).

    The network runs in a child process (:func:`clinicalimaging.slicer_process.run_cli`), the segmentation in
    Slicer's process: bad input raises :class:`~clinicalimaging.errors.InputError` (a ``ValueError``; also
    when Keras or TensorFlow is missing), a progress callback returning False raises
    :class:`~clinicalimaging.errors.Cancelled` (the child is stopped), and either leaves
    every node as it was.
    """

    def __init__(self) -> None:
        """Called when the logic class is instantiated. Can be used for initializing member variables."""
        ScriptedLoadableModuleLogic.__init__(self)
        #: What the last :meth:`process` has to say beside its nodes: no organ found (the scan may be out of the
        #: model's scope), an experimental lesion probability.
        self.notes = []

    def getParameterNode(self):
        """The module's singleton parameter node in the scene."""
        return OrganDetectParameterNode(super().getParameterNode())

    @staticmethod
    def defaultModel() -> Optional[str]:
        """The model shipped with the module, or None when the module has none (the command line's default is used)."""
        return str(SHIPPED_MODEL) if SHIPPED_MODEL.is_file() else None

    def process(self, inputVolume, outputTable=None, model=None, organs=None, scoreThreshold=DEFAULT_SCORE_THRESHOLD,
                views="auto", progress=None, cancelled=None, showResult: bool = True):
        """Detect organs: one Markups ROI per organ found and a table of the boxes.

        :param inputVolume: vtkMRMLScalarVolumeNode (CT in HU or MR); never modified.
        :param outputTable: vtkMRMLTableNode for the boxes, or None to create one.
        :param model: Keras model file, or None for :meth:`defaultModel`.
        :param organs: class names to report (a list or a comma-separated string); None or empty: every class.
        :param scoreThreshold: lowest score in [0, 1] of a reported organ.
        :param views: "auto" (three views on scans of 15 cm or more, else axial), "all" (axial, coronal and
            sagittal slices) or "axial".
        :param progress: optional ``progress(fraction, message)``; returning False cancels.
        :param cancelled: optional ``cancelled() -> bool``, asked while the network runs; True cancels.
        :param showResult: show the input, the ROIs and the table.
        :return: ``(roiNodes, tableNode, device)``: the ROI nodes (one per organ found, named after it; an ROI
            this module made for the same organ and input volume is updated, not duplicated), the table node
            (one row per organ) and the device that ran the network (text, or None when not reported).
            ROIs of this input for organs not found this time are hidden. :attr:`notes` says why nothing was
            found, or that the lesion probability is experimental.
        """
        arguments = self._detectArguments(inputVolume, model, organs, scoreThreshold, views)
        # Keras-free; imported here so that loading the module file stays light.
        from clinicalimaging.detect.model_files import default_model_path, read_metadata
        from clinicalimaging.detect.model_scope import out_of_scope_message
        from clinicalimaging.detect.nodes_output import (EXPERIMENTAL_GRADE_NOTE, boxes_from_table_file,
                                                         detection_table, roi_nodes_from_boxes)

        startTime = time.time()
        logging.info("Organ detection started")
        with mrml.temporary_folder() as folder:
            _report(progress, 0.0, _("Writing the input volume"))
            inputFile = folder / "input.nrrd"
            mrml.write_volume(inputVolume, inputFile)
            tableFile = folder / "organs.csv"
            completed = self._runCli(["detect", inputFile, folder / "organs.mrk.json", "--table", tableFile,
                                      *arguments], progress, cancelled, 0.05, 0.95)
            boxes = boxes_from_table_file(tableFile)
        _report(progress, 0.95, _("Creating the ROIs and the table"))
        scene = inputVolume.GetScene()
        existing = self.detectedRoiNodes(inputVolume)
        roiNodes = roi_nodes_from_boxes(boxes, scene=scene, replace=existing)
        for roiNode in roiNodes:
            roiNode.SetNodeReferenceID(DETECTED_IN_REFERENCE, inputVolume.GetID())
            roiNode.GetDisplayNode().SetVisibility(True)  # it may have been hidden by an earlier run
        found = {box.organ for box in boxes}
        for organ, roiNode in existing.items():
            if organ not in found and roiNode.GetDisplayNode() is not None:
                roiNode.GetDisplayNode().SetVisibility(False)
        tableNode = detection_table(boxes, scene=scene, node=outputTable)
        self.notes = []
        if not boxes:
            metadata = read_metadata(model or self.defaultModel() or default_model_path())
            self.notes.append(out_of_scope_message(float(scoreThreshold), metadata))
        elif any(box.grade_experimental for box in boxes):
            self.notes.append(_("Lesion probability (grade): {note}").format(note=EXPERIMENTAL_GRADE_NOTE))
        _report(progress, 1.0, _("Done"))
        logging.info(f"Organ detection completed in {time.time() - startTime:.2f} seconds: {len(boxes)} organs "
                     f"on {completed.device or 'an unreported device'}")
        if showResult:
            slicer.util.setSliceViewerLayers(background=inputVolume, fit=True)
            self._showTable(tableNode)
        return roiNodes, tableNode, completed.device

    def segmentOrgan(self, inputVolume, organRoi, progress=None, showResult: bool = True):
        """Segment the organ of a box without an outline (:func:`clinicalimaging.slicer_chain.segment_organ_box`).

        Needs scikit-learn (Self-Paced Segment's requirement).

        :param inputVolume: vtkMRMLScalarVolumeNode the box was found in; never modified.
        :param organRoi: vtkMRMLMarkupsROINode, the organ's box; the organ is the one Apply found there (else the
            node's name).
        :param progress: optional ``progress(fraction, message)``; returning False cancels.
        :param showResult: show the volume and the slices through the box's centre.
        :return: a new vtkMRMLSegmentationNode with one segment named after the organ, on the volume's grid.
        """
        startTime = time.time()
        segmentationNode = segment_organ_box(inputVolume, organRoi, progress=progress)
        logging.info(f"Organ segmentation of '{organRoi.GetName()}' completed in {time.time() - startTime:.2f} "
                     "seconds")
        if showResult:
            slicer.util.setSliceViewerLayers(background=inputVolume)
            center = [0.0, 0.0, 0.0]
            organRoi.GetCenterWorld(center)
            slicer.modules.markups.logic().JumpSlicesToLocation(*center, True)
        return segmentationNode

    def train(self, trainingVolume, trainingLabels, outputModel, *, epochs=DEFAULT_EPOCHS, initialModel=None,
              organs=None, progress=None, cancelled=None):
        """Train a detection model on one volume and its labels, written to a .keras file.

        :param trainingVolume: vtkMRMLScalarVolumeNode; never modified.
        :param trainingLabels: vtkMRMLLabelMapVolumeNode (organ names from its colour table) or
            vtkMRMLSegmentationNode (organ names from its segment names); never modified.
        :param outputModel: path of the new model (.keras); replaced only once training succeeded.
        :param epochs: passes over the training slices (at least 1).
        :param initialModel: model file to start from (fine-tuning), or None to start from ImageNet weights.
        :param organs: class names to train (a list or a comma-separated string); None or empty: every label.
        :param progress: optional ``progress(fraction, message)``; returning False cancels.
        :param cancelled: optional ``cancelled() -> bool``; True cancels.
        :return: ``(modelPath, device)``: the written model file (str) and the device that ran the training.
        """
        if trainingVolume is None:
            raise InputError("No training volume: select the volume the model learns from.")
        if trainingLabels is None:
            raise InputError("No training labels: select a label map or a segmentation of the training volume.")
        if outputModel is None or not str(outputModel).strip() or Path(outputModel).suffix.lower() != ".keras":
            raise InputError(f"The new model's file must end in .keras; got '{outputModel or ''}'.")
        if int(epochs) < 1:
            raise InputError(f"Epochs must be at least 1; got {epochs}.")
        arguments = ["--out", Path(outputModel), "--epochs", str(int(epochs))]
        if initialModel:
            arguments += ["--init", self._existingModel(initialModel)]
        organList = _organList(organs)
        if organList:
            arguments += ["--organs", ",".join(organList)]
        with mrml.temporary_folder() as folder:
            _report(progress, 0.0, _("Writing the training volume and labels"))
            imageFile = folder / "image.nrrd"
            mrml.write_volume(trainingVolume, imageFile)
            labelFile = folder / "labels.seg.nrrd"
            _writeLabelsAsSegmentation(trainingLabels, labelFile)
            completed = self._runCli(["train-detector", "--images", imageFile, "--labels", labelFile, *arguments],
                                     progress, cancelled, 0.05, 1.0)
        return str(outputModel), completed.device

    def detectedRoiNodes(self, inputVolume) -> dict:
        """``{organ: ROI node}`` of the ROIs this module made for ``inputVolume`` (by attribute and reference)."""
        from clinicalimaging.detect.nodes_output import ORGAN_ATTRIBUTE

        scene = inputVolume.GetScene()
        found = {}
        if scene is None:
            return found
        for index in range(scene.GetNumberOfNodesByClass("vtkMRMLMarkupsROINode")):
            node = scene.GetNthNodeByClass(index, "vtkMRMLMarkupsROINode")
            organ = node.GetAttribute(ORGAN_ATTRIBUTE)
            if organ and node.GetNodeReferenceID(DETECTED_IN_REFERENCE) == inputVolume.GetID():
                found.setdefault(organ, node)
        return found

    def _detectArguments(self, inputVolume, model, organs, scoreThreshold, views):
        """The options of ``detect``; raises InputError for bad values before anything runs."""
        if inputVolume is None:
            raise InputError("No input volume: select the CT or MR volume to search for organs.")
        try:
            scoreThreshold = float(scoreThreshold)
        except (TypeError, ValueError):
            raise InputError(f"The score threshold must be a number between 0 and 1; got {scoreThreshold!r}.") from None
        if not 0.0 <= scoreThreshold <= 1.0:
            raise InputError(f"The score threshold must be between 0 and 1; got {scoreThreshold}.")
        if views not in VIEWS.values():
            raise InputError(f"Views must be one of {sorted(VIEWS.values())}; got {views!r}.")
        arguments = ["--score-threshold", repr(scoreThreshold), "--views", views]
        model = model or self.defaultModel()
        if model:
            arguments += ["--model", self._existingModel(model)]
        organList = _organList(organs)
        if organList:
            arguments += ["--organs", ",".join(organList)]
        return arguments

    @staticmethod
    def _existingModel(model) -> str:
        path = Path(model)
        if not path.is_file():
            raise InputError(f"Model file '{path}' does not exist. Choose a .keras model file, or leave the model "
                             "empty for the model shipped with the module.")
        return str(path)

    @staticmethod
    def _runCli(arguments, progress, cancelled, start, stop):
        """Run a command out of process; its progress maps onto ``[start, stop]`` of ``progress``.

        While the child runs, Slicer's events are processed, and between the child's lines
        the last progress report is repeated every :data:`CANCEL_POLL_S` seconds, so that a
        progress dialog's Cancel button is seen while the network loads or works on a batch.
        """
        last = {"report": (start, _("Starting the network")), "at": time.monotonic()}

        def scaled(fraction, message):
            last["report"], last["at"] = (start + (stop - start) * fraction, message), time.monotonic()
            return None if progress is None else progress(*last["report"])

        def wantsCancel():
            if cancelled is not None and cancelled():
                return True
            if progress is None or time.monotonic() - last["at"] < CANCEL_POLL_S:
                return False
            last["at"] = time.monotonic()
            return progress(*last["report"]) is False

        processEvents = getattr(getattr(slicer, "app", None), "processEvents", None)
        return run_cli(arguments, progress=scaled, cancelled=wantsCancel, process_events=processEvents)

    def _showTable(self, tableNode) -> None:
        """Show the table in a layout with a table view (no-op without a main window)."""
        layoutManager = slicer.app.layoutManager()
        if layoutManager is None:
            return
        layoutManager.setLayout(slicer.vtkMRMLLayoutNode.SlicerLayoutFourUpTableView)
        applicationLogic = slicer.app.applicationLogic()
        applicationLogic.GetSelectionNode().SetActiveTableID(tableNode.GetID())
        applicationLogic.PropagateTableSelection()


def _report(progress, fraction, message):
    """One progress report; a False answer raises Cancelled."""
    if progress is not None and progress(fraction, message) is False:
        raise Cancelled(message)


def _organList(organs) -> list:
    """Class names from a list or a comma-separated string, blanks dropped."""
    if not organs:
        return []
    items = organs.split(",") if isinstance(organs, str) else list(organs)
    return [str(item).strip() for item in items if str(item).strip()]


def _writeLabelsAsSegmentation(labelsNode, path) -> None:
    """Write a segmentation, or a label map as one (segment names from its colour table), to a .seg.nrrd file.

    A label map goes through a temporary segmentation node, removed again; the input node is not changed.
    """
    if labelsNode.IsA("vtkMRMLSegmentationNode"):
        mrml.write_segmentation(labelsNode, path)
        return
    scene = labelsNode.GetScene()
    segmentationNode = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "OrganDetect training labels")
    try:
        if not slicer.modules.segmentations.logic().ImportLabelmapToSegmentationNode(labelsNode, segmentationNode):
            raise InputError(f"The label map '{labelsNode.GetName()}' could not be turned into a segmentation.")
        if segmentationNode.GetSegmentation().GetNumberOfSegments() == 0:
            raise InputError(f"The label map '{labelsNode.GetName()}' is empty: it labels no organ.")
        mrml.write_segmentation(segmentationNode, path)
    finally:
        scene.RemoveNode(segmentationNode)


#
# OrganDetectTest
#


class OrganDetectTest(ScriptedLoadableModuleTest):
    """Self-test on a synthetic phantom (no download); run by Reload & Test and by ctest py_OrganDetect.

    What runs without Keras and TensorFlow is tested everywhere: the module's files, the
    parameter defaults, input checks, a cancel while the child process starts, and the
    message a run gives when the packages are missing. Where they are installed, the
    detection itself runs on the phantom instead of the missing-package check.
    """

    def setUp(self):
        """Start from an empty scene."""
        slicer.mrmlScene.Clear()

    def runTest(self):
        """Run every test on a fresh scene."""
        for test in (self.test_ModuleFiles, self.test_BadInput, self.test_CancelChangesNothing,
                     self.test_DetectPhantom, self.test_TrainBadInput):
            self.setUp()
            test()

    def _phantomVolume(self):
        from clinicalimaging.phantom import make_phantom
        from clinicalimaging.phantom_nodes import phantom_volume

        phantom = make_phantom("ct", shape=(16, 64, 64), spacing=(5.0, 1.5, 1.5))
        volumeNode, labelNode = phantom_volume(phantom, scene=slicer.mrmlScene, name="phantom")
        return volumeNode, labelNode

    def _outputCounts(self):
        return (slicer.mrmlScene.GetNumberOfNodesByClass("vtkMRMLMarkupsROINode"),
                slicer.mrmlScene.GetNumberOfNodesByClass("vtkMRMLTableNode"))

    @staticmethod
    def _temporaryFolders():
        import tempfile

        return {path.name for path in Path(tempfile.gettempdir()).glob(".clinicalimaging-*")}

    @staticmethod
    def _detectionInstalled():
        import importlib.util

        return all(importlib.util.find_spec(name) is not None for name in ("keras", "tensorflow"))

    def test_ModuleFiles(self):
        """The .ui and requirements ship with the module; the requirements name Keras and TensorFlow, no core package."""
        import re

        moduleFolder = Path(__file__).resolve().parent
        self.assertTrue((moduleFolder / "Resources" / "UI" / "OrganDetect.ui").is_file())
        text = (moduleFolder / "Resources" / "Requirements" / "OrganDetect.txt").read_text(encoding="utf-8")
        names = {re.match(r"[A-Za-z0-9._-]+", line).group(0).lower()
                 for line in (line.split("#")[0].strip() for line in text.splitlines()) if line}
        self.assertEqual(names, {"keras", "tensorflow"})
        parameterNode = OrganDetectLogic().getParameterNode()
        self.assertAlmostEqual(parameterNode.scoreThreshold, DEFAULT_SCORE_THRESHOLD)
        self.assertEqual(VIEWS[parameterNode.views], "auto")
        self.assertIsNone(_givenPath(parameterNode.modelPath))
        self.assertEqual(_organList(" liver, ,spleen "), ["liver", "spleen"])

    def test_BadInput(self):
        """No input, a threshold outside [0, 1], unknown views, a missing model: InputError, nothing created."""
        volumeNode, _labelNode = self._phantomVolume()
        before = self._outputCounts()
        logic = OrganDetectLogic()
        for arguments in ({"inputVolume": None}, {"inputVolume": volumeNode, "scoreThreshold": 1.5},
                          {"inputVolume": volumeNode, "views": "coronal"},
                          {"inputVolume": volumeNode, "model": "/no/such/model.keras"}):
            with self.assertRaises(InputError):
                logic.process(showResult=False, **arguments)
        self.assertTrue(issubclass(InputError, ValueError))
        self.assertEqual(self._outputCounts(), before)

    def test_CancelChangesNothing(self):
        """A cancel as the child starts stops it: Cancelled, no node, no temporary folder left."""
        volumeNode, _labelNode = self._phantomVolume()
        before, foldersBefore = self._outputCounts(), self._temporaryFolders()
        reports = []
        with self.assertRaises(Cancelled):
            OrganDetectLogic().process(volumeNode, progress=lambda fraction, message: reports.append(message),
                                       cancelled=lambda: True, showResult=False)
        self.assertEqual(len(reports), 1)  # writing the input; the child was stopped before it reported
        self.assertEqual(self._outputCounts(), before)
        self.assertEqual(self._temporaryFolders() - foldersBefore, set())

    def test_DetectPhantom(self):
        """With Keras: one named ROI per table row, updated in place on a re-run. Without: a message saying what to install."""
        volumeNode, _labelNode = self._phantomVolume()
        inputBefore = slicer.util.arrayFromVolume(volumeNode).copy()
        before = self._outputCounts()
        logic = OrganDetectLogic()
        if not self._detectionInstalled():
            from clinicalimaging.detect.model_files import default_model_path

            self.delayDisplay("Keras/TensorFlow not installed: checking the message")
            with self.assertRaises(InputError) as raised:
                logic.process(volumeNode, scoreThreshold=0.0, showResult=False)
            message = str(raised.exception)
            if logic.defaultModel() or default_model_path().is_file():
                self.assertIn("install", message.lower())  # the packages are what is missing
            else:  # a checkout without the trained model: the model is missing first
                self.assertIn("organ-detector.keras", message)
            self.assertEqual(self._outputCounts(), before)
            return
        self.delayDisplay("Detecting organs in a phantom")
        roiNodes, tableNode, device = logic.process(volumeNode, scoreThreshold=0.0, showResult=False)
        self.assertTrue(device)
        organs = [tableNode.GetTable().GetColumnByName("organ").GetValue(row)
                  for row in range(tableNode.GetNumberOfRows())]
        self.assertEqual(sorted(node.GetName() for node in roiNodes), sorted(organs))
        self.assertEqual(len(set(organs)), len(organs))
        for node in roiNodes:
            self.assertEqual(node.GetNodeReferenceID(DETECTED_IN_REFERENCE), volumeNode.GetID())
        ids = sorted(node.GetID() for node in roiNodes)
        roiNodes, tableAgain, _device = logic.process(volumeNode, tableNode, scoreThreshold=0.0, showResult=False)
        self.assertIs(tableAgain, tableNode)
        self.assertEqual(sorted(node.GetID() for node in roiNodes), ids)
        self.assertTrue((slicer.util.arrayFromVolume(volumeNode) == inputBefore).all())
        self.delayDisplay("Test passed")

    def test_TrainBadInput(self):
        """Training without labels, with a non-.keras output or zero epochs: InputError, no file written."""
        import tempfile

        volumeNode, labelNode = self._phantomVolume()
        with tempfile.TemporaryDirectory() as folder:
            output = Path(folder) / "model.keras"
            logic = OrganDetectLogic()
            for arguments in ({"trainingLabels": None, "outputModel": output},
                              {"trainingLabels": labelNode, "outputModel": Path(folder) / "model.h5"},
                              {"trainingLabels": labelNode, "outputModel": output, "epochs": 0},
                              {"trainingLabels": labelNode, "outputModel": output,
                               "initialModel": Path(folder) / "missing.keras"}):
                with self.assertRaises(InputError):
                    logic.train(volumeNode, **arguments)
            self.assertEqual(list(Path(folder).iterdir()), [])
