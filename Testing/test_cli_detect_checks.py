"""The detection commands check their arguments before TensorFlow loads: a mistake costs no start-up time."""

import subprocess
import sys

import pytest

from clinicalimaging.detect.model_files import default_model_path
from test_cli_detect import write_case

#: Runs clinicalimaging.cli.main on the arguments given after it, then prints which heavy libraries it loaded.
_PROBE = ("import sys; from clinicalimaging.cli import main; status = main(sys.argv[1:]); "
          "print('loaded:', sorted(name for name in ('keras', 'tensorflow', 'torch') if name in sys.modules)); "
          "sys.exit(status)")


def run_probe(*arguments):
    return subprocess.run([sys.executable, "-c", _PROBE, *map(str, arguments)], capture_output=True, text=True,
                          timeout=300)


def assert_refused_before_loading(result, *phrases):
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("clinicalimaging: error: ")
    for phrase in phrases:
        assert phrase in result.stderr
    assert result.stdout.strip() == "loaded: []"


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    return write_case(tmp_path_factory.mktemp("case"))


def test_detect_refuses_an_unknown_organ_before_loading_tensorflow(tmp_path, case):
    result = run_probe("detect", case["image"], tmp_path / "organs.mrk.json", "--organs", "liver,lungs")

    assert_refused_before_loading(result, "Unknown organ 'lungs'", "Available organs: liver, spleen,")
    assert not (tmp_path / "organs.mrk.json").exists()


def test_evaluate_detection_refuses_organs_before_loading_tensorflow(case):
    unknown = run_probe("evaluate-detection", case["image"], case["labels"], "--label-names", case["names"],
                        "--organs", "lungs")
    unlabelled = run_probe("evaluate-detection", case["image"], case["labels"], "--label-names", case["names"],
                           "--organs", "liver,pancreas")

    assert_refused_before_loading(unknown, "Unknown organ 'lungs'", "Available organs: liver,")
    assert_refused_before_loading(unlabelled, "names no label for pancreas",
                                  "liver, spleen, kidney_left, kidney_right, aorta")


def test_train_detector_refuses_organs_before_loading_tensorflow(tmp_path, case):
    common = ["train-detector", "--images", case["image"], "--labels", case["labels"], "--label-names",
              case["names"], "--out", tmp_path / "model.keras"]
    unknown = run_probe(*common, "--organs", "liver,lungs")
    changed = run_probe(*common, "--init", default_model_path(), "--organs", "liver")

    assert_refused_before_loading(unknown, "Unknown organ 'lungs'", "kidney_left")
    assert_refused_before_loading(changed, "Fine-tuning keeps the organs of", "leave --organs out")
    assert not (tmp_path / "model.keras").exists()


def test_train_detector_refuses_learning_rates_that_would_not_apply(tmp_path, case):
    common = ["train-detector", "--images", case["image"], "--labels", case["labels"], "--label-names",
              case["names"], "--out", tmp_path / "model.keras"]
    from_scratch = run_probe(*common, "--fine-tune-learning-rate", "0.001")
    both = run_probe(*common, "--init", default_model_path(), "--learning-rate",
                     "0.001", "--fine-tune-learning-rate", "0.0001")

    assert_refused_before_loading(from_scratch, "--fine-tune-learning-rate applies only when fine-tuning")
    assert_refused_before_loading(both, "give the learning rate once")
