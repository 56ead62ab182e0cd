"""The Slicer-runtime tier: the modules loaded, bound and run in a stand-in for Slicer's own Python.

A Python 3.12 virtual environment holds exactly what a stock 3D Slicer 5.12.3 ships
(``slicer_runtime/stock-5.12.3.txt``) plus ``slicer-core`` for MRML; this package is
installed into it with ``pip install --no-deps`` (non-editable, so the packaged files are
what is tested). In it, ``slicer_runtime/run_modules.py`` puts Slicer's real Python layer
(``../shared/slicer-python/v5.12.3``: ``parameterNodeWrapper``, ``ScriptedLoadableModule``,
``packaging``, ``util``, ``i18n``) together with slicer-core's MRML classes and Qt/CTK
stand-ins built from each module's ``.ui``, then for every module:

- imports the module file (a module that needs a package Slicer lacks fails here, as it
  would be missing from Slicer's module list), creates the widget, ``setup()`` and
  ``enter()`` (the real ``connectGui``), checks each ``SlicerParameterName`` is bound and
  that values travel widget -> parameter node -> widget;
- installs ``<Module>/Resources/Requirements/<Module>.txt`` for real with
  ``slicer.packaging.pip_ensure`` (the 5.12 route; its confirmation box answered OK),
  runs the logic on a phantom, presses Apply in the panel, and runs the module's self-test.

OrganDetect's requirements (Keras, TensorFlow: gigabytes with the NVIDIA libraries on Linux,
minutes to download on every run) are not installed (``environments.NOT_INSTALLED``): its
process phase checks the requirements file instead (valid markers, one TensorFlow per
platform, no core package, not yet satisfied), presses Apply with the installation
declined (one question naming both, nothing changed), and runs its self-test without
them, which checks input errors, a cancel that stops the child process, and the message
of a run whose child lacks Keras. Its logic and Apply steps on a phantom are left out,
as they need the network.

The panels that hand a result to Self-Paced Segment (Fractional Enhance's enhanced
volume, Organ Detect's organ box) have their button pressed in the bind phase: Self-Paced
Segment's own parameter node wrapper and open panel must show what was handed over. Organ
Detect's button first segments the organ, which needs Self-Paced Segment's requirement
(scikit-learn): in the bind phase, without it, the installation is declined and nothing
may change; Self-Paced Segment's process phase runs first, and Organ Detect's then presses
the button again, with scikit-learn installed through that panel's own ``pip_ensure``: the
liver of a phantom, from its true box, becomes Self-Paced Segment's output (one segment
"liver", Dice against the phantom's) and the outline points it started from its outline.

The command line (``python -m clinicalimaging enhance``) runs there before the
requirements are installed (only stock packages) and after. Then the batch-mode script
``SelfPacedSegment/Resources/Scripts/batch_chain.py`` runs as ``Slicer --no-main-window
--python-script`` runs it (``slicer_runtime/run_batch_script.py``) on two phantom cases
(``slicer_runtime/write_cases.py``, one with an outline): without matplotlib (which no
panel installs) it stops with status 2 and names it, with detection but without
Keras/TensorFlow it stops and names them (TensorFlow is not installed in the tier, see
below), and with ``--no-detect --install-requirements`` it installs matplotlib with pip
and writes both case folders complete (status 0, nothing left in Slicer's scene). The import/bind part runs
again with the 5.10.0 layer in a Slicer 5.10 environment (numpy 2.0.2, scipy 1.13.1).

Environments are built once under ``.slicer-runtime/`` (ignored by git), in folders keyed
by a hash of the pinned lists; each run works on a hard-linked clone, so installs never
touch the cache. Skips only when ``../shared/slicer-python`` (or
``$CLINICALIMAGING_SLICER_PYTHON``) is absent or Python 3.12 is not installed. Timings
(environment builds, module imports, each step) are printed and written to
``.slicer-runtime/last-run.txt``.
"""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
RUNTIME = HERE / "slicer_runtime"


