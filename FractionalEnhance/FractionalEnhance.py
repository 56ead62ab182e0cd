"""Fractional Enhance: variable-order fractional differential enhancement of a scalar volume.

The panel, its parameter node and a thin logic; the computation lives in the shared
package ``clinicalimaging`` (``clinicalimaging.enhance``), which also runs outside Slicer.
"""

import logging
import sys
import time

import vtk

import slicer
from slicer import vtkMRMLScalarVolumeNode, vtkMRMLSegmentationNode, vtkMRMLTableNode
from slicer.i18n import tr as _
from slicer.i18n import translate
from slicer.parameterNodeWrapper import parameterNodeWrapper
from slicer.ScriptedLoadableModule import *
from slicer.util import VTKObservationMixin

from clinicalimaging.enhance.nodes import (
    COMPARISON_CHART_REFERENCE,
    comparison_chart,
    comparison_table,
    enhance_volume,
    sweep_nodes,
)
from clinicalimaging.enhance.parameters import EnhanceParameters
from clinicalimaging.errors import Cancelled, InputError
from clinicalimaging.mrml import segment_mask
from clinicalimaging.slicer_chain import SEGMENT_MODULE, segment_enhanced_volume
from clinicalimaging.slicer_dependencies import ensure_requirements
from clinicalimaging.slicer_parameters import set_parameter_tooltips, stage_parameters, with_stage_parameters
from clinicalimaging.slicer_progress import run_with_progress

#: The module's extra Python packages; one file per module, because an extension's modules share one Resources
#: folder once installed.
REQUIREMENTS = "Requirements/FractionalEnhance.txt"

#
# FractionalEnhance
#


class FractionalEnhance(ScriptedLoadableModule):
    """Module description shown in Slicer's module selector and help panel."""

    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("Fractional Enhance")
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Filtering")]
        self.parent.dependencies = []
        self.parent.contributors = ["The ClinicalImageAnalysis developers (ClinicalImageAnalysis project)"]
        self.parent.helpText = _("""
Enhances a CT or MR volume with a variable-order fractional differential mask: the local fractal
dimension of each voxel's neighbourhood chooses the fractional order applied there.
<b>Adaptive</b> mode (the default) smooths tissue with negative orders and sharpens the edges that hold
at a coarser scale, such as a lesion's boundary;
<b>paper</b> mode is the published method (orders 0.45 to 0.85). Optional outputs: the order map and the
fractal dimension map. <b>Compare</b> measures contrast-to-noise ratio around a lesion segment for the
original, classic filters and both modes. <b>Segment the enhanced volume</b> opens Self-Paced Segment with the
result as its input. Needs Slicer 5.10 or newer.
See the <a href="https://github.com/ClinicalImageAnalysis/SlicerClinicalImageAnalysis#fractionalenhance">README</a>.
""")
        self.parent.acknowledgementText = _("""
Part of the ClinicalImageAnalysis extension. The module layout follows the 3D Slicer scripted module template
by Jean-Christophe Fillion-Robin (Kitware), Andras Lasso (PerkLab) and Steve Pieper (Isomics).
""")


#
# FractionalEnhanceParameterNode
#


@parameterNodeWrapper
@with_stage_parameters(EnhanceParameters)
class FractionalEnhanceParameterNode:
    """The panel's state, saved with the scene.

    inputVolume - The volume to enhance.
    outputVolume - Receives the enhanced volume; None creates a new volume on Apply.
    orderMapVolume, fractalMapVolume - Optional maps (fractional order, local fractal dimension).
    lesionSegmentation - Segmentation holding the lesion segment for Compare.
    comparisonTable - Receives the comparison; None creates a new table on Compare.
    The fields of EnhanceParameters (mode, mask, number_of_terms, ...) are added by with_stage_parameters.
    """

    inputVolume: vtkMRMLScalarVolumeNode
    outputVolume: vtkMRMLScalarVolumeNode
    orderMapVolume: vtkMRMLScalarVolumeNode
    fractalMapVolume: vtkMRMLScalarVolumeNode
    lesionSegmentation: vtkMRMLSegmentationNode
    comparisonTable: vtkMRMLTableNode

    def enhanceParameters(self) -> EnhanceParameters:
        """The stage parameters as a validated EnhanceParameters (raises InputError for inconsistent values)."""
        return stage_parameters(self, EnhanceParameters)


