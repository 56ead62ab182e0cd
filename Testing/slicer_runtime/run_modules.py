"""Load one scripted module the way Slicer does, in a Slicer-like Python, and report what happened.

Run by ``Testing/test_slicer_runtime.py`` with the Python of a stock-Slicer environment::

    python run_modules.py --layer SLICER_PYTHON/v5.12.3 --module-file FractionalEnhance/FractionalEnhance.py \\
        --phase bind --report OUT.json

Phases:

``bind``
    Import the module file (timed), instantiate the module class with a stand-in parent,
    create the widget, ``setup()`` and ``enter()`` it (this creates the parameter node and
    calls ``connectGui``: Slicer's real GUI connectors on widget stand-ins built from the
    .ui), check that every ``SlicerParameterName`` of the .ui is bound, set values through
    the widgets and see them in the parameter node and back, ``exit()``/``enter()`` again,
    close the scene; press a panel's button to Self-Paced Segment (:data:`CHAIN_BUTTONS`;
    Organ Detect's, which needs scikit-learn to segment, with its installation declined).
``process``
    ``bind``'s start, then install ``Resources/Requirements/<Module>.txt`` for real with
    ``slicer.packaging.pip_ensure`` (its confirmation box answered OK by the stand-in),
    run the logic on a phantom, press Apply in the panel, and run the module's self-test.
    A module of :data:`NOT_INSTALLED` (OrganDetect: TensorFlow is gigabytes, minutes to
    install) has its requirements checked instead (markers, no core package, not yet
    satisfied), Apply pressed with the installation declined (nothing may change), and
    its self-test run without them. Once Self-Paced Segment's requirements are installed
    (its process phase runs first), Organ Detect's "Segment this organ" is pressed again
    (:data:`CHAIN_SEGMENTING_STEP`): it segments the organ of a box now.

The report is JSON: ``{"module", "layer", "startup": {step: s}, "import_s", "steps": [{"name",
"ok", "error", "details"}]}``. The process exits 0 whatever the steps gave; the test reads
the report.
"""

import argparse
import json
import logging
import math
import sys
import time
import traceback
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import bootstrap
import environments

#: Packages a stock Slicer does not ship (a module that imports one at load time is missing from Slicer).
NOT_SHIPPED = ["sklearn", "matplotlib", "tqdm", "dask", "distributed", "tensorflow", "keras", "torch", "pandas",
               "skimage"]
#: Packages Slicer ships but does not load at start-up, slow to import: a module file imports them where
#: they are used, since Slicer imports every module file at start-up.
SLOW_AT_LOAD = ["scipy", "SimpleITK"]
#: Modules whose requirements are too large to install in every run: {module: why}. Their process
#: phase checks the requirements without installing them (step_requirements_not_installed).
NOT_INSTALLED = environments.NOT_INSTALLED


class Report:
    def __init__(self, path, **fields):
        self.path = Path(path)
        self.data = {**fields, "steps": []}
        self.save()

    def save(self):
        self.path.write_text(json.dumps(self.data, indent=1, default=str))

    def step(self, name, function, *args, **kwargs):
        """Run one step; record ok/error/details; return (ok, value)."""
        entry = {"name": name, "ok": False, "error": None, "details": {}}
        self.data["steps"].append(entry)
        errors = LogCapture()
        started = time.perf_counter()
        try:
            value = function(entry["details"], *args, **kwargs)
            entry["ok"] = True
            return True, value
        except BaseException as error:  # noqa: BLE001 - everything goes into the report
            entry["error"] = "".join(traceback.format_exception(type(error), error, error.__traceback__))[-6000:]
            return False, None
        finally:
            entry["seconds"] = round(time.perf_counter() - started, 3)
            if errors.records:
                entry["details"]["logged_errors"] = errors.records[-20:]
            errors.close()
            self.save()


