"""The package's layers: array-level modules reach neither Slicer, VTK nor MRML, and load heavy libraries lazily.

Array level (core): ``clinicalimaging/enhance/*``, ``clinicalimaging/segment/*`` and
``clinicalimaging/detect/*`` but their node-level files (``nodes.py`` and each package's
command line ``commands.py``; detection's ROI and table nodes and its evaluation on
label-map nodes) and the Grow-from-seeds peer (Slicer's own filter, which exists only in
VTK, and the evaluation that runs it), and ``preprocess.py``, ``metrics.py``,
``phantom.py``, ``blocks.py``, ``measurements.py``, ``report.py``. Checked twice:
statically (no import statement of a forbidden module anywhere in the file, functions
included) and at import time (a fresh interpreter that imports the module has none of
them in ``sys.modules``).
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "clinicalimaging"
#: The Grow-from-seeds peer: array in, array out, through Slicer's vtkImageGrowCutSegment.
SLICER_PEER = ("segment/grow_from_seeds.py", "segment/evaluation.py")
#: Node-level files besides each package's nodes.py: the command lines, detection's ROI/table nodes and evaluation.
OTHER_NODE_LEVEL = ("enhance/commands.py", "segment/commands.py", "detect/commands.py", "detect/nodes_output.py",
                    "detect/evaluation.py")
ARRAY_LEVEL = sorted(path for folder in ("enhance", "segment", "detect") for path in (PACKAGE_ROOT / folder).glob("*.py")
                     if path.name != "nodes.py" and f"{folder}/{path.name}" not in SLICER_PEER + OTHER_NODE_LEVEL) \
    + [PACKAGE_ROOT / name for name in ("preprocess.py", "metrics.py", "phantom.py", "blocks.py", "measurements.py",
                                        "report.py")]
#: Node-level modules of the package (MRML nodes in and out).
NODE_LEVEL = ("clinicalimaging.mrml", "clinicalimaging.enhance.nodes", "clinicalimaging.segment.nodes",
              "clinicalimaging.phantom_nodes", "clinicalimaging.segment.grow_from_seeds",
              "clinicalimaging.segment.evaluation", "clinicalimaging.detect.nodes",
              "clinicalimaging.detect.nodes_output", "clinicalimaging.detect.evaluation",
              "clinicalimaging.detect.commands", "clinicalimaging.enhance.commands",
              "clinicalimaging.segment.commands", "clinicalimaging.pipeline")
FORBIDDEN = ("slicer", "slicer_core", "vtk", "vtkmodules") + NODE_LEVEL
#: Libraries slow to import: array-level modules import them inside functions, but for these modules,
#: which are themselves imported only when needed (by ``segment/core.py``; by detection's training and
#: loading functions).
HEAVY = ("sklearn", "matplotlib", "tqdm", "keras", "tensorflow", "torch", "jax")
HEAVY_ALLOWED = {"segment/classifier.py", "segment/self_paced.py", "segment/importance.py", "detect/model.py",
                 "detect/losses.py"}


def _name(path: Path) -> str:
    return path.relative_to(PACKAGE_ROOT).as_posix()


def _module(path: Path) -> str:
    return ".".join(("clinicalimaging",) + path.relative_to(PACKAGE_ROOT).with_suffix("").parts)


def _array_level(*, leave_out=()):
    """The array-level files as test parameters."""
    return [pytest.param(path, id=_name(path)) for path in ARRAY_LEVEL if _name(path) not in leave_out]


def imported_modules(path: Path):
    """``(absolute module name, line, at module top level)`` of every import statement of a package file."""
    package = _module(path).rsplit(".", 1)[0]
    found = []

    def visit(node: ast.AST, top_level: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno, top_level) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            # "from .. import mrml" imports the module clinicalimaging.mrml: list each name under the base too.
            found.append((base, node.lineno, top_level))
            found.extend((f"{base}.{alias.name}", node.lineno, top_level) for alias in node.names)
        in_function = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, top_level and not in_function)

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)), True)
    return found


def _is_within(module: str, packages) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


def test_the_array_level_is_found():
    names = {_name(path) for path in ARRAY_LEVEL}
    assert {"enhance/core.py", "enhance/compare.py", "segment/core.py", "metrics.py", "phantom.py",
            "detect/boxes.py", "detect/inference.py", "detect/training.py"} <= names
    assert not names & {"enhance/nodes.py", "segment/nodes.py", *SLICER_PEER}


@pytest.mark.parametrize("path", _array_level())
def test_array_level_module_has_no_import_statement_of_slicer_vtk_or_mrml(path):
    offending = [(module, line) for module, line, _ in imported_modules(path) if _is_within(module, FORBIDDEN)]
    assert not offending, f"{_name(path)} imports node-level or Slicer modules: {offending}"


@pytest.mark.parametrize("path", _array_level())
def test_array_level_module_loads_no_slicer_vtk_or_mrml(path):
    probe = (f"import sys, {_module(path)}; "
             f"print(sorted(name for name in sys.modules if name.split('.')[0] in {FORBIDDEN[:3]!r} "
             f"or name in {NODE_LEVEL!r} or name.startswith('clinicalimaging.mrml.')))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]", f"importing {_module(path)} loads {loaded}"


@pytest.mark.parametrize("path", _array_level(leave_out=HEAVY_ALLOWED))
def test_array_level_module_imports_heavy_libraries_only_lazily(path):
    offending = [(module, line) for module, line, top_level in imported_modules(path)
                 if top_level and _is_within(module, HEAVY)]
    assert not offending, f"{_name(path)} imports at module level: {offending}"


def test_imported_modules_resolves_relative_imports():
    names = {module for module, _, _ in imported_modules(PACKAGE_ROOT / "enhance" / "nodes.py")}
    assert {"clinicalimaging.mrml", "clinicalimaging.enhance.core"} <= names


def test_keras_loads_only_when_a_detector_is_built_or_loaded():
    probe = ("import sys, clinicalimaging.cli, clinicalimaging.detect.inference, clinicalimaging.detect.training, "
             "clinicalimaging.detect.model_files, clinicalimaging.detect.nodes; "
             "print(sorted(name for name in ('keras', 'tensorflow', 'torch', 'jax') if name in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]", f"importing the detection modules loads {loaded}"
