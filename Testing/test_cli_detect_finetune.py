"""Fine-tuning (``train-detector --init``): its own learning rate, and the model's figures before and after."""

import pytest

from clinicalimaging.detect.model_files import load_detector, read_metadata
from clinicalimaging.detect.parameters import TrainParameters
from test_cli import run_cli
from test_cli_detect import write_case

#: One quick step of training on a phantom: enough to exercise the command, not to learn.
QUICK = ["--epochs", "1", "--slices-per-epoch", "8", "--views", "axial", "--crop-px", "96"]


def test_fine_tuning_starts_from_a_tenth_of_the_learning_rate(monkeypatch, tmp_path, tiny_detector):
    import keras

    from clinicalimaging.detect.cases import phantom_volumes
    from clinicalimaging.detect.training import train_detector

    _, path = tiny_detector
    started = []
    original = keras.optimizers.schedules.CosineDecay

    def recorded(initial_learning_rate, *arguments, **options):
        started.append(initial_learning_rate)
        return original(initial_learning_rate, *arguments, **options)

    monkeypatch.setattr(keras.optimizers.schedules, "CosineDecay", recorded)
    volumes = phantom_volumes(1, seed=701, shape=(32, 80, 80), spacing=(4.0, 3.0, 3.0))
    parameters = TrainParameters(epochs=1, slices_per_epoch=8, views="axial", crop_px=96)
    train_detector(volumes, None, parameters, init=load_detector(path))

    assert started == [parameters.fine_tune_learning_rate]
    assert parameters.fine_tune_learning_rate == pytest.approx(parameters.learning_rate / 10)


def test_train_detector_init_prints_the_figures_before_and_after(tmp_path, tiny_detector):
    _, model = tiny_detector
    case = write_case(tmp_path)
    out = tmp_path / "tuned.keras"
    result = run_cli("train-detector", "--images", case["image"], "--labels", case["labels"], "--label-names",
                     case["names"], "--init", model, "--out", out, "--learning-rate", "0.001", *QUICK)

    assert result.returncode == 0 and result.stderr == "", result.stderr
    figures = [line for line in result.stdout.splitlines() if not line.startswith("model: ")]  # not the path
    assert not any("nan" in line.lower() for line in figures)
    line = next(line for line in result.stdout.splitlines() if line.startswith("on the training volumes:"))
    assert "before fine-tuning mean IoU 0." in line and "; after mean IoU 0." in line
    assert line.count("IoU >= 0.5 for ") == 2 and line.count(" of 5 organs") == 2
    assert "default-box recall (IoU > 0.5): 0." in result.stdout and "(those of tiny.keras)" in result.stdout
    training = read_metadata(out)["training"]
    assert training["parameters"]["fine_tune_learning_rate"] == 0.001  # an explicit --learning-rate is used
    measured = training["training_volumes_accuracy"]
    assert measured["before"]["organs"] == measured["after"]["organs"] == 5
    assert 0 < measured["before"]["mean_iou"] <= 1 and 0 < measured["after"]["mean_iou"] <= 1