def _load_helper(name):
    """A helper of ``slicer_runtime/`` loaded by path (that folder stays off this process's sys.path)."""
    spec = importlib.util.spec_from_file_location(f"_slicer_runtime_{name}", RUNTIME / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


environments = _load_helper("environments")

REPOSITORY = HERE.parent
SLICER_PYTHON = Path(os.environ.get("CLINICALIMAGING_SLICER_PYTHON")
                     or Path(__file__).resolve().parents[2] / "shared" / "slicer-python")
RELEASE, OLD_RELEASE = "5.12.3", "5.10.0"
#: Core packages no requirements file may name (reinstalling them breaks Slicer), besides the stock list.
CORE = {"numpy", "scipy", "simpleitk", "vtk", "slicer-core", "slicer"}
STEP_TIMEOUT_S = 900
#: Slowest acceptable import of a module file in a stock Slicer (printed, not asserted).
IMPORT_BUDGET_S = 0.1
#: Modules with a button that hands their result to Self-Paced Segment (``run_modules.CHAIN_BUTTONS``).
CHAIN_BUTTON_MODULES = ("FractionalEnhance", "OrganDetect")
CHAIN_STEP = "chain button to SelfPacedSegment"
#: The process phase's repeat of it once Self-Paced Segment's requirements are installed
#: (``run_modules.CHAIN_SEGMENTING_STEP``): Organ Detect's button segments the organ then.
CHAIN_SEGMENTING_STEP = "chain button to SelfPacedSegment, its requirements installed"
#: The module whose requirements (scikit-learn) Organ Detect's button needs: its process phase runs first.
SEGMENT_MODULE = "SelfPacedSegment"


def discover_modules():
    """Module names: ``add_subdirectory(X)`` of the top-level CMakeLists.txt, and every folder ``X/`` holding ``X.py``."""
    names = {path.parent.name for path in REPOSITORY.glob("*/*.py") if path.stem == path.parent.name}
    cmake = REPOSITORY / "CMakeLists.txt"
    if cmake.is_file():
        for name in re.findall(r"^\s*add_subdirectory\(\s*([A-Za-z0-9_]+)\s*\)", cmake.read_text(encoding="utf-8"), re.MULTILINE):
            if (REPOSITORY / name / f"{name}.py").is_file():
                names.add(name)
    return sorted(names)


MODULES = discover_modules()


def core_packages(release=RELEASE):
    """Names (canonical) of what a stock Slicer ships: the core list and the pinned stock list."""
    return CORE | set(environments.pinned(release))


def requirement_names(path):
    """Canonical names of the requirements of a requirements file (``#`` and ``-`` lines skipped, as Slicer does)."""
    from packaging.requirements import Requirement

    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        names.append(environments.canonical(Requirement(line).name))
    return names


# ---------------------------------------------------------------------------------------------
# Orchestration (one per test run, shared by pytest-xdist workers through a results file)


def _log(message):
    print(f"[slicer-runtime] {message}", flush=True)


def _python312():
    if not (SLICER_PYTHON / f"v{RELEASE}" / "slicer").is_dir():
        pytest.skip(f"Slicer's Python layer not found at {SLICER_PYTHON} (set CLINICALIMAGING_SLICER_PYTHON; "
                    "present in CI next to the repository as ../shared/slicer-python)")
    python = environments.find_python()
    if python is None:
        pytest.skip("Python 3.12 is not installed (looked for python3.12 with PYENV_VERSION=3.12.1)")
    return python


def _run_id():
    return os.environ.get("PYTEST_XDIST_TESTRUNUID") or _SESSION_ID


_SESSION_ID = uuid.uuid4().hex[:12]


def _shared_results(kind, produce):
    """Results of ``produce()``, computed by the first worker of this test run and read by the others."""
    runs = environments.CACHE / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    for old in [*runs.glob("*.json"), *runs.glob("*.lock")]:
        stale = time.time() - old.stat().st_mtime > 6 * 3600  # results of runs long finished
        if stale:
            old.unlink(missing_ok=True)
    path = runs / f"{_run_id()}-{kind}.json"
    with environments.locked(path):
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
        results = produce()
        path.write_text(json.dumps(results, indent=1, default=str))
        return results


def _subprocess(command, *, cwd, timeout=STEP_TIMEOUT_S, env=None):
    started = time.perf_counter()
    env = dict(env or environments.pip_env())
    try:
        result = subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True, encoding="utf-8",
                                errors="replace", timeout=timeout, env=env)
        code, out, err = result.returncode, result.stdout, result.stderr
    except subprocess.TimeoutExpired as expired:
        code, out, err = "timeout", str(expired.stdout or ""), str(expired.stderr or "")
    return {"command": " ".join(map(str, command)), "returncode": code, "stdout": out[-4000:],
            "stderr": err[-6000:], "seconds": round(time.perf_counter() - started, 2)}