class LogCapture(logging.Handler):
    """Errors logged during a step (``slicer.util.errorDisplay`` only logs without a main window)."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.records = []
        logging.getLogger().addHandler(self)

    def emit(self, record):
        self.records.append(self.format(record))

    def close(self):
        logging.getLogger().removeHandler(self)
        super().close()


def ui_bindings(ui_path):
    """``{SlicerParameterName: widget objectName}`` of a .ui file."""
    root = ElementTree.parse(ui_path).getroot()
    return {widget.findtext("property[@name='SlicerParameterName']/string"): widget.get("name")
            for widget in root.iter("widget") if widget.find("property[@name='SlicerParameterName']") is not None}


def parameter_node_of(widget):
    """The parameterNodeWrapper instance the widget bound its GUI to (``_parameterNode`` in the template)."""
    node = getattr(widget, "_parameterNode", None)
    if node is not None and hasattr(node, "_parameterGUIs"):
        return node
    for value in vars(widget).values():
        if hasattr(value, "_parameterGUIs"):
            return value
    raise AssertionError("the widget holds no parameterNodeWrapper instance after enter() "
                         "(expected self._parameterNode, as in Slicer's module template)")


def bound_connectors(parameter_node):
    """``{parameter name: connector}`` of every GUI connected to a parameter node wrapper."""
    connectors = {}
    for mapping in parameter_node._parameterGUIs.values():
        connectors.update(mapping)
    return connectors


# ---------------------------------------------------------------------------------------------
# Steps


class Session:
    def __init__(self, args):
        self.args = args
        self.module_file = Path(args.module_file).resolve()
        self.name = self.module_file.stem
        self.module = None
        self.widget = None
        self.slicer = None
        self.app = None


def step_import(details, session):
    """Import the module file as Slicer does: its folder on sys.path, then ``import <Name>``."""
    import importlib

    slicer = session.slicer
    sys.path.insert(0, str(session.module_file.parent))
    before = set(sys.modules)
    started = time.perf_counter()
    try:
        module = importlib.import_module(session.name)
    finally:
        details["import_s"] = round(time.perf_counter() - started, 4)
        new = set(sys.modules) - before
        details["new_modules"] = len(new)
        details["not_shipped_imported"] = sorted({name.split(".")[0] for name in new} & set(NOT_SHIPPED))
        details["slow_imported"] = sorted({name.split(".")[0] for name in new} & set(SLOW_AT_LOAD))
    bootstrap.register_module(slicer, session.name, session.module_file)
    import clinicalimaging

    details["clinicalimaging_file"] = clinicalimaging.__file__
    if details["not_shipped_imported"]:
        raise AssertionError(f"importing {session.name}.py imported {details['not_shipped_imported']}, "
                             "which a stock Slicer does not ship")
    if details["slow_imported"]:
        raise AssertionError(f"importing {session.name}.py imported {details['slow_imported']}, which Slicer does "
                             "not load at start-up: import them where they are used")
    session.module = module
    return module


def step_module_class(details, session):
    parent = bootstrap.ModuleParent(session.module_file)
    instance = getattr(session.module, session.name)(parent)
    details["title"] = parent.title
    details["categories"] = list(parent.categories)
    if not parent.title:
        raise AssertionError(f"{session.name}(parent) left parent.title empty")
    for suffix in ("Widget", "Logic", "Test"):
        if not hasattr(session.module, session.name + suffix):
            raise AssertionError(f"{session.name}.py has no class {session.name}{suffix}")
    return instance


def step_widget(details, session):
    """Widget created, setup() and enter(): the parameter node is created and connectGui binds the .ui."""
    parent = bootstrap.module_widget_parent(session.slicer)
    widget = getattr(session.module, session.name + "Widget")(parent)
    widget.setup()
    parent.isEntered = True
    widget.enter()
    session.widget = widget
    node = parameter_node_of(widget)
    details["parameter_node"] = node.parameterNode.GetName() if hasattr(node, "parameterNode") else str(node)
    return widget


def _new_value(connector, current):
    """A valid value different from ``current`` for a connector's widget, and a setter applying it there."""
    import qt
    import slicer

    widget = connector.widget()
    kind = type(widget).__name__
    if isinstance(widget, qt.QCheckBox) or kind == "QPushButton":
        value = not bool(current)
        return value, lambda: setattr(widget, "checked", value)
    if isinstance(widget, qt.QComboBox):
        if widget.count < 2:
            return None, None
        index = (widget.currentIndex + 1) % widget.count
        return widget.itemText(index), lambda: setattr(widget, "currentIndex", index)
    if type(widget) is qt.QLineEdit:
        value = f"{current}x" if current else "liver, spleen"
        return value, lambda: setattr(widget, "text", value)
    if kind == "ctkPathLineEdit":
        value = type(current)(str(current) + "-other" if str(current) not in ("", ".") else "runtime-test.keras")
        return value, lambda: setattr(widget, "currentPath", str(value))
    if isinstance(widget, slicer.qMRMLNodeComboBox):
        node_types = list(widget.nodeTypes)
        node = None
        for class_name in node_types:
            node = slicer.mrmlScene.AddNewNodeByClass(class_name, f"runtime test {connector.__class__.__name__}")
            if node is not None:
                break
        if node is None:
            raise AssertionError(f"cannot create a node of {node_types} for {widget.objectName}")
        return node, lambda: widget.setCurrentNode(node)
    if hasattr(widget, "value") and hasattr(widget, "maximum"):
        step = widget.singleStep or 1
        value = widget.value + step
        if value > widget.maximum:
            value = widget.value - step
        if value < widget.minimum:
            return None, None
        value = widget._fix(value) if hasattr(widget, "_fix") else value
        return value, lambda: setattr(widget, "value", value)
    return None, None


