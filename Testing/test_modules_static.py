"""Static checks of the Slicer modules, their .ui files and the extension's CMake files.

Slicer itself is not needed: module files are parsed (not imported), .ui files are
read as XML, and the CMake files are configured by the real ``cmake`` against a stub
Slicer package that records what each target would install. A module is every
top-level folder ``<Name>/`` holding ``<Name>.py``.
"""

import ast
import dataclasses
import importlib
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
PACKAGE = "clinicalimaging"
MODULE_NAMES = sorted(path.parent.name for path in REPOSITORY.glob("*/*.py") if path.stem == path.parent.name)
#: What a module file may import: Slicer's Python API, VTK, Qt/CTK (not at import time), the shared package, stdlib.
ALLOWED_IMPORTS = {"slicer", "vtk", "qt", "ctk", PACKAGE} | set(sys.stdlib_module_names)
GUI_ONLY_IMPORTS = {"qt", "ctk"}


def module_file(name: str) -> Path:
    return REPOSITORY / name / f"{name}.py"


def module_tree(name: str) -> ast.Module:
    return ast.parse(module_file(name).read_text(encoding="utf-8"), filename=str(module_file(name)))


def ui_root(name: str) -> ElementTree.Element:
    return ElementTree.parse(REPOSITORY / name / "Resources" / "UI" / f"{name}.ui").getroot()


def ui_parameter_names(root: ElementTree.Element) -> dict:
    """``{SlicerParameterName: widget name}`` of the bound widgets of a .ui."""
    return {widget.findtext("property[@name='SlicerParameterName']/string"): widget.get("name")
            for widget in root.iter("widget") if widget.find("property[@name='SlicerParameterName']") is not None}


def imports_of(tree: ast.Module) -> list[tuple[str, bool]]:
    """``(top-level package, imported at import time)`` for every import statement of a module."""
    found = []

    def visit(node: ast.AST, at_import_time: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend((alias.name.split(".")[0], at_import_time) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.append((node.module.split(".")[0], at_import_time))
        in_function = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, at_import_time and not in_function)

    visit(tree, True)
    return found


def parameter_node_fields(tree: ast.Module) -> set:
    """Member names of the module's ``@parameterNodeWrapper`` class.

    Members declared in the class body, plus the fields of every parameter
    dataclass given to a decorator call on the class (``@withStageParameters(X)``),
    found through the module's ``from clinicalimaging... import X``.
    """
    imported_from = {alias.asname or alias.name: node.module for node in tree.body
                     if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE)
                     for alias in node.names}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        decorators = [ast.unparse(decorator) for decorator in node.decorator_list]
        if not any(decorator.split("(")[0].endswith("parameterNodeWrapper") for decorator in decorators):
            continue
        fields = {statement.target.id for statement in node.body if isinstance(statement, ast.AnnAssign)}
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call):
                for argument in decorator.args:
                    if isinstance(argument, ast.Name) and argument.id in imported_from:
                        dataclass = getattr(importlib.import_module(imported_from[argument.id]), argument.id)
                        fields |= {field.name for field in dataclasses.fields(dataclass)}
        return fields
    return set()