def _slicer_env(python):
    """The environment of a Slicer-like process: the stock environment's bin (``PythonSlicer``) first on PATH."""
    return dict(environments.pip_env(), PATH=f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}")


def _run_module(python, layer, name, phase, workdir, *, extra=()):
    report = workdir / f"{name}-{phase}-{layer.name}.json"
    report.unlink(missing_ok=True)
    env = _slicer_env(python)
    run = _subprocess([python, RUNTIME / "run_modules.py", "--layer", layer,
                       "--module-file", REPOSITORY / name / f"{name}.py", "--phase", phase, "--report", report,
                       "--temp", workdir, *extra], cwd=workdir, env=env)
    data = json.loads(report.read_text(encoding="utf-8")) if report.is_file() else {"steps": []}
    data["run"] = run
    return data


def _cli_enhance(python, workdir, label):
    source, output = workdir / f"cli-{label}-in.nrrd", workdir / f"cli-{label}-out.nrrd"
    output.unlink(missing_ok=True)
    phantom = _subprocess([python, RUNTIME / "write_phantom.py", source], cwd=workdir, timeout=300)
    if phantom["returncode"] != 0:
        return {"phantom": phantom, "returncode": "no input", "output_exists": False}
    run = _subprocess([python, "-m", "clinicalimaging", "enhance", source, output, "--quiet"], cwd=workdir,
                      timeout=600)
    run["output_exists"] = output.is_file()
    return run


#: The shipped batch-mode script, and its runs in the tier in order: what each is about -> its options after
#: INDIR OUTDIR. The environment has the panels' requirements installed (scikit-learn), not matplotlib nor TensorFlow.
BATCH_SCRIPT = REPOSITORY / "SelfPacedSegment" / "Resources" / "Scripts" / "batch_chain.py"
BATCH_RUNS = {"without matplotlib": ["--no-detect"], "detection without TensorFlow": [],
              "installing what it lacks": ["--no-detect", "--install-requirements"]}


def _batch_chain(python, layer, workdir):
    """The batch-mode script on a folder of two phantom cases, run as Slicer runs it, once per :data:`BATCH_RUNS`."""
    cases = workdir / "batch-in"
    written = _subprocess([python, RUNTIME / "write_cases.py", cases], cwd=workdir, timeout=300)
    results = {"write_cases": written, "runs": {}}
    if written["returncode"] != 0:
        return results
    for index, (label, options) in enumerate(BATCH_RUNS.items()):
        output, report = workdir / f"batch-out-{index}", workdir / f"batch-{index}.json"
        run = _subprocess([python, RUNTIME / "run_batch_script.py", "--layer", layer, "--script", BATCH_SCRIPT,
                           "--report", report, "--temp", workdir, "--", cases, output, *options],
                          cwd=workdir, env=_slicer_env(python))
        run["report"] = json.loads(report.read_text(encoding="utf-8")) if report.is_file() else None
        run["folders"] = _case_folders(output)
        results["runs"][label] = run
    results["installed_after"] = environments.installed(python)
    return results