def _same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
        except (TypeError, ValueError):
            return False
    return a is b if hasattr(a, "GetID") or hasattr(b, "GetID") else a == b


def _widget_value(connector):
    return connector.read()


def step_bindings(details, session):
    """Every SlicerParameterName of the .ui is bound; values go widget -> parameter node -> widget."""
    ui_path = session.module_file.parent / "Resources" / "UI" / f"{session.name}.ui"
    expected = ui_bindings(ui_path)
    node = parameter_node_of(session.widget)
    connectors = bound_connectors(node)
    details["ui_parameters"] = len(expected)
    details["bound"] = sorted(connectors)
    problems = []
    for parameter, widget_name in sorted(expected.items()):
        connector = connectors.get(parameter)
        if connector is None:
            problems.append(f"{parameter} (widget {widget_name}) is not bound to the parameter node")
        elif connector.widget().objectName != widget_name:
            problems.append(f"{parameter} is bound to {connector.widget().objectName}, not {widget_name}")
    unbound_members = sorted(set(getattr(type(node), "allParameters", {})) - set(connectors))
    details["members_without_widget"] = unbound_members
    round_trips = {}
    for parameter, connector in sorted(connectors.items()):
        widget = connector.widget()
        label = f"{parameter} ({type(widget).__name__} {widget.objectName})"
        try:
            if not _same(_widget_value(connector), node.getValue(parameter)):
                problems.append(f"{label}: widget shows {_widget_value(connector)!r}, "
                                f"parameter node holds {node.getValue(parameter)!r} after enter()")
                continue
            value, apply = _new_value(connector, node.getValue(parameter))
            if apply is None:
                round_trips[parameter] = "no other value to try"
                continue
            apply()
            if not _same(node.getValue(parameter), value):
                rejected = getattr(widget, "rejected", None)
                hint = (" (the selector refused the node: does it get the scene, see the .ui connections?)"
                        if rejected else "")
                problems.append(f"{label}: set {value!r} in the widget, parameter node holds "
                                f"{node.getValue(parameter)!r}{hint}")
                continue
            # and back: parameter node -> widget
            previous, _ = _new_value(connector, value)
            back = previous if previous is not None else value
            if hasattr(back, "GetID"):
                back = None  # a node parameter goes back to "none selected"
            node.setValue(parameter, back)
            if not _same(_widget_value(connector), back):
                problems.append(f"{label}: set {back!r} in the parameter node, widget shows "
                                f"{_widget_value(connector)!r}")
                continue
            round_trips[parameter] = f"{value!r} -> node, {back!r} -> widget"
        except Exception as error:  # noqa: BLE001
            problems.append(f"{label}: {type(error).__name__}: {error}")
    details["round_trips"] = round_trips
    if problems:
        raise AssertionError("parameter binding problems:\n  " + "\n  ".join(problems))
    return connectors


def step_tooltip_for_a_parameter_without_widget(details, session):
    """Tooltips skip a parameter that has no widget (Slicer's findChildWidgetForParameter recurses forever on one)."""
    import dataclasses

    from clinicalimaging.parameters import Parameters, describe, parameter, summary
    from clinicalimaging.slicer_parameters import set_parameter_tooltips

    ui_file = session.module_file.parent / "Resources" / "UI" / f"{session.name}.ui"
    name = next(iter(ui_bindings(ui_file)))  # a parameter the panel has a widget for

    fields = [(name, float, parameter(1.0, help="A parameter with a widget.")),
              ("not_in_the_panel", float, parameter(1.0, help="A parameter without one."))]
    parameters_class = dataclasses.make_dataclass("Fields", fields, bases=(Parameters,), frozen=True)
    root = session.slicer.util.loadUI(str(ui_file))
    set_parameter_tooltips(root, parameters_class)
    widget = next(child for child in root.findChildren() if child.property("SlicerParameterName") == name)
    details["tooltip"] = widget.toolTip
    if widget.toolTip != summary(describe(parameters_class)[0]):
        raise AssertionError(f"the widget of {name!r} got the tooltip {widget.toolTip!r}")


def step_reenter_and_close_scene(details, session):
    """exit() then enter() re-binds; closing the scene re-creates the parameter node (Slicer's Close Scene)."""
    widget = session.widget
    widget.exit()
    widget.enter()
    first = parameter_node_of(widget)
    details["bound_after_reenter"] = len(bound_connectors(first))
    session.slicer.mrmlScene.Clear(0)
    node = parameter_node_of(widget)
    details["bound_after_close"] = len(bound_connectors(node))
    if details["bound_after_close"] != details["bound_after_reenter"]:
        raise AssertionError(f"after closing the scene {details['bound_after_close']} parameters are bound, "
                             f"{details['bound_after_reenter']} before")