def test_modules_found():
    assert "FractionalEnhance" in MODULE_NAMES


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_module_compiles(name):
    compile(module_file(name).read_text(encoding="utf-8"), str(module_file(name)), "exec")


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_module_defines_the_four_classes(name):
    classes = {node.name for node in module_tree(name).body if isinstance(node, ast.ClassDef)}
    missing = {name, f"{name}Widget", f"{name}Logic", f"{name}Test"} - classes
    assert not missing, f"{module_file(name)} lacks the classes {sorted(missing)} that Slicer looks up by name"


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_module_imports_only_slicer_vtk_qt_and_the_package(name):
    imports = imports_of(module_tree(name))
    unexpected = sorted({package for package, _ in imports if package not in ALLOWED_IMPORTS})
    assert not unexpected, f"{name}.py imports {unexpected}; put such code in {PACKAGE}/ and import it lazily there"
    gui_at_import = sorted({package for package, at_import_time in imports
                          if at_import_time and package in GUI_ONLY_IMPORTS})
    assert not gui_at_import, f"{name}.py imports {gui_at_import} at import time; import them inside widget code"


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_ui_root_is_a_qmrmlwidget(name):
    root = ui_root(name)
    widget = root.find("widget")
    assert widget.get("class") == "qMRMLWidget"
    assert root.findtext("class") == widget.get("name") == name


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_widgets_named_by_the_code_exist_in_the_ui(name):
    widgets = {widget.get("name") for widget in ui_root(name).iter("widget")}
    used = {node.attr for node in ast.walk(module_tree(name))
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
            and node.value.attr == "ui" and isinstance(node.value.value, ast.Name) and node.value.value.id == "self"}
    assert used, f"{name}.py uses no self.ui.<widget>; is the .ui loaded?"
    assert not used - widgets, f"{name}.py uses widgets missing from {name}.ui: {sorted(used - widgets)}"


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_every_button_of_the_ui_is_connected(name):
    """A push button of the .ui (not bound to a parameter) has a handler: ``self.ui.<button>.connect(...)``."""
    buttons = {widget.get("name") for widget in ui_root(name).iter("widget") if widget.get("class") == "QPushButton"
               and widget.find("property[@name='SlicerParameterName']") is None}
    connected = {node.func.value.attr for node in ast.walk(module_tree(name))
                 if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "connect"
                 and isinstance(node.func.value, ast.Attribute) and ast.unparse(node.func.value.value) == "self.ui"}
    assert not buttons - connected, f"buttons of {name}.ui that do nothing: {sorted(buttons - connected)}"


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_ui_bindings_match_the_parameter_node(name):
    bound = ui_parameter_names(ui_root(name))
    fields = parameter_node_fields(module_tree(name))
    assert fields, f"{name}.py has no @parameterNodeWrapper class"
    assert not set(bound) - fields, f"{name}.ui binds unknown parameters: {sorted(set(bound) - fields)}"
    assert not fields - set(bound), f"parameters without a widget in {name}.ui: {sorted(fields - set(bound))}"


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_mrml_widgets_receive_the_scene(name):
    root = ui_root(name)
    root_name = root.find("widget").get("name")
    mrml_widgets = {widget.get("name") for widget in root.find("widget").iter("widget")
                   if widget.get("class").startswith("qMRML") and widget.get("name") != root_name}
    receivers = {connection.findtext("receiver") for connection in root.iter("connection")
                 if connection.findtext("sender") == root_name
                 and connection.findtext("signal") == "mrmlSceneChanged(vtkMRMLScene*)"
                 and connection.findtext("slot") == "setMRMLScene(vtkMRMLScene*)"}
    unconnected = sorted(mrml_widgets - receivers)
    assert not unconnected, f"MRML widgets of {name}.ui that never get the scene: {unconnected}"


STUB_SLICER_CONFIG = """
set(Slicer_USE_FILE "${CMAKE_CURRENT_LIST_DIR}/UseSlicer.cmake")
set(Slicer_EXTENSION_GENERATE_CONFIG "${CMAKE_CURRENT_LIST_DIR}/Empty.cmake")
set(Slicer_EXTENSION_CPACK "${CMAKE_CURRENT_LIST_DIR}/Empty.cmake")
"""
# Each call appends "<kind>\t<source dir>\t<path as given>" lines to ${LISTING}.
STUB_USE_SLICER = """
set(BUILD_TESTING ON)
function(slicerMacroBuildScriptedModule)
  cmake_parse_arguments(ARG "WITH_GENERIC_TESTS;WITH_SUBDIR;VERBOSE" "NAME" "SCRIPTS;RESOURCES" ${ARGN})
  if(ARG_UNPARSED_ARGUMENTS OR NOT ARG_NAME)
    message(FATAL_ERROR "slicerMacroBuildScriptedModule: bad arguments ${ARGN}")
  endif()
  foreach(kind SCRIPTS RESOURCES)
    foreach(item IN LISTS ARG_${kind})
      file(APPEND "${LISTING}" "${kind}\t${CMAKE_CURRENT_SOURCE_DIR}\t${item}\n")
    endforeach()
  endforeach()
endfunction()
function(slicer_add_python_unittest)
  cmake_parse_arguments(ARG "" "SCRIPT" "SLICER_ARGS;TESTNAME_PREFIX" ${ARGN})
  file(APPEND "${LISTING}" "UNITTEST\t${CMAKE_CURRENT_SOURCE_DIR}\t${ARG_SCRIPT}\n")
endfunction()
"""