def _case_folders(output):
    """``{name: {"files": [...], "summary": dict or None}}`` of every entry of an OUTDIR (hidden ones too); None
    when OUTDIR does not exist."""
    if not output.is_dir():
        return None
    folders = {}
    for entry in sorted(output.iterdir()):
        summary = entry / "summary.json"
        folders[entry.name] = {"files": sorted(path.name for path in entry.iterdir()) if entry.is_dir() else None,
                               "summary": json.loads(summary.read_text(encoding="utf-8")) if summary.is_file()
                               else None}
    return folders


def _prepare(release, python, workdir, timings):
    started = time.perf_counter()
    folder, info = environments.ensure(release, python)
    timings[f"venv {release}: " + ("cached" if info["reused"] else "built") + f" (cold build {info['built_s']} s)"] = \
        round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    clone_python = environments.clone(folder, workdir / f"venv-{release}")
    stock = environments.installed(clone_python)
    environments.install_package(clone_python, workdir, log=workdir / "install.log")
    with_package = environments.installed(clone_python)
    timings[f"venv {release}: clone + pip install --no-deps clinicalimaging"] = round(time.perf_counter() - started, 1)
    return clone_python, {"build": info, "stock": stock, "with_package": with_package,
                          "site_packages": str(clone_python.parent.parent / "lib")}


def _new_workdir(release):
    """An empty folder for one run of the tier for ``release``."""
    workdir = environments.CACHE / "runs" / f"{_run_id()}-{release}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    return workdir


def _bind_modules(python, layer, release, workdir, timings):
    """The bind phase of every module in one environment: ``{module: report}``, timings recorded."""
    reports = {}
    for name in MODULES:
        reports[name] = _run_module(python, layer, name, "bind", workdir)
        timings[f"{name}: bind ({release})"] = reports[name]["run"]["seconds"]
    return reports


def _produce_512():
    python = _python312()
    timings = {}
    workdir = _new_workdir(RELEASE)
    layer = SLICER_PYTHON / f"v{RELEASE}"
    try:
        clone_python, results = _prepare(RELEASE, python, workdir, timings)
        results["cli_before"] = _cli_enhance(clone_python, workdir, "before")
        timings["CLI enhance, stock packages only"] = results["cli_before"].get("seconds")
        results["bind"] = _bind_modules(clone_python, layer, RELEASE, workdir, timings)
        results["process"] = {}
        for name in sorted(MODULES, key=lambda name: name != SEGMENT_MODULE):  # its requirements first
            results["process"][name] = _run_module(clone_python, layer, name, "process", workdir,
                                                   extra=["--self-test", "--core", ",".join(sorted(core_packages()))])
            timings[f"{name}: requirements + logic + Apply + self-test ({RELEASE})"] = \
                results["process"][name]["run"]["seconds"]
        results["after_requirements"] = environments.installed(clone_python)
        results["cli_after"] = _cli_enhance(clone_python, workdir, "after")
        timings["CLI enhance, after the requirements"] = results["cli_after"].get("seconds")
        results["batch"] = _batch_chain(clone_python, layer, workdir)
        for label, run in results["batch"]["runs"].items():
            timings[f"batch_chain.py, {label}"] = run.get("seconds")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results["timings"] = timings
    return results


def _produce_510():
    python = _python312()
    timings = {}
    workdir = _new_workdir(OLD_RELEASE)
    layer = SLICER_PYTHON / f"v{OLD_RELEASE}"
    try:
        if not (layer / "slicer").is_dir():
            return {"missing_layer": str(layer), "timings": timings}
        clone_python, results = _prepare(OLD_RELEASE, python, workdir, timings)
        results["bind"] = _bind_modules(clone_python, layer, OLD_RELEASE, workdir, timings)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results["timings"] = timings
    return results


