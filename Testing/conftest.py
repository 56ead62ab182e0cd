"""Shared pytest fixtures."""

from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED_DATA = REPOSITORY.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real clinical sample data of ``../shared/data``; skips when that folder is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real sample data not found at {SHARED_DATA} (present in CI, absent in a fresh clone)")
    return SHARED_DATA


@pytest.fixture
def scene():
    """A scene of its own with the module logics (node names stay exactly as given), cleared after the test."""
    from clinicalimaging.mrml.scene import create_standalone_scene

    scene, logics = create_standalone_scene()
    yield scene
    scene.Clear(True)
    del logics


#: A tiny detector's training: CT and MR phantoms, 3 mm pixels, axial slices; a few minutes on 2 cores.
TINY_TRAINING = {"views": "axial", "epochs": 40, "slices_per_epoch": 128, "batch_size": 8, "learning_rate": 3e-3,
                 "width": 0.125, "pixel_mm": 3.0, "crop_px": 96, "clusters": 4, "dihedral_probability": 0.0,
                 "synthetic_fraction": 0.0, "calibration_volumes": 0, "seed": 0}
#: The phantoms it learns from (the test phantoms use other seeds).
TINY_PHANTOMS = {"count": 3, "seed": 100, "shape": (32, 80, 80), "spacing": (4.0, 3.0, 3.0)}


@pytest.fixture(scope="session")
def tiny_detector(tmp_path_factory):
    """A real detector trained briefly on phantoms, and its model file: ``(TrainingResult, Path)``."""
    from clinicalimaging.detect.cases import phantom_volumes
    from clinicalimaging.detect.model_files import save_detector
    from clinicalimaging.detect.organs import PHANTOM_NAMES
    from clinicalimaging.detect.parameters import TrainParameters
    from clinicalimaging.detect.training import train_detector

    volumes = phantom_volumes(**TINY_PHANTOMS)
    result = train_detector(volumes, list(PHANTOM_NAMES), TrainParameters(**TINY_TRAINING), command="pytest")
    path = tmp_path_factory.mktemp("detector") / "tiny.keras"
    save_detector(result.detector.model, result.metadata, path)
    return result, path