#: Modules whose panel hands a result to Self-Paced Segment with one click: module -> its button.
CHAIN_BUTTONS = {"FractionalEnhance": "segmentOutputButton", "OrganDetect": "segmentOrganButton"}
#: The process phase's step that presses the button again once Self-Paced Segment's requirements are installed
#: (Organ Detect's button segments the organ then).
CHAIN_SEGMENTING_STEP = "chain button to SelfPacedSegment, its requirements installed"


def _segment_module(session):
    """Self-Paced Segment's module file, imported as Slicer does (its folder on sys.path)."""
    import importlib

    folder = session.module_file.parent.parent / "SelfPacedSegment"
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
        bootstrap.register_module(session.slicer, "SelfPacedSegment", folder / "SelfPacedSegment.py")
    return importlib.import_module("SelfPacedSegment")


def _segment_panel(session):
    """Self-Paced Segment's panel, set up and entered (as when the user has opened it before)."""
    parent = bootstrap.module_widget_parent(session.slicer)
    panel = _segment_module(session).SelfPacedSegmentWidget(parent)
    panel.setup()
    parent.isEntered = True
    panel.enter()
    return panel


def _organ_case(slicer):
    """A CT phantom and its liver's true box as Organ Detect's Apply leaves it: an ROI named after the organ, its
    volume referenced."""
    import numpy as np

    from clinicalimaging.detect.detections import OrganBox
    from clinicalimaging.detect.reference import reference_boxes_in_array
    from clinicalimaging.detect.nodes_output import roi_nodes_from_boxes
    from clinicalimaging.phantom import make_phantom
    from clinicalimaging.phantom_nodes import phantom_volume

    phantom = make_phantom("ct", shape=ORGAN_SHAPE, spacing=ORGAN_SPACING, seed=ORGAN_SEED)
    volume, _labels = phantom_volume(phantom, scene=slicer.mrmlScene, name="runtime phantom")
    liver = np.isin(phantom.labels, ORGAN_LABELS)
    low, high = reference_boxes_in_array(liver.astype(np.uint8), phantom.ijk_to_ras, {1: "liver"})["liver"]
    roi, = roi_nodes_from_boxes([OrganBox("liver", 0.9, tuple(low), tuple(high))], scene=slicer.mrmlScene)
    return volume, roi, liver


#: Organ Detect's case: a phantom with enough slices to segment its liver (and the lesion in it) in seconds.
ORGAN_SHAPE, ORGAN_SPACING, ORGAN_SEED, ORGAN_LABELS = (16, 64, 64), (5.0, 1.5, 1.5), 700, (2, 8)
#: Lowest Dice of the liver segmented from its true box (0.95 measured on this phantom).
ORGAN_DICE = 0.85


def _segment_requirements_installed():
    """Whether Self-Paced Segment's requirement (scikit-learn) is installed, so Organ Detect's button segments."""
    import importlib.util

    return importlib.util.find_spec("sklearn") is not None