def _summary(kind, results):
    lines = [f"Slicer-runtime tier, {kind} ({time.strftime('%Y-%m-%d %H:%M:%S')})"]
    build = results.get("build", {})
    if build:
        lines.append(f"  environment {build.get('key')}: cold build {build.get('built_s')} s"
                     f"{' (reused)' if build.get('reused') else ''}")
        lines.append("  packages: " + ", ".join(f"{k}=={v}" for k, v in sorted(results.get("stock", {}).items())))
    for label, seconds in results.get("timings", {}).items():
        lines.append(f"  {label}: {seconds} s")
    for name, report in results.get("bind", {}).items():
        import_s = report.get("import_s")
        flag = "" if import_s is None or import_s < IMPORT_BUDGET_S else f"  (over the {IMPORT_BUDGET_S} s a module should take)"
        lines.append(f"  import {name}.py: {import_s if import_s is not None else 'failed'} s{flag}")
        for step, seconds in report.get("startup", {}).items():
            lines.append(f"    startup before it, {step}: {seconds:.3f} s")
    for name, report in results.get("process", {}).items():
        for step in report.get("steps", []):
            lines.append(f"  {name} / {step['name']}: {'ok' if step['ok'] else 'FAILED'} in {step.get('seconds')} s")
    text = "\n".join(lines)
    mode = "a" if kind == OLD_RELEASE else "w"
    with open(environments.CACHE / "last-run.txt", mode, encoding="utf-8") as handle:
        handle.write(text + "\n")
    return text


@pytest.fixture(scope="module")
def runtime():
    results = _shared_results(RELEASE, _produce_512)
    print("\n" + _summary(RELEASE, results))
    return results


@pytest.fixture(scope="module")
def runtime_510():
    results = _shared_results(OLD_RELEASE, _produce_510)
    if "missing_layer" in results:
        pytest.fail(f"{SLICER_PYTHON} has no v{OLD_RELEASE} layer ({results['missing_layer']})")
    print("\n" + _summary(OLD_RELEASE, results))
    return results


# ---------------------------------------------------------------------------------------------
# Assertions


def _step(report, name):
    for step in report.get("steps", []):
        if step["name"] == name:
            return step
    return None


def _explain(report):
    run = report.get("run", {})
    return (f"\n--- runner ({run.get('command')}, exit {run.get('returncode')}) ---\n"
            f"{run.get('stdout', '')[-2000:]}\n{run.get('stderr', '')[-4000:]}")


def assert_steps(report, names, what):
    for name in names:
        step = _step(report, name)
        if step is None:
            earlier = [s for s in report.get("steps", []) if not s["ok"]]
            if earlier:
                raise AssertionError(f"{what}: '{name}' did not run because '{earlier[0]['name']}' failed:\n"
                                     f"{earlier[0]['error']}")
            raise AssertionError(f"{what}: '{name}' did not run{_explain(report)}")
        assert step["ok"], f"{what}: '{name}' failed:\n{step['error']}\ndetails: {json.dumps(step['details'])[:3000]}"


def check_stock(results, release):
    pins = environments.pinned(release)
    stock = results["stock"]
    not_shipped = sorted(set(stock) & environments.NOT_SHIPPED)
    assert not not_shipped, f"the stock {release} environment holds {not_shipped}, which Slicer does not ship"
    extra = sorted(set(stock) - set(pins))
    assert not extra, f"the stock {release} environment holds packages outside the pinned list: {extra}"
    wrong = {name: (stock.get(name), version) for name, version in pins.items() if stock.get(name) != version}
    assert not wrong, f"installed vs pinned versions differ in the {release} environment: {wrong}"
    added = {name: version for name, version in results["with_package"].items() if stock.get(name) != version}
    assert set(added) == {"clinicalimaging"}, (
        f"pip install --no-deps of the package changed more than the package itself: {added}")


