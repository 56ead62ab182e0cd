"""Cached Python 3.12 virtual environments holding what a stock Slicer ships, plus slicer-core.

Used by ``Testing/test_slicer_runtime.py`` (runs in the project's own Python). Each
environment is built once under ``.slicer-runtime/`` at the repository root, in a folder
named by a hash of everything that decides its content (the pinned list, the MRML
pins, the Python version, this file's build steps); a change to any of them builds a new
one. The cached environment is never modified: each test run works on a hard-linked
clone (:func:`clone`), into which this package and the modules' requirements are installed.
"""

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parents[1]
CACHE = REPOSITORY / ".slicer-runtime"
PYTHON_VERSION = "3.12.1"
#: Bump when the build steps below change (part of the cache key).
BUILD_STEPS_VERSION = "1"

#: Slicer release -> (pinned stock list, MRML pins installed with --no-deps).
#: slicer-core on PyPI (pip index versions, Dec 2026): 5.13.31053.0, 5.12.4.0, 5.11.0.2-6; every
#: one requires only vtk (5.11.x and 5.12.4.0: vtk==9.6.0; 5.13: vtk==9.6.2). There is no
#: slicer-core 5.12.3 or 5.10.x: 5.12.3 uses 5.12.4.0 (same release line), 5.10.0 uses the oldest,
#: 5.11.0.2 (its MRML is one development cycle newer than 5.10's; it accepts numpy 2.0.2, as it
#: does not depend on numpy at all).
#: vtk's wheel declares ``Requires-Dist: matplotlib>=2.0.0`` (for its optional matplotlib
#: text rendering); Slicer's VTK does not ship matplotlib, so vtk is installed with --no-deps.
RELEASES = {
    "5.12.3": ("stock-5.12.3.txt", ["slicer-core==5.12.4.0", "vtk==9.6.0"]),
    "5.10.0": ("stock-5.10.0.txt", ["slicer-core==5.11.0.2", "vtk==9.6.0"]),
}
#: Packages a stock Slicer does not ship; none may be in a stock environment.
NOT_SHIPPED = {"scikit-learn", "sklearn", "matplotlib", "tqdm", "dask", "distributed", "tensorflow", "keras", "torch",
               "pandas", "scikit-image"}

#: Modules whose requirements the tier does not install, and why: their process phase checks the
#: requirements file, presses Apply with the installation declined and runs the self-test without
#: them (``run_modules.py``). Keras and TensorFlow are gigabytes (the NVIDIA libraries on Linux) and
#: minutes of download on every run; the module imports neither itself, its child process does.
NOT_INSTALLED = {"OrganDetect": "Keras and TensorFlow (with the NVIDIA libraries on Linux) take gigabytes and "
                                "minutes to install; the module imports neither itself (its child process does)"}


def canonical(name):
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(release):
    """``{canonical name: version}`` of the pinned stock list plus the MRML pins of a release."""
    stock_file, mrml = RELEASES[release]
    pins = {}
    for line in (HERE / stock_file).read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonical(name)] = version
    for requirement in mrml:
        name, version = requirement.split("==")
        pins[canonical(name)] = version
    return pins


def find_python():
    """The Python 3.12 interpreter (``PYENV_VERSION=3.12.1 python3.12``), or None."""
    env = dict(os.environ, PYENV_VERSION=os.environ.get("PYENV_VERSION_312", PYTHON_VERSION))
    candidate = shutil.which("python3.12")
    if candidate is None:
        return None
    try:
        out = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 12), sys.executable)"],
                             env=env, capture_output=True, encoding="utf-8", errors="replace", timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    ok, _, executable = out.stdout.strip().partition(" ")
    return executable if out.returncode == 0 and ok == "True" else None