def step_chain_to_segment(details, session):
    """The panel's button to Self-Paced Segment: that module's wrapper reads the handed nodes, and it is opened.

    Organ Detect's button segments the organ first, which needs Self-Paced Segment's requirement: with
    scikit-learn installed (the process phase, after Self-Paced Segment's pip_ensure), the organ's segmentation
    becomes Self-Paced Segment's output and its outline points the outline; without it (the bind phase) the
    installation is declined, and nothing may change.
    """
    import importlib.metadata

    import standins

    import slicer

    from clinicalimaging.slicer_chain import SEGMENT_REGION_PARAMETER

    segmenting = session.name == "OrganDetect" and _segment_requirements_installed()
    declining = session.name == "OrganDetect" and not segmenting
    details["organ segmented"] = segmenting
    selected = []
    select_module = slicer.util.selectModule  # needs a main window's module selector
    slicer.util.selectModule = selected.append
    answers = dict(standins.ANSWERS)
    try:
        slicer.mrmlScene.Clear(0)
        node = parameter_node_of(session.widget)
        button = getattr(session.widget.ui, CHAIN_BUTTONS[session.name])
        if session.name == "FractionalEnhance":
            volume = _volume_case(slicer)["inputVolume"]
            node.outputVolume = volume
        else:
            volume, roi, liver = _organ_case(slicer)
            roi.SetNodeReferenceID(session.module.DETECTED_IN_REFERENCE, volume.GetID())  # as Apply leaves it
            node.inputVolume = None  # the box's own reference names its volume
            node.organRoi = roi
        details["enabled"] = bool(button.enabled)
        if not button.enabled:
            raise AssertionError(f"{CHAIN_BUTTONS[session.name]} stays disabled (tooltip: {button.toolTip!r})")
        panel = _segment_panel(session)
        nodesBefore = slicer.mrmlScene.GetNumberOfNodes()
        packagesBefore = {dist.metadata["Name"].lower(): dist.version for dist in importlib.metadata.distributions()}
        standins.DIALOGS.clear()
        if declining:
            standins.ANSWERS["okcancel"] = "Cancel"
        started = time.perf_counter()
        button.click()
        details["click_s"] = round(time.perf_counter() - started, 2)
    finally:
        slicer.util.selectModule = select_module
        standins.ANSWERS.clear()
        standins.ANSWERS.update(answers)
    details["selected"] = list(selected)
    details["dialogs"] = list(standins.DIALOGS)
    segment = _segment_module(session).SelfPacedSegmentLogic().getParameterNode()
    questions = [dialog for dialog in standins.DIALOGS if dialog["kind"] == "okcancel"]
    if declining:
        if len(questions) != 1 or "scikit-learn" not in questions[0]["text"] + questions[0]["detailedText"]:
            raise AssertionError(f"expected one question naming scikit-learn before segmenting, got {standins.DIALOGS}")
        if selected or slicer.mrmlScene.GetNumberOfNodes() != nodesBefore:
            raise AssertionError(f"with the installation declined the button selected {selected} and the scene went "
                                 f"from {nodesBefore} to {slicer.mrmlScene.GetNumberOfNodes()} nodes")
        if segment.parameterNode.GetNodeReference(SEGMENT_REGION_PARAMETER) is not None or segment.outputSegmentation:
            raise AssertionError("with the installation declined Self-Paced Segment was given the box or a result")
        packagesAfter = {dist.metadata["Name"].lower(): dist.version for dist in importlib.metadata.distributions()}
        if packagesAfter != packagesBefore:
            raise AssertionError("with the installation declined the installed packages changed")
        return
    if questions:
        raise AssertionError(f"the button asked to install packages that are installed: {questions}")
    if selected != ["SelfPacedSegment"]:
        raise AssertionError(f"the button selected the modules {selected}, not SelfPacedSegment")
    if panel.ui.inputSelector.currentNode() is not volume:
        raise AssertionError("Self-Paced Segment's open panel does not show the handed volume in its input selector")
    if segment.inputVolume is not volume:
        raise AssertionError(f"Self-Paced Segment's inputVolume is {segment.inputVolume}, not the handed volume")
    if session.name == "FractionalEnhance" and segment.enhanceFirst:
        raise AssertionError("Self-Paced Segment would enhance the enhanced volume again (enhanceFirst is True)")
    if session.name == "OrganDetect":
        region = segment.parameterNode.GetNodeReference(SEGMENT_REGION_PARAMETER)
        if region is not roi:
            raise AssertionError(f"Self-Paced Segment's {SEGMENT_REGION_PARAMETER} is {region}, not the organ box")
        _check_organ_segmentation(details, segment, panel, volume, liver)


def _check_organ_segmentation(details, segment, panel, volume, liver):
    """The organ's segmentation is Self-Paced Segment's output (segment "liver", close to the phantom's liver) and
    the outline points it started from its outline, in the wrapper and in the open panel."""
    from clinicalimaging import mrml
    from clinicalimaging.slicer_chain import SEED_OUTLINE_REFERENCE

    segmentation = segment.outputSegmentation
    if segmentation is None or not segmentation.IsA("vtkMRMLSegmentationNode"):
        raise AssertionError(f"Self-Paced Segment's outputSegmentation is {segmentation}, not the organ's segmentation")
    names = [segmentation.GetSegmentation().GetNthSegment(index).GetName()
             for index in range(segmentation.GetSegmentation().GetNumberOfSegments())]
    details["segmentation"] = {"name": segmentation.GetName(), "segments": names}
    if names != ["liver"]:
        raise AssertionError(f"the organ's segmentation holds the segments {names}, not one named 'liver'")
    details["dice"] = round(float(_dice(mrml.segment_mask(segmentation, "liver", volume), liver)), 4)
    if details["dice"] < ORGAN_DICE:
        raise AssertionError(f"Dice of the segment 'liver' against the phantom's liver is {details['dice']} "
                             f"(< {ORGAN_DICE})")
    seed = segmentation.GetNodeReference(SEED_OUTLINE_REFERENCE)
    if seed is None or segment.outline is not seed:
        raise AssertionError(f"Self-Paced Segment's outline is {segment.outline}, not the organ's outline points "
                             f"{seed}")
    shown = {"outputSegmentationSelector": segmentation, "outlineSelector": seed}
    wrong = [name for name, expected in shown.items() if getattr(panel.ui, name).currentNode() is not expected]
    if wrong:
        raise AssertionError(f"Self-Paced Segment's open panel does not show the handed nodes in {wrong}")