def test_modules_discovered():
    assert {"FractionalEnhance", "SelfPacedSegment", "OrganDetect"} <= set(MODULES), MODULES


def requirements_on(path, platform):
    """Canonical names of the requirements of a file whose markers hold on ``platform`` (a ``sys.platform``)."""
    from packaging.requirements import Requirement

    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({"sys_platform": platform}):
            names.append(environments.canonical(requirement.name))
    return names


@pytest.mark.parametrize("name", MODULES)
def test_requirements_hold_no_core_package(name):
    """``Resources/Requirements/<Module>.txt`` lists only what Slicer lacks (never numpy, scipy, SimpleITK, vtk,
    slicer-core...)."""
    path = REPOSITORY / name / "Resources" / "Requirements" / f"{name}.txt"
    if not path.is_file():
        return  # a module that needs nothing beyond a stock Slicer has no requirements file
    named = requirement_names(path)
    core = sorted(set(named) & core_packages())
    assert not core, (f"{path.relative_to(REPOSITORY)} names {core}: a stock Slicer ships them and reinstalling "
                      "them breaks Slicer; list only the packages Slicer lacks")
    for platform in ("linux", "darwin", "win32"):  # one line per platform and package (markers may split one)
        applicable = requirements_on(path, platform)
        assert len(set(applicable)) == len(applicable), (
            f"{path.relative_to(REPOSITORY)} names a package twice on {platform}: {applicable}")


def test_organ_detect_requirements_per_platform():
    """Keras everywhere; TensorFlow >= 2.18 (NumPy 2) everywhere, with the NVIDIA libraries on Linux only."""
    from packaging.requirements import Requirement

    path = REPOSITORY / "OrganDetect" / "Resources" / "Requirements" / "OrganDetect.txt"
    requirements = [Requirement(line) for line in (line.split("#")[0].strip()
                                                   for line in path.read_text(encoding="utf-8").splitlines()) if line]
    for platform in ("linux", "darwin", "win32"):
        applicable = {requirement.name: requirement for requirement in requirements
                      if requirement.marker is None or requirement.marker.evaluate({"sys_platform": platform})}
        assert set(applicable) == {"keras", "tensorflow"}, (platform, applicable)
        assert applicable["keras"].specifier.contains("3.6") and not applicable["keras"].specifier.contains("3.5")
        tensorflow = applicable["tensorflow"]
        assert tensorflow.specifier.contains("2.18") and not tensorflow.specifier.contains("2.17"), tensorflow
        assert tensorflow.extras == ({"and-cuda"} if platform == "linux" else set()), (platform, tensorflow)


def test_stock_environment(runtime):
    """Exactly what Slicer 5.12.3 ships plus slicer-core (and vtk without its matplotlib), then only the package."""
    check_stock(runtime, RELEASE)


def test_stock_environment_5_10(runtime_510):
    check_stock(runtime_510, OLD_RELEASE)


@pytest.mark.parametrize("name", MODULES)
def test_module_imports_in_stock_slicer(runtime, name):
    report = runtime["bind"][name]
    print(f"import {name}.py: {report.get('import_s')} s (a stock-Slicer module should load well under "
          f"{IMPORT_BUDGET_S} s)")
    assert_steps(report, ["start Slicer-like Python", "import module file"], f"{name} in Slicer {RELEASE}")
    location = _step(report, "import module file")["details"]["clinicalimaging_file"]
    assert location.startswith(runtime["site_packages"]), (
        f"the module imported clinicalimaging from {location}, not from the installed package")


@pytest.mark.parametrize("name", MODULES)
def test_module_panel_binds_parameters(runtime, name):
    assert_steps(runtime["bind"][name], ["import module file", "module class", "widget setup and enter",
                                         "parameter bindings", "tooltip for a parameter without a widget",
                                         "exit, enter, close scene"],
                 f"{name} panel in Slicer {RELEASE}")