def cache_key(release, python):
    stock_file, mrml = RELEASES[release]
    digest = hashlib.sha256()
    for part in ((HERE / stock_file).read_text(encoding="utf-8"), "\n".join(mrml), python, BUILD_STEPS_VERSION,
                 sys.platform):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def locked(path):
    """An exclusive lock (a file next to ``path``) across processes: pytest-xdist workers, parallel runs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run(command, *, log, env=None, timeout=1200, cwd=None):
    started = time.perf_counter()
    result = subprocess.run([str(part) for part in command], capture_output=True, encoding="utf-8",
                            errors="replace", env=env, timeout=timeout, cwd=cwd)
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(f"$ {' '.join(map(str, command))}\n{result.stdout}{result.stderr}"
                     f"[exit {result.returncode}, {time.perf_counter() - started:.1f} s]\n")
    if result.returncode != 0:
        raise RuntimeError(f"command failed ({result.returncode}): {' '.join(map(str, command))}\n"
                           f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def pip_env():
    """Environment for pip and the environment's Python: quiet, no user site, nothing from the project's venv."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PIP_REQUIRE_VIRTUALENV")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONNOUSERSITE="1", PIP_NO_INPUT="1")
    return env


def installed(python):
    """``{canonical name: version}`` of an environment's distributions."""
    out = subprocess.run([str(python), "-m", "pip", "list", "--format", "json"], capture_output=True, encoding="utf-8", errors="replace",
                         env=pip_env(), timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"pip list failed: {out.stderr}")
    return {canonical(item["name"]): item["version"] for item in json.loads(out.stdout)}


def ensure(release, python):
    """The cached stock environment of a release: ``(folder, build info)``; builds it when missing.

    ``build info`` has ``built_s`` (cold build time) and ``packages``; ``reused`` says whether
    this call found it ready.
    """
    key = cache_key(release, python)
    folder = CACHE / f"slicer-{release}-py312-{key}"
    marker = folder / "build.json"
    with locked(folder):
        if marker.is_file():
            info = json.loads(marker.read_text(encoding="utf-8"))
            info["reused"] = True
            return folder, info
        if folder.exists():
            shutil.rmtree(folder)
        building = folder.with_name(folder.name + ".building")
        if building.exists():
            shutil.rmtree(building)
        building.mkdir(parents=True)
        log = building / "build.log"
        started = time.perf_counter()
        env = dict(pip_env(), PYENV_VERSION=PYTHON_VERSION)
        run([python, "-m", "venv", building / "venv"], log=log, env=env)
        venv_python = building / "venv" / "bin" / "python"
        stock_file, mrml = RELEASES[release]
        run([venv_python, "-m", "pip", "install", "--quiet", "--upgrade", "pip==" + pinned(release)["pip"]],
            log=log, env=pip_env())
        run([venv_python, "-m", "pip", "install", "--quiet", "-r", HERE / stock_file], log=log, env=pip_env())
        run([venv_python, "-m", "pip", "install", "--quiet", "--no-deps", *mrml], log=log, env=pip_env())
        # Slicer's launcher puts PythonSlicer on PATH; slicer.util.executePythonModule runs pip with it.
        (building / "venv" / "bin" / "PythonSlicer").symlink_to("python")
        info = {"release": release, "python": python, "key": key, "built_s": round(time.perf_counter() - started, 1),
                "packages": installed(venv_python), "built_at": time.strftime("%Y-%m-%d %H:%M:%S")}
        (building / "build.json").write_text(json.dumps(info, indent=1, sort_keys=True))
        building.rename(folder)
        info["reused"] = False
        return folder, info


def clone(folder, destination):
    """A hard-linked copy of a cached environment (seconds; the cache stays untouched by later installs)."""
    if destination.exists():
        shutil.rmtree(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-al", str(folder / "venv"), str(destination)], check=True)
    return destination / "bin" / "python"


def install_package(python, workdir, *, log):
    """Install this repository's package into an environment: a real, non-editable ``pip install --no-deps``.

    The sources are copied to ``workdir`` first so that the build writes nothing into the
    repository (another run may be using it).
    """
    source = workdir / "clinicalimaging-src"
    if source.exists():
        shutil.rmtree(source)
    source.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        if (REPOSITORY / name).is_file():
            shutil.copy2(REPOSITORY / name, source / name)
    shutil.copytree(REPOSITORY / "clinicalimaging", source / "clinicalimaging",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-cache-dir", source],
        log=log, env=pip_env())