# --- process phase -------------------------------------------------------------------------


def step_requirements(details, session, core):
    """Resources/Requirements/<Module>.txt installed for real through slicer.packaging.pip_ensure (Slicer >= 5.12)."""
    import importlib.metadata

    import standins

    import slicer

    path = session.module_file.parent / "Resources" / "Requirements" / f"{session.module_file.stem}.txt"
    details["file"] = str(path)
    if not path.is_file():
        details["requirements"] = []
        details["note"] = "no Resources/Requirements/<Module>.txt: the module needs nothing beyond a stock Slicer"
        return []
    import slicer.packaging as packaging

    requirements = packaging.load_requirements(path)
    details["requirements"] = [str(requirement) for requirement in requirements]
    named_core = sorted({requirement.name for requirement in requirements
                         if requirement.name.lower().replace("_", "-") in core})
    if named_core:
        raise AssertionError(f"{path} names packages a stock Slicer ships: {named_core}; reinstalling them "
                             "breaks Slicer. List only what Slicer lacks.")
    before = {dist.metadata["Name"].lower(): dist.version for dist in importlib.metadata.distributions()}
    details["satisfied_before"] = packaging.pip_check(requirements)
    standins.DIALOGS.clear()
    session.app.testing = False  # a user's Slicer: the confirmation box is shown (and answered OK)
    started = time.perf_counter()
    try:
        packaging.pip_ensure(requirements, requester=session.name)
    finally:
        session.app.testing = False
    details["pip_ensure_s"] = round(time.perf_counter() - started, 1)
    details["dialogs"] = list(standins.DIALOGS)
    importlib.invalidate_caches()
    after = {dist.metadata["Name"].lower(): dist.version for dist in importlib.metadata.distributions()}
    details["installed"] = {name: version for name, version in after.items() if before.get(name) != version}
    changed_core = sorted(name for name in details["installed"] if name.replace("_", "-") in core and name in before)
    if changed_core:
        raise AssertionError(f"installing {path.name} changed packages Slicer ships: "
                             f"{ {name: (before[name], after[name]) for name in changed_core} }")
    if not packaging.pip_check(requirements):
        raise AssertionError(f"after pip_ensure the requirements {details['requirements']} are still not satisfied")
    if not details["satisfied_before"] and not any(dialog["kind"] == "okcancel" for dialog in details["dialogs"]):
        raise AssertionError("pip_ensure installed packages without asking the user first")
    return requirements


def step_requirements_not_installed(details, session, core):
    """Resources/Requirements/<Module>.txt read by slicer.packaging: valid markers, no core package, one entry per
    package on each platform, not satisfied yet (so Apply would ask); nothing is installed."""
    import slicer.packaging as packaging

    path = session.module_file.parent / "Resources" / "Requirements" / f"{session.module_file.stem}.txt"
    details["file"] = str(path)
    details["why_not_installed"] = NOT_INSTALLED[session.name]
    requirements = packaging.load_requirements(path)
    details["requirements"] = [str(requirement) for requirement in requirements]
    named_core = sorted({requirement.name for requirement in requirements
                         if requirement.name.lower().replace("_", "-") in core})
    if named_core:
        raise AssertionError(f"{path} names packages a stock Slicer ships: {named_core}")
    per_platform = {}
    for platform in ("linux", "darwin", "win32"):
        environment = {"sys_platform": platform}
        applicable = [requirement for requirement in requirements
                      if requirement.marker is None or requirement.marker.evaluate(environment)]
        names = [requirement.name.lower() for requirement in applicable]
        if len(set(names)) != len(names):
            raise AssertionError(f"{path}: on {platform} a package is named twice: {names}")
        per_platform[platform] = sorted(str(requirement).split(";")[0].strip() for requirement in applicable)
    details["per_platform"] = per_platform
    details["satisfied"] = packaging.pip_check(requirements)
    if details["satisfied"]:
        raise AssertionError(f"the requirements {details['requirements']} are satisfied in a stock Slicer "
                             "environment: the step expects them missing")
    return requirements