@pytest.mark.parametrize("name", CHAIN_BUTTON_MODULES)
def test_panel_hands_its_result_to_self_paced_segment(runtime, runtime_510, name):
    """One click: Self-Paced Segment's wrapper and open panel show the handed nodes, and that module is opened."""
    for release, results in ((RELEASE, runtime), (OLD_RELEASE, runtime_510)):
        assert_steps(results["bind"][name], [CHAIN_STEP], f"{name}'s button to Self-Paced Segment in Slicer {release}")
    if name == "OrganDetect":  # the organ is segmented once scikit-learn is installed
        report = runtime["process"][name]
        assert_steps(report, [CHAIN_SEGMENTING_STEP], f"{name}'s button, scikit-learn installed, in Slicer {RELEASE}")
        details = _step(report, CHAIN_SEGMENTING_STEP)["details"]
        print(f"Segment this organ: {details.get('segmentation')}, Dice {details.get('dice')} against the phantom's "
              f"liver, {details.get('click_s')} s")


@pytest.mark.parametrize("name", MODULES)
def test_module_imports_and_binds_in_slicer_5_10(runtime_510, name):
    report = runtime_510["bind"][name]
    print(f"import {name}.py (Slicer {OLD_RELEASE}): {report.get('import_s')} s")
    assert not report.get("slicer_has_packaging"), "the 5.10.0 layer unexpectedly has slicer.packaging"
    assert_steps(report, ["start Slicer-like Python", "import module file", "module class", "widget setup and enter",
                          "parameter bindings", "exit, enter, close scene"], f"{name} in Slicer {OLD_RELEASE}")


@pytest.mark.parametrize("name", MODULES)
def test_requirements_installed_and_logic_runs(runtime, name):
    """pip_ensure installs the requirements for real; the logic, the Apply button and the self-test then work."""
    report = runtime["process"][name]
    requirements_step = ("requirements checked, not installed" if name in environments.NOT_INSTALLED
                         else "requirements via slicer.packaging.pip_ensure")
    expected = ["import module file", "widget setup and enter", requirements_step]
    if name in environments.NOT_INSTALLED:
        expected.append("Apply with the installation declined")
    expected += [step["name"] for step in report.get("steps", []) if step["name"] not in expected]
    if "module self-test" not in expected:
        expected.append("module self-test")
    requirements = _step(report, requirements_step)
    if requirements is not None:
        print(f"{name} requirements: {requirements['details'].get('requirements')}, installed "
              f"{requirements['details'].get('installed')} in {requirements['details'].get('pip_ensure_s')} s")
    assert_steps(report, expected, f"{name} with its requirements in Slicer {RELEASE}")


def _check_cli(run, when):
    assert run["returncode"] == 0, (f"python -m clinicalimaging enhance IN OUT --quiet {when} exited "
                                    f"{run['returncode']}:\n{run.get('stderr', '')}{run.get('phantom', '')}")
    assert run["output_exists"], f"python -m clinicalimaging enhance {when} wrote no output file"


def test_cli_enhance_with_stock_packages_only(runtime):
    _check_cli(runtime["cli_before"], "in a stock Slicer environment (before any requirements file is installed)")


def test_cli_enhance_after_requirements(runtime):
    _check_cli(runtime["cli_after"], "after the modules' requirements were installed")


def test_requirements_leave_slicer_packages_alone(runtime):
    """Installing the modules' requirements changed no package that Slicer ships."""
    stock = runtime["stock"]
    changed = {name: (version, runtime["after_requirements"].get(name)) for name, version in stock.items()
               if runtime["after_requirements"].get(name) != version}
    assert not changed, f"installing the requirements files changed Slicer's own packages: {changed}"


# ---------------------------------------------------------------------------------------------
# The batch-mode script