@pytest.fixture(scope="module")
def cmake_listing(tmp_path_factory):
    """``[(kind, source file, installed path relative to qt-scripted-modules)]`` from configuring the extension."""
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    folder = tmp_path_factory.mktemp("cmake")
    stub = folder / "stub-slicer"
    stub.mkdir()
    (stub / "SlicerConfig.cmake").write_text(STUB_SLICER_CONFIG)
    (stub / "UseSlicer.cmake").write_text(STUB_USE_SLICER)
    (stub / "Empty.cmake").write_text("")
    listing = folder / "listing.tsv"
    listing.write_text("")
    configure = subprocess.run(["cmake", "-S", str(REPOSITORY), "-B", str(folder / "build"), f"-DSlicer_DIR={stub}",
                                f"-DLISTING={listing}"], capture_output=True, encoding="utf-8")
    assert configure.returncode == 0, f"cmake configure failed:\n{configure.stdout}\n{configure.stderr}"
    entries = []
    for line in listing.read_text().splitlines():
        kind, source_dir, item = line.split("\t")
        assert not Path(item).is_absolute(), f"{item}: give paths relative to {source_dir} so the layout is kept"
        if kind != "RESOURCES" and Path(item).suffix != ".py":
            item += ".py"  # as Slicer's macros do
        entries.append((kind, Path(source_dir) / item, item))
    return entries


def test_cmake_lists_only_existing_files(cmake_listing):
    missing = [str(source.relative_to(REPOSITORY)) for _, source, _ in cmake_listing if not source.is_file()]
    assert not missing, f"CMake lists files that do not exist: {missing}"


def test_every_package_file_is_installed_as_a_package(cmake_listing):
    installed = {item for kind, _, item in cmake_listing if kind in ("SCRIPTS", "RESOURCES")}
    files = {path.relative_to(REPOSITORY).as_posix() for path in (REPOSITORY / PACKAGE).rglob("*")
             if path.is_file() and "__pycache__" not in path.parts}
    assert f"{PACKAGE}/__init__.py" in files
    assert not files - installed, f"not installed by CMake: {sorted(files - installed)}"


def test_only_modules_are_installed_at_top_level(cmake_listing):
    # Slicer loads every top-level .py of qt-scripted-modules as a module.
    loose = {item for kind, _, item in cmake_listing if kind == "SCRIPTS" and "/" not in item}
    assert loose == {f"{name}.py" for name in MODULE_NAMES}


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_module_is_built_with_its_resources_and_self_test(cmake_listing, name):
    module_entries = {(kind, item) for kind, source, item in cmake_listing if source.is_relative_to(REPOSITORY / name)}
    assert ("SCRIPTS", f"{name}.py") in module_entries
    assert ("RESOURCES", f"Resources/UI/{name}.ui") in module_entries
    assert ("RESOURCES", f"Resources/Icons/{name}.png") in module_entries
    assert ("UNITTEST", f"{name}.py") in module_entries


def test_batch_script_is_installed_as_a_resource(cmake_listing):
    """The batch-mode script ships with SelfPacedSegment under Resources/Scripts (a top-level .py would be a module)."""
    script = REPOSITORY / "SelfPacedSegment" / "Resources" / "Scripts" / "batch_chain.py"
    installed = {(kind, source) for kind, source, _ in cmake_listing}
    assert script.is_file() and ("RESOURCES", script) in installed
    compile(script.read_text(encoding="utf-8"), str(script), "exec")


def _import_time_modules(name):
    """Dotted names of the modules a module file imports at import time (``import x.y`` and ``from x.y import z``)."""
    found = []

    def visit(node, at_import_time):
        if at_import_time and isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif at_import_time and isinstance(node, ast.ImportFrom) and node.level == 0:
            found.append(node.module)
        in_function = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, at_import_time and not in_function)

    visit(module_tree(name), True)
    return found


def test_organ_detect_runs_the_network_out_of_process():
    """OrganDetect.py loads nothing of the detector: it imports the child-process runner, and the
    (Keras-free) node builders only inside its logic."""
    at_import = _import_time_modules("OrganDetect")
    assert f"{PACKAGE}.slicer_process" in at_import
    detect = [module for module in at_import if module.startswith(f"{PACKAGE}.detect")]
    assert not detect, f"OrganDetect.py imports {detect} when Slicer loads it"
    every = {package for package, _ in imports_of(module_tree("OrganDetect"))}
    assert not every & {"keras", "tensorflow"}