def step_apply_with_installation_declined(details, session):
    """Apply while the requirements are missing and the user declines to install them: asked once, nothing changes."""
    import importlib.metadata

    import standins

    import slicer

    build, _process, _check, _output = CASES.get(session.name, (_volume_case, None, None, None))
    slicer.mrmlScene.Clear(0)
    case = build(slicer)
    node = parameter_node_of(session.widget)
    connectors = bound_connectors(node)
    for parameter, value in case.items():
        if not parameter.startswith("_"):
            connectors[parameter].widget().setCurrentNode(value)
    nodesBefore = slicer.mrmlScene.GetNumberOfNodes()
    packagesBefore = {dist.metadata["Name"].lower(): dist.version for dist in importlib.metadata.distributions()}
    standins.DIALOGS.clear()
    answers = dict(standins.ANSWERS)
    standins.ANSWERS["okcancel"] = "Cancel"
    session.app.testing = False
    try:
        apply_button = session.widget.ui.applyButton
        details["apply_enabled"] = bool(apply_button.enabled)
        if not apply_button.enabled:
            raise AssertionError(f"Apply stays disabled (tooltip: {apply_button.toolTip!r})")
        apply_button.click()
    finally:
        standins.ANSWERS.clear()
        standins.ANSWERS.update(answers)
    details["dialogs"] = list(standins.DIALOGS)
    questions = [dialog for dialog in standins.DIALOGS if dialog["kind"] == "okcancel"]
    if len(questions) != 1:
        raise AssertionError(f"expected one install question, got {standins.DIALOGS}")
    asked = questions[0]["text"] + questions[0]["detailedText"]
    missing = [name for name in ("keras", "tensorflow") if name not in asked.lower()]
    if missing:
        raise AssertionError(f"the install question does not name {missing}: {asked!r}")
    if slicer.mrmlScene.GetNumberOfNodes() != nodesBefore:
        raise AssertionError("Apply with the installation declined added nodes to the scene")
    packagesAfter = {dist.metadata["Name"].lower(): dist.version for dist in importlib.metadata.distributions()}
    if packagesAfter != packagesBefore:
        raise AssertionError("Apply with the installation declined changed the installed packages")


def _volume_case(slicer):
    from clinicalimaging.phantom import make_phantom
    from clinicalimaging.phantom_nodes import phantom_volume

    phantom = make_phantom("ct", shape=(8, 48, 48))
    volume, _labels = phantom_volume(phantom, scene=slicer.mrmlScene, name="runtime phantom")
    return {"inputVolume": volume}


def _fractional_case(slicer):
    from clinicalimaging.phantom import make_phantom
    from clinicalimaging.phantom_nodes import phantom_volume

    phantom = make_phantom("ct", shape=(8, 64, 64), oblique=True)
    volume, _labels = phantom_volume(phantom, scene=slicer.mrmlScene, name="runtime phantom")
    return {"inputVolume": volume}


def _segment_case(slicer):
    from clinicalimaging import mrml
    from clinicalimaging.phantom import make_phantom
    from clinicalimaging.phantom_nodes import phantom_volume
    from clinicalimaging.segment.evaluation import simulate_outline

    phantom = make_phantom("mr", shape=(24, 96, 96), spacing=(2.5, 0.8, 0.8))
    volume, _labels = phantom_volume(phantom, scene=slicer.mrmlScene, name="runtime phantom")
    lesion = phantom.labels == phantom.lesion_label
    outline = mrml.markups_from_points(simulate_outline(lesion, count=12), volume, name="runtime outline",
                                       scene=slicer.mrmlScene)
    return {"inputVolume": volume, "outline": outline, "_lesion": lesion}


def _dice(mask, reference):
    import numpy as np

    mask, reference = np.asarray(mask) > 0, np.asarray(reference) > 0
    total = mask.sum() + reference.sum()
    return 2.0 * (mask & reference).sum() / total if total else 1.0


def _check_enhanced(details, case, output):
    import numpy as np

    import slicer

    source = slicer.util.arrayFromVolume(case["inputVolume"])
    result = slicer.util.arrayFromVolume(output)
    details["output_shape"] = list(result.shape)
    details["changed_voxels"] = int((result != source).sum())
    if result.shape != source.shape:
        raise AssertionError(f"enhanced volume has shape {result.shape}, the input {source.shape}")
    if not (result != source).any():
        raise AssertionError("the enhanced volume equals the input")
    if not np.isfinite(result.astype(float)).all():
        raise AssertionError("the enhanced volume holds NaN or infinity")


def _check_segmented(details, case, segmentation):
    from clinicalimaging import mrml

    mask = mrml.segment_mask(segmentation, "lesion", case["inputVolume"], allow_empty=True)
    dice = _dice(mask, case["_lesion"])
    details["dice"] = round(float(dice), 4)
    if dice < 0.7:
        raise AssertionError(f"Dice of the segment 'lesion' against the phantom lesion is {dice:.3f} (< 0.7)")


#: Module name -> (build a phantom case, run the logic, check the result, parameter set on Apply).
CASES = {
    "FractionalEnhance": (
        _fractional_case,
        lambda logic, case: logic.process(case["inputVolume"], None, showResult=False),
        _check_enhanced,
        "outputVolume",
    ),
    "SelfPacedSegment": (
        _segment_case,
        lambda logic, case: logic.process(case["inputVolume"], case["outline"], showResult=False),
        _check_segmented,
        "outputSegmentation",
    ),
}


