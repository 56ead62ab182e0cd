"""The command line on a Python without scikit-learn, matplotlib, tqdm, Keras or TensorFlow (e.g. a stock Slicer's)."""

import subprocess
import sys
import textwrap

import numpy as np
import SimpleITK as sitk

from test_cli import phantom_file

BLOCKED = ("sklearn", "matplotlib", "tqdm", "keras", "tensorflow", "torch", "jax")
# Runs ``python -m clinicalimaging ARGS`` with these packages made unimportable.
WITHOUT_OPTIONAL_PACKAGES = textwrap.dedent(f"""
    import importlib.abc, runpy, sys

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {BLOCKED!r}:
                raise ImportError(f"No module named {{name!r}} (blocked by the test)")

    sys.meta_path.insert(0, Blocker())
    sys.argv = ["clinicalimaging", *sys.argv[1:]]
    runpy.run_module("clinicalimaging", run_name="__main__", alter_sys=True)
""")


def _run_without_optional_packages(*arguments):
    return subprocess.run([sys.executable, "-c", WITHOUT_OPTIONAL_PACKAGES, *map(str, arguments)],
                          capture_output=True, encoding="utf-8", timeout=600)


def test_cli_enhance_needs_none_of_the_optional_packages(tmp_path):
    source = phantom_file(tmp_path / "in.nrrd")

    quiet = _run_without_optional_packages("enhance", source, tmp_path / "quiet.nrrd", "--quiet")
    chatty = _run_without_optional_packages("enhance", source, tmp_path / "chatty.nrrd",
                                            "--order-map", tmp_path / "order.nrrd")

    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == "", quiet.stderr
    assert chatty.returncode == 0 and chatty.stderr == "", chatty.stderr
    assert "enhanced volume:" in chatty.stdout
    for name in ("quiet.nrrd", "chatty.nrrd", "order.nrrd"):
        assert np.all(np.isfinite(sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / name)))))


def test_cli_progress_bar_without_tqdm_is_no_bar():
    result = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import sys
        sys.modules["tqdm"] = None  # importing it now raises ImportError
        from clinicalimaging.cli import _progress_bar
        with _progress_bar(True) as progress:
            print(progress)
    """)], capture_output=True, encoding="utf-8", timeout=60)

    assert result.returncode == 0 and result.stdout == "None\n", result.stderr


def test_cli_detect_without_keras_says_how_to_install_it(tmp_path):
    source = phantom_file(tmp_path / "in.nrrd")
    result = _run_without_optional_packages("detect", source, tmp_path / "organs.mrk.json")

    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "pip install clinicalimaging[detect]" in result.stderr
    assert not (tmp_path / "organs.mrk.json").exists()