#
# FractionalEnhanceWidget
#


class FractionalEnhanceWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
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

        uiWidget = slicer.util.loadUI(self.resourcePath("UI/FractionalEnhance.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)

        # The .ui connects the root's mrmlSceneChanged(vtkMRMLScene*) to each MRML widget's setMRMLScene.
        uiWidget.setMRMLScene(slicer.mrmlScene)

        set_parameter_tooltips(uiWidget, EnhanceParameters)

        self.logic = FractionalEnhanceLogic()

        # These connections ensure that we update parameter node when scene is closed
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)

        self.ui.applyButton.connect("clicked(bool)", self.onApplyButton)
        self.ui.compareButton.connect("clicked(bool)", self.onCompareButton)
        self.ui.sweepButton.connect("clicked(bool)", self.onSweepButton)
        self.ui.segmentOutputButton.connect("clicked(bool)", self.onSegmentOutputButton)
        # The segment is not a parameter-node member (no binding exists for the segment selector).
        self.ui.segmentSelector.connect("currentSegmentChanged(QString)", self._checkCanApply)

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

        The package's modules are dropped from ``sys.modules`` rather than reloaded
        one by one, so that every ``from ... import`` inside the package is bound to
        the fresh code whatever the order of imports.
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

    def setParameterNode(self, inputParameterNode: FractionalEnhanceParameterNode | None) -> None:
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
        """Enable the buttons whose inputs are set, and the parameters that the chosen mode uses."""
        parameterNode = self._parameterNode
        if parameterNode and parameterNode.inputVolume:
            self.ui.applyButton.toolTip = _("Enhance the input volume")
            self.ui.applyButton.enabled = True
        else:
            self.ui.applyButton.toolTip = _("Select an input volume")
            self.ui.applyButton.enabled = False

        canSegment = bool(parameterNode and parameterNode.outputVolume
                          and parameterNode.outputVolume.GetImageData() is not None)
        self.ui.segmentOutputButton.toolTip = (
            _("Open Self-Paced Segment with the enhanced volume as its input volume (not enhanced again there)")
            if canSegment else _("Apply first: there is no enhanced volume yet"))
        self.ui.segmentOutputButton.enabled = canSegment

        canCompare = bool(parameterNode and parameterNode.inputVolume and self.ui.segmentSelector.currentSegmentID())
        self.ui.compareButton.toolTip = (_("Compare the enhancement methods around the lesion") if canCompare
                                         else _("Select an input volume and a lesion segment"))
        self.ui.sweepButton.toolTip = (_("Run every method over its strength: CNR kept at equal edge sharpness")
                                       if canCompare else _("Select an input volume and a lesion segment"))
        self.ui.compareButton.enabled = self.ui.sweepButton.enabled = canCompare

        adaptive = bool(parameterNode) and parameterNode.mode == "adaptive"
        fixedThresholds = not (adaptive and parameterNode.automatic_thresholds)
        self.ui.automaticThresholdsCheckBox.enabled = adaptive
        self.ui.orderAtLowDimensionSliderWidget.enabled = adaptive
        self.ui.orderAtHighDimensionSliderWidget.enabled = adaptive
        for widget in (self.ui.edgeOrderSliderWidget, self.ui.edgeScaleSliderWidget,
                       self.ui.edgeConsistencyLowSliderWidget, self.ui.edgeConsistencyHighSliderWidget,
                       self.ui.protectAirCheckBox):
            widget.enabled = adaptive
        self.ui.fractalDimensionLowSliderWidget.enabled = fixedThresholds
        self.ui.fractalDimensionHighSliderWidget.enabled = fixedThresholds

    def onApplyButton(self) -> None:
        """Enhance the input volume; a new output volume is created when none is selected."""
        if not ensure_requirements(self.resourcePath(REQUIREMENTS), requester="FractionalEnhance"):
            return
        parameterNode = self._parameterNode
        outputVolume = run_with_progress(
            lambda progress: self.logic.process(
                parameterNode.inputVolume,
                parameterNode.outputVolume,
                parameterNode.enhanceParameters(),
                orderMapVolume=parameterNode.orderMapVolume,
                fractalMapVolume=parameterNode.fractalMapVolume,
                progress=progress,
            ),
            title=_("Fractional Enhance"),
            failure_message=_("Failed to enhance the volume."),
        )
        if outputVolume is not None:
            parameterNode.outputVolume = outputVolume

    def onSegmentOutputButton(self) -> None:
        """Make the enhanced volume Self-Paced Segment's input, then open that module."""
        with slicer.util.tryWithErrorDisplay(_("Failed to open Self-Paced Segment."), waitCursor=True):
            outputVolume = self._parameterNode.outputVolume
            segment_enhanced_volume(slicer.mrmlScene, outputVolume.GetID() if outputVolume else None)
            slicer.util.selectModule(SEGMENT_MODULE)

    def onCompareButton(self) -> None:
        """Compare the enhancement methods around the selected lesion segment; show the table and a CNR chart."""
        if not ensure_requirements(self.resourcePath(REQUIREMENTS), requester="FractionalEnhance"):
            return
        parameterNode = self._parameterNode
        tableNode = run_with_progress(
            lambda progress: self.logic.compare(
                parameterNode.inputVolume,
                parameterNode.lesionSegmentation,
                self.ui.segmentSelector.currentSegmentID(),
                parameterNode.enhanceParameters(),
                tableNode=parameterNode.comparisonTable,
                progress=progress,
            ),
            title=_("Fractional Enhance: compare"),
            failure_message=_("Failed to compare the enhancement methods."),
        )
        if tableNode is not None:
            parameterNode.comparisonTable = tableNode

    def onSweepButton(self) -> None:
        """Run every method over its strength around the lesion segment; show the read-off table and the curves."""
        if not ensure_requirements(self.resourcePath(REQUIREMENTS), requester="FractionalEnhance"):
            return
        parameterNode = self._parameterNode
        run_with_progress(
            lambda progress: self.logic.sweep(
                parameterNode.inputVolume,
                parameterNode.lesionSegmentation,
                self.ui.segmentSelector.currentSegmentID(),
                parameterNode.enhanceParameters(),
                progress=progress,
            ),
            title=_("Fractional Enhance: strength sweep"),
            failure_message=_("Failed to sweep the enhancement methods."),
        )


#
# FractionalEnhanceLogic
#


class FractionalEnhanceLogic(ScriptedLoadableModuleLogic):
    """Enhancement and comparison on MRML nodes, usable without the panel (Python console, batch mode).

    A thin layer over :mod:`clinicalimaging.enhance`: bad input raises
    :class:`~clinicalimaging.errors.InputError` (a ``ValueError``), a progress
    callback returning False raises :class:`~clinicalimaging.errors.Cancelled`,
    and either leaves every node as it was.
    """

    def __init__(self) -> None:
        """Called when the logic class is instantiated. Can be used for initializing member variables."""
        ScriptedLoadableModuleLogic.__init__(self)

    def getParameterNode(self):
        """The module's singleton parameter node in the scene."""
        return FractionalEnhanceParameterNode(super().getParameterNode())

    def process(self, inputVolume, outputVolume, parameters=None, *, orderMapVolume=None, fractalMapVolume=None,
                progress=None, showResult: bool = True):
        """Enhance a scalar volume.

        :param inputVolume: vtkMRMLScalarVolumeNode to enhance; never modified.
        :param outputVolume: vtkMRMLScalarVolumeNode for the result, or None to create one.
        :param parameters: EnhanceParameters, a dict of its fields, or None for the defaults.
        :param orderMapVolume: optional vtkMRMLScalarVolumeNode for the fractional order map.
        :param fractalMapVolume: optional vtkMRMLScalarVolumeNode for the local fractal dimension map.
        :param progress: optional ``progress(fraction, message)``; returning False cancels.
        :param showResult: show the output in the slice views.
        :return: the output volume node (geometry of the input).
        """
        startTime = time.time()
        logging.info("Fractional enhancement started")
        outputVolume = enhance_volume(inputVolume, outputVolume, parameters, order_map_node=orderMapVolume,
                                      fractal_map_node=fractalMapVolume, progress=progress)
        logging.info(f"Fractional enhancement completed in {time.time() - startTime:.2f} seconds")
        if showResult:
            slicer.util.setSliceViewerLayers(background=outputVolume, fit=True)
        return outputVolume

    def compare(self, inputVolume, segmentationNode, segment, parameters=None, *, tableNode=None, progress=None,
                showResult: bool = True):
        """Compare the original, classic enhancements, paper mode and adaptive mode around a lesion.

        :param inputVolume: vtkMRMLScalarVolumeNode; never modified.
        :param segmentationNode: vtkMRMLSegmentationNode holding the lesion.
        :param segment: id or name of the lesion segment.
        :param parameters: EnhanceParameters, a dict of its fields, or None for the defaults.
        :param tableNode: vtkMRMLTableNode for the result, or None to create one.
        :param progress: optional ``progress(fraction, message)``; returning False cancels.
        :param showResult: show the table and a bar chart of CNR per method.
        :return: the table node, one row per method.
        """
        if inputVolume is None:
            raise InputError("No input volume: select the volume whose enhancements are compared.")
        if segmentationNode is None:
            raise InputError("No lesion segmentation: select a segmentation that outlines the lesion.")
        lesionMask = segment_mask(segmentationNode, segment, inputVolume)
        tableNode = comparison_table(inputVolume, lesionMask, parameters=parameters, table_node=tableNode,
                                     progress=progress)
        chartNode = comparison_chart(tableNode, title=_("Contrast-to-noise ratio around the lesion"),
                                     x_axis_title=_("Method"), y_axis_title=_("CNR"))
        if showResult:
            self._showComparison(tableNode, chartNode)
        return tableNode

    def sweep(self, inputVolume, segmentationNode, segment, parameters=None, *, progress=None,
              showResult: bool = True):
        """Run every method over its strength around a lesion: the trade-off of edge sharpness against CNR.

        :param inputVolume: vtkMRMLScalarVolumeNode; never modified.
        :param segmentationNode: vtkMRMLSegmentationNode holding the lesion.
        :param segment: id or name of the lesion segment.
        :param parameters: EnhanceParameters, a dict of its fields, or None for the defaults.
        :param progress: optional ``progress(fraction, message)``; returning False cancels.
        :param showResult: show the read-off table and the chart of the curves.
        :return: (read-off table node, curves table node, plot chart node).
        """
        if inputVolume is None:
            raise InputError("No input volume: select the volume whose enhancements are swept.")
        if segmentationNode is None:
            raise InputError("No lesion segmentation: select a segmentation that outlines the lesion.")
        lesionMask = segment_mask(segmentationNode, segment, inputVolume)
        readOffTable, curvesTable, chartNode = sweep_nodes(
            inputVolume, lesionMask, parameters=parameters, progress=progress,
            title=_("Edge sharpness against CNR, each method over its strength"),
            x_axis_title=_("Edge sharpness / original's"), y_axis_title=_("CNR / original's"))
        if showResult:
            self._showComparison(readOffTable, chartNode)
        return readOffTable, curvesTable, chartNode

    def _showComparison(self, tableNode, chartNode) -> None:
        """Show the table and the chart in a layout with table and plot views (no-op without a main window)."""
        layoutManager = slicer.app.layoutManager()
        if layoutManager is None:
            return
        layoutManager.setLayout(slicer.vtkMRMLLayoutNode.SlicerLayoutFourUpPlotTableView)
        applicationLogic = slicer.app.applicationLogic()
        applicationLogic.GetSelectionNode().SetActiveTableID(tableNode.GetID())
        applicationLogic.PropagateTableSelection()
        slicer.modules.plots.logic().ShowChartInLayout(chartNode)


#
# FractionalEnhanceTest
#


class FractionalEnhanceTest(ScriptedLoadableModuleTest):
    """Self-test on a synthetic phantom (no download); run by Reload & Test and by ctest py_FractionalEnhance."""

    def setUp(self):
        """Start from an empty scene."""
        slicer.mrmlScene.Clear()

    def runTest(self):
        """Run every test on a fresh scene."""
        for test in (self.test_EnhancePhantom, self.test_CancelChangesNothing, self.test_ComparePhantom,
                     self.test_SweepPhantom, self.test_BadInput):
            self.setUp()
            test()

    def _phantomVolume(self):
        """A small CT phantom (volume and label map nodes) in the scene."""
        from clinicalimaging.phantom import make_phantom
        from clinicalimaging.phantom_nodes import phantom_volume

        phantom = make_phantom("ct", shape=(8, 64, 64), oblique=True)
        volumeNode, labelNode = phantom_volume(phantom, scene=slicer.mrmlScene, name="phantom")
        return phantom, volumeNode, labelNode

    def assertSameGeometry(self, node, referenceNode):
        """Same voxel grid: dimensions and IJK-to-RAS matrix (spacing, origin, directions)."""
        from clinicalimaging.mrml import ijk_to_ras

        self.assertEqual(node.GetImageData().GetDimensions(), referenceNode.GetImageData().GetDimensions())
        self.assertLess(abs(ijk_to_ras(node) - ijk_to_ras(referenceNode)).max(), 1e-9)

    def test_EnhancePhantom(self):
        """Both modes: geometry kept, voxels changed, order map as the array-level core computes it, input intact."""
        from clinicalimaging.enhance import fractional_enhance
        from clinicalimaging.enhance.order_map import PAPER_HIGHEST_ORDER, PAPER_LOWEST_ORDER
        from clinicalimaging.mrml import spacing_kji

        self.delayDisplay("Enhancing a phantom")
        _phantom, inputVolume, _labels = self._phantomVolume()
        inputBefore = slicer.util.arrayFromVolume(inputVolume).copy()
        logic = FractionalEnhanceLogic()
        for mode in ("adaptive", "paper"):
            parameters = EnhanceParameters(mode=mode)
            orderMap = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", f"order map {mode}")
            fractalMap = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", f"fractal map {mode}")
            outputVolume = logic.process(inputVolume, None, parameters.to_dict(), orderMapVolume=orderMap,
                                         fractalMapVolume=fractalMap)

            for node in (outputVolume, orderMap, fractalMap):
                self.assertSameGeometry(node, inputVolume)
            self.assertTrue((slicer.util.arrayFromVolume(outputVolume) != inputBefore).any())
            orders = slicer.util.arrayFromVolume(orderMap)
            expected = fractional_enhance(inputBefore, spacing_kji(inputVolume), parameters).order_map
            self.assertLess(abs(orders - expected).max(), 1e-6)
            if mode == "paper":
                self.assertGreaterEqual(orders.min(), PAPER_LOWEST_ORDER - 1e-6)  # eq. (1)
                self.assertLessEqual(orders.max(), PAPER_HIGHEST_ORDER + 1e-6)
        self.assertTrue((slicer.util.arrayFromVolume(inputVolume) == inputBefore).all())
        self.delayDisplay("Test passed")

    def test_CancelChangesNothing(self):
        """A cancelled run creates no node and leaves the chosen output empty."""
        _phantom, inputVolume, _labels = self._phantomVolume()
        outputVolume = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "output")
        volumesBefore = slicer.mrmlScene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode")
        logic = FractionalEnhanceLogic()
        with self.assertRaises(Cancelled):
            logic.process(inputVolume, outputVolume, progress=lambda fraction, message: False, showResult=False)
        with self.assertRaises(Cancelled):
            logic.process(inputVolume, None, progress=lambda fraction, message: False, showResult=False)
        self.assertIsNone(outputVolume.GetImageData())
        self.assertEqual(slicer.mrmlScene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode"), volumesBefore)

    def test_ComparePhantom(self):
        """Compare around the phantom's lesion: one row per method, a CNR value for each, and a chart."""
        from clinicalimaging.enhance.baselines import BASELINES

        self.delayDisplay("Comparing enhancement methods")
        inputVolume, segmentationNode = self._phantomWithLesionSegment()

        tableNode = FractionalEnhanceLogic().compare(inputVolume, segmentationNode, "lesion")

        methodColumn = tableNode.GetTable().GetColumnByName("method")
        methods = [methodColumn.GetValue(row) for row in range(tableNode.GetNumberOfRows())]
        self.assertEqual(len(methods), 1 + len(BASELINES) + 2)  # the original, the baselines, paper and adaptive
        self.assertEqual(len(set(methods)), len(methods))
        cnr = slicer.util.arrayFromTableColumn(tableNode, "cnr")
        self.assertEqual(len(cnr), len(methods))
        chartNode = tableNode.GetNodeReference(COMPARISON_CHART_REFERENCE)
        self.assertEqual(chartNode.GetNthPlotSeriesNode(0).GetYColumnName(), "cnr")
        self.delayDisplay("Test passed")

    def test_SweepPhantom(self):
        """The strength sweep: a read-off row and a chart series per method, the curves starting at the original."""
        from clinicalimaging.enhance.sweep import SWEEPS

        self.delayDisplay("Sweeping the enhancement methods over their strengths")
        inputVolume, segmentationNode = self._phantomWithLesionSegment()
        before = slicer.util.arrayFromVolume(inputVolume).copy()

        readOffTable, curvesTable, chartNode = FractionalEnhanceLogic().sweep(inputVolume, segmentationNode, "lesion")

        methodColumn = readOffTable.GetTable().GetColumnByName("method")
        self.assertEqual([methodColumn.GetValue(row) for row in range(readOffTable.GetNumberOfRows())], list(SWEEPS))
        self.assertEqual(chartNode.GetNumberOfPlotSeriesNodes(), len(SWEEPS))
        sharpness = slicer.util.arrayFromTableColumn(curvesTable, "unsharp mask sharpness")
        self.assertEqual(sharpness[0], 1.0)
        self.assertGreater(sharpness[1], sharpness[0])  # the mildest unsharp mask already sharpens
        self.assertTrue((slicer.util.arrayFromVolume(inputVolume) == before).all())
        self.delayDisplay("Test passed")

    def _phantomWithLesionSegment(self):
        """The phantom volume and a segmentation whose segment "lesion" is the phantom's lesion."""
        from clinicalimaging.mrml import label_mask_like

        phantom, inputVolume, labelNode = self._phantomVolume()
        segmentationNode = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "lesion segmentation")
        segmentationNode.CreateDefaultDisplayNodes()
        segmentId = segmentationNode.GetSegmentation().AddEmptySegment("", "lesion")
        lesionMask = label_mask_like(labelNode, inputVolume, label_value=phantom.lesion_label)
        slicer.util.updateSegmentBinaryLabelmapFromArray(lesionMask, segmentationNode, segmentId, inputVolume)
        return inputVolume, segmentationNode

    def test_BadInput(self):
        """A constant volume, a missing input and an unknown mode raise InputError (a ValueError), creating nothing."""
        from clinicalimaging.mrml import new_volume_like

        _phantom, inputVolume, _labels = self._phantomVolume()
        constant = slicer.util.arrayFromVolume(inputVolume).copy()
        constant.fill(100)
        constantVolume = new_volume_like(inputVolume, constant, name="constant")
        volumesBefore = slicer.mrmlScene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode")
        logic = FractionalEnhanceLogic()
        for inputNode, parameters in ((constantVolume, None), (None, None), (inputVolume, {"mode": "unknown"})):
            with self.assertRaises(InputError):
                logic.process(inputNode, None, parameters, showResult=False)
        self.assertTrue(issubclass(InputError, ValueError))
        self.assertEqual(slicer.mrmlScene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode"), volumesBefore)