def _batch_run(runtime, label):
    batch = runtime["batch"]
    written = batch["write_cases"]
    assert written["returncode"] == 0, f"writing the phantom cases failed:\n{written['stderr']}"
    run = batch["runs"][label]
    assert run["report"] is not None, (f"the batch script's runner wrote no report ({run['returncode']}):\n"
                                       f"{run['stdout']}\n{run['stderr']}")
    assert run["report"]["exit_called"], "batch_chain.py returned without slicer.util.exit: Slicer would keep running"
    return run


def test_batch_script_names_the_packages_it_lacks(runtime):
    """With only the panels' requirements, the chain lacks matplotlib (report.png): status 2, nothing written."""
    run = _batch_run(runtime, "without matplotlib")
    assert run["returncode"] == run["report"]["status"] == 2, run["stdout"] + run["stderr"]
    assert "matplotlib" in run["stderr"] and "--install-requirements" in run["stderr"], run["stderr"]
    assert "scikit-learn" not in run["stderr"], "the panels' pip_ensure installed scikit-learn already"
    assert run["folders"] is None, "OUTDIR was created although no case could run"


def test_batch_script_detection_needs_keras_and_tensorflow(runtime):
    """Detection runs in PythonSlicer, which lacks Keras and TensorFlow here: status 2, and --no-detect is offered."""
    run = _batch_run(runtime, "detection without TensorFlow")
    assert run["returncode"] == 2, run["stdout"] + run["stderr"]
    for word in ("keras", "tensorflow", "--no-detect"):
        assert word in run["stderr"], run["stderr"]


def test_batch_script_runs_the_chain_on_a_folder(runtime):
    """Two phantom cases (one outlined) through enhance and segment in Slicer's process: both folders complete."""
    run = _batch_run(runtime, "installing what it lacks")
    print(f"batch_chain.py on two cases (matplotlib installed first): {run['seconds']} s\n{run['stdout'][-1500:]}")
    assert run["returncode"] == run["report"]["status"] == 0, run["stdout"] + run["stderr"]
    assert run["report"]["nodes_left"] == [], "the cases' nodes stayed in slicer.mrmlScene"
    lines = [line for line in run["stdout"].splitlines() if line.startswith(("outlined:", "plain:"))]
    assert [line.split(":")[0] for line in lines] == ["outlined", "plain"], run["stdout"]
    assert all(": done in " in line for line in lines), lines
    folders = run["folders"]
    assert sorted(folders) == ["cohort.html", "outlined", "plain", "summary.csv"], \
        f"OUTDIR holds {sorted(folders)} (a partial folder left?)"
    common = {"enhanced.nrrd", "order_map.nrrd", "report.png", "scene.mrb", "summary.json"}
    assert set(folders["outlined"]["files"]) == common | {"lesion.seg.nrrd"}, folders["outlined"]["files"]
    assert set(folders["plain"]["files"]) == common, folders["plain"]["files"]
    outlined, plain = folders["outlined"]["summary"], folders["plain"]["summary"]
    assert outlined["stages"] == ["enhance", "segment"] and plain["stages"] == ["enhance"]
    assert outlined["lesion"]["volume_ml"] > 0 and outlined["lesion"]["longest_diameter_mm"] > 0
    assert outlined["cnr"]["original"] > 0 and outlined["cnr"]["enhanced"] is not None
    assert plain["lesion"] is None and set(plain["seconds"]) == {"enhance"}
    assert "batch_chain.py" in outlined["command"], outlined["command"]  # the provenance names the script


def test_batch_script_installs_no_core_package(runtime):
    """--install-requirements added packages (matplotlib and its own) but changed none that Slicer ships."""
    installed = runtime["batch"].get("installed_after")
    assert installed is not None, "the batch runs did not happen (see test_batch_script_runs_the_chain_on_a_folder)"
    assert "matplotlib" in installed
    changed = {name: (version, installed.get(name)) for name, version in runtime["stock"].items()
               if installed.get(name) != version}
    assert not changed, f"the batch script's installation changed Slicer's own packages: {changed}"