def test_organ_detect_ships_its_model_when_present(cmake_listing):
    model = REPOSITORY / "OrganDetect" / "Resources" / "Models" / "organ-detector.keras"
    installed = {item for kind, source, item in cmake_listing
                 if kind == "RESOURCES" and source.is_relative_to(REPOSITORY / "OrganDetect")}
    assert ("Resources/Models/organ-detector.keras" in installed) == model.is_file()


def test_organ_detect_defaults_are_the_command_lines():
    """The panel's defaults (constants of OrganDetect.py) are those of the detect and train-detector options."""
    from clinicalimaging.detect.parameters import DetectParameters, TrainParameters

    constants = {statement.targets[0].id: ast.literal_eval(statement.value) for statement in module_tree("OrganDetect").body
                 if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name)
                 and statement.targets[0].id.startswith("DEFAULT_")}
    assert constants["DEFAULT_SCORE_THRESHOLD"] == DetectParameters().score_threshold
    assert constants["DEFAULT_EPOCHS"] == TrainParameters().epochs


def test_organ_detect_views_are_the_command_lines():
    from clinicalimaging.detect.parameters import DetectParameters
    from clinicalimaging.parameters import describe

    views = next(ast.literal_eval(statement.value) for statement in module_tree("OrganDetect").body
                 if isinstance(statement, ast.Assign) and ast.unparse(statement.targets[0]) == "VIEWS")
    choices = next(field["choices"] for field in describe(DetectParameters) if field["name"] == "views")
    assert sorted(views.values()) == sorted(choices)


def test_chain_writes_self_paced_segments_members_as_declared():
    """The members that :mod:`clinicalimaging.slicer_chain` writes into Self-Paced Segment's parameter node are
    declared in its wrapper class with the kind the chain writes (a node, a bool, the outline's node classes in the
    ``Union``'s order); the region is kept beside them, not a member."""
    from clinicalimaging import slicer_chain

    annotations = next({statement.target.id: ast.unparse(statement.annotation) for statement in node.body
                        if isinstance(statement, ast.AnnAssign)}
                       for node in module_tree(slicer_chain.SEGMENT_MODULE).body
                       if isinstance(node, ast.ClassDef) and node.name.endswith("ParameterNode"))
    assert annotations[slicer_chain.SEGMENT_INPUT_PARAMETER] == "vtkMRMLScalarVolumeNode"
    assert annotations[slicer_chain.SEGMENT_OUTPUT_PARAMETER] == "vtkMRMLSegmentationNode"
    assert annotations[slicer_chain.SEGMENT_ENHANCE_FIRST_PARAMETER] == "bool"
    outline = f"Optional[Union[{', '.join(slicer_chain.SEGMENT_OUTLINE_CLASSES)}]]"
    assert annotations[slicer_chain.SEGMENT_OUTLINE_PARAMETER] == outline
    assert slicer_chain.SEGMENT_REGION_PARAMETER not in annotations


def test_organ_detect_segments_with_self_paced_segments_requirements():
    """Organ Detect's "Segment this organ" installs Self-Paced Segment's requirements (scikit-learn) before it runs."""
    handler = next(node for node in ast.walk(module_tree("OrganDetect"))
                   if isinstance(node, ast.FunctionDef) and node.name == "onSegmentOrganButton")
    source = ast.unparse(handler)
    assert "modulePath(SEGMENT_MODULE)" in source and "ensure_requirements(" in source
    assert source.index("ensure_requirements(") < source.index("run_with_progress(")


def installed_resources(name: str) -> list:
    """The paths a module's CMakeLists installs as resources, ``${MODULE_NAME}`` filled in."""
    text = (REPOSITORY / name / "CMakeLists.txt").read_text(encoding="utf-8")
    block = text.split("set(MODULE_PYTHON_RESOURCES", 1)[1].split(")", 1)[0]
    return [entry.replace("${MODULE_NAME}", name) for entry in block.split() if not entry.startswith("#")]


def test_no_two_modules_install_a_resource_to_the_same_path():
    """An installed extension's scripted modules share one Resources folder: a second file of a name replaces the
    first (e.g. every module's requirements file)."""
    owners = {}
    for name in MODULE_NAMES:
        for resource in installed_resources(name):
            assert (REPOSITORY / name / resource).is_file(), f"{name} installs {resource}, which does not exist"
            assert resource not in owners, f"{name} and {owners[resource]} both install {resource}"
            owners[resource] = name