def step_logic(details, session):
    """The module's Logic.process on a small phantom gives a sensible result."""
    import slicer

    build, process, check, _output = CASES[session.name]
    case = build(slicer)
    logic = getattr(session.module, session.name + "Logic")()
    started = time.perf_counter()
    result = process(logic, case)
    details["process_s"] = round(time.perf_counter() - started, 2)
    check(details, case, result)


def step_apply(details, session):
    """The panel: inputs chosen in the selectors, Apply pressed, the output lands in the parameter node."""
    import slicer

    build, _process, check, output_parameter = CASES[session.name]
    slicer.mrmlScene.Clear(0)
    case = build(slicer)
    node = parameter_node_of(session.widget)
    connectors = bound_connectors(node)
    for parameter, value in case.items():
        if parameter.startswith("_"):
            continue
        connectors[parameter].widget().setCurrentNode(value)
        if node.getValue(parameter) is not value:
            raise AssertionError(f"choosing {value.GetName()} in the {parameter} selector did not reach the "
                                 "parameter node")
    node.setValue(output_parameter, None)
    apply_button = session.widget.ui.applyButton
    details["apply_enabled"] = bool(apply_button.enabled)
    if not apply_button.enabled:
        raise AssertionError(f"Apply stays disabled with {sorted(k for k in case if not k.startswith('_'))} chosen "
                             f"(tooltip: {apply_button.toolTip!r})")
    started = time.perf_counter()
    apply_button.click()
    details["apply_s"] = round(time.perf_counter() - started, 2)
    result = node.getValue(output_parameter)
    if result is None:
        raise AssertionError(f"after Apply the parameter node's {output_parameter} is empty "
                             "(an error was shown? see logged_errors)")
    check(details, case, result)


def step_self_test(details, session):
    """The module's own self-test (``<Name>Test().runTest()``), as ctest runs it: testing mode on."""
    session.app.testing = True
    try:
        test = getattr(session.module, session.name + "Test")()
        test.messageDelay = 0
        test.runTest()
    finally:
        session.app.testing = False


# ---------------------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layer", required=True, help="folder holding Slicer's slicer/ package (e.g. .../v5.12.3)")
    parser.add_argument("--module-file", required=True)
    parser.add_argument("--phase", choices=("bind", "process"), required=True)
    parser.add_argument("--report", required=True)
    parser.add_argument("--core", default="", help="comma-separated package names a stock Slicer ships")
    parser.add_argument("--self-test", action="store_true", help="also run the module's self-test (process phase)")
    parser.add_argument("--temp", default="/tmp")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    session = Session(args)
    report = Report(args.report, module=session.name, layer=args.layer, phase=args.phase, python=sys.version)
    ok, started = report.step("start Slicer-like Python", lambda details: bootstrap.start(args.layer,
                                                                                     temporary_path=args.temp))
    if not ok:
        return 0
    session.slicer, session.app, report.data["startup"] = started
    report.data["slicer_has_packaging"] = (Path(args.layer) / "slicer" / "packaging.py").is_file()
    report.save()

    ok, _ = report.step("import module file", step_import, session)
    import_step = report.data["steps"][-1]
    report.data["import_s"] = import_step["details"].get("import_s")
    report.save()
    if not ok:
        return 0
    for name, function in [("module class", step_module_class), ("widget setup and enter", step_widget)]:
        ok, _ = report.step(name, function, session)
        if not ok:
            return 0
    if args.phase == "bind":
        ok, _ = report.step("parameter bindings", step_bindings, session)
        report.step("tooltip for a parameter without a widget", step_tooltip_for_a_parameter_without_widget,
                    session)
        report.step("exit, enter, close scene", step_reenter_and_close_scene, session)
        if session.name in CHAIN_BUTTONS:
            report.step("chain button to SelfPacedSegment", step_chain_to_segment, session)
        return 0

    core = {name.strip().lower() for name in args.core.split(",") if name.strip()}
    if session.name in NOT_INSTALLED:
        ok, _ = report.step("requirements checked, not installed", step_requirements_not_installed, session, core)
        if not ok:
            return 0
        report.step("Apply with the installation declined", step_apply_with_installation_declined, session)
        if session.name in CHAIN_BUTTONS and _segment_requirements_installed():
            report.step(CHAIN_SEGMENTING_STEP, step_chain_to_segment, session)
        if args.self_test:
            report.step("module self-test", step_self_test, session)
        return 0
    ok, _ = report.step("requirements via slicer.packaging.pip_ensure", step_requirements, session, core)
    if not ok:
        return 0
    if session.name in CASES:
        report.step("logic on a phantom", step_logic, session)
        report.step("Apply in the panel", step_apply, session)
    if args.self_test:
        report.step("module self-test", step_self_test, session)
    return 0


if __name__ == "__main__":
    sys.exit(main())
