"""Training with synthetic volumes: the pool is used and refreshed, the model describes its sizes and calibration."""

from clinicalimaging.detect.cases import phantom_volumes
from clinicalimaging.detect.organs import PHANTOM_NAMES
from clinicalimaging.detect.parameters import TrainParameters
from clinicalimaging.detect.training import train_detector


def test_training_with_synthesis_records_the_pool_the_organ_sizes_and_the_calibration():
    volumes = phantom_volumes(2, seed=61, shape=(32, 64, 64), spacing=(4.0, 3.0, 3.0))
    parameters = TrainParameters(views="axial", epochs=2, slices_per_epoch=16, crop_px=64, width=0.0625,
                                 clusters=3, synthetic_fraction=0.5, synthetic_volumes=3, synthetic_refresh=1,
                                 calibration_volumes=2)
    result = train_detector(volumes, list(PHANTOM_NAMES.values()), parameters, command="pytest")

    training = result.metadata["training"]
    assert training["synthetic_volumes_drawn"] >= 3 + 2 * 1  # the pool, then one anew after each epoch
    assert training["parameters"]["synthetic_fraction"] == 0.5
    sizes = result.metadata["organ_size_mm"]
    assert set(sizes) == {"liver", "spleen", "kidney_left", "kidney_right"} | ({"aorta"} & set(sizes))
    assert all(low <= high for organ in sizes.values() for low, high in zip(organ["min_mm"], organ["max_mm"]))
    calibration = result.metadata["score_calibration"]
    assert calibration["volumes"] == 2
