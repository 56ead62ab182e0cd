"""Organ detection end to end at the array level: a tiny real detector trained on phantoms, its file, two backends."""

import json
import os
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

from clinicalimaging import mrml
from clinicalimaging.detect.cases import phantom_volumes
from clinicalimaging.detect.evaluation import reference_boxes
from clinicalimaging.detect.inference import detect_organs_in_array
from clinicalimaging.detect.model_files import METADATA_MEMBER, load_detector, read_metadata
from clinicalimaging.detect.organs import PHANTOM_NAMES
from clinicalimaging.detect.parameters import DetectParameters
from clinicalimaging.errors import InputError
from clinicalimaging.metrics import box_iou_3d
from conftest import TINY_PHANTOMS

AXIAL = DetectParameters(views="axial")


def unseen_phantoms():
    """Phantoms the tiny detector never saw (other seeds), CT and MR."""
    return phantom_volumes(2, seed=500, shape=TINY_PHANTOMS["shape"], spacing=TINY_PHANTOMS["spacing"])


def reference_boxes_of(volume):
    """Organ -> RAS box of the phantom's label map (the evaluation's reference)."""
    labels = mrml.volume_from_array(volume.labels, ijk_to_ras=volume.ijk_to_ras, labelmap=True)
    return reference_boxes(labels, volume.label_names, organs=list(PHANTOM_NAMES))


def test_training_lowers_the_loss_and_describes_the_model(tiny_detector):
    result, path = tiny_detector

    assert result.losses[-1] < 0.5 * result.losses[0], result.losses
    metadata = read_metadata(path)
    assert metadata["class_names"] == list(PHANTOM_NAMES)
    assert metadata["pixel_mm"] == 3.0 and metadata["views"] == ["axial"] and metadata["grade"] is True
    assert metadata["output_layers"] and len(metadata["box_sizes"]) == len(metadata["output_layers"])
    assert metadata["training"]["command"] == "pytest"
    assert [case["name"] for case in metadata["training"]["cases"]] == ["phantom-ct-100", "phantom-mr-101",
                                                                        "phantom-ct-102"]
    assert 0.5 < metadata["kmeans_mean_iou"] <= 1 and 0 < metadata["anchor_recall"] <= 1


def test_tiny_detector_finds_every_phantom_organ(tiny_detector):
    result, _ = tiny_detector
    for volume in unseen_phantoms():
        found = {box.organ: box for box in detect_organs_in_array(volume.image, volume.ijk_to_ras, result.detector,
                                                                   parameters=AXIAL)}
        reference = reference_boxes_of(volume)
        ious = {organ: box_iou_3d((found[organ].ras_min, found[organ].ras_max), reference[organ])
                if organ in found else 0.0 for organ in PHANTOM_NAMES}
        assert min(ious.values()) >= 0.5, (volume.name, ious)
        assert all(0 <= box.grade <= 1 and box.views == ("axial",) for box in found.values())


def test_organs_filter_and_the_score_threshold(tiny_detector):
    result, _ = tiny_detector
    volume = unseen_phantoms()[0]
    only = detect_organs_in_array(volume.image, volume.ijk_to_ras, result.detector, organs="spleen,liver",
                                  parameters=AXIAL)
    none = detect_organs_in_array(volume.image, volume.ijk_to_ras, result.detector,
                                  parameters=DetectParameters(views="axial", score_threshold=1.0))

    assert {box.organ for box in only} <= {"spleen", "liver"} and only
    assert none == []
    with pytest.raises(InputError, match="Did you mean 'spleen'"):
        detect_organs_in_array(volume.image, volume.ijk_to_ras, result.detector, organs="splen", parameters=AXIAL)


def test_the_model_file_round_trip_gives_the_same_boxes(tiny_detector):
    result, path = tiny_detector
    volume = unseen_phantoms()[0]
    loaded = load_detector(path)
    before = detect_organs_in_array(volume.image, volume.ijk_to_ras, result.detector, parameters=AXIAL)
    after = detect_organs_in_array(volume.image, volume.ijk_to_ras, loaded, parameters=AXIAL)

    assert [box.organ for box in before] == [box.organ for box in after]
    for first, second in zip(before, after):
        np.testing.assert_allclose(first.ras_min + first.ras_max, second.ras_min + second.ras_max, atol=1e-3)


def test_missing_corrupt_and_foreign_model_files_say_what_to_do(tmp_path, tiny_detector):
    _, path = tiny_detector
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(path.read_bytes()[:1000])
    foreign = tmp_path / "foreign.keras"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(foreign, "w") as target:
        for member in source.namelist():
            if member != METADATA_MEMBER:
                target.writestr(member, source.read(member))

    with pytest.raises(InputError, match="does not exist"):
        load_detector(tmp_path / "absent.keras")
    with pytest.raises(InputError, match="corrupt"):
        load_detector(truncated)
    with pytest.raises(InputError, match="not an organ detector"):
        load_detector(foreign)


# Runs the detector file on a second Keras backend and prints the boxes as JSON.
ON_BACKEND = textwrap.dedent("""
    import json, sys
    import numpy as np
    from clinicalimaging.detect.inference import detect_organs_in_array
    from clinicalimaging.detect.model_files import load_detector
    from clinicalimaging.detect.parameters import DetectParameters
    import keras
    data = np.load(sys.argv[2])
    boxes = detect_organs_in_array(data["image"], data["ijk_to_ras"], load_detector(sys.argv[1]),
                                   parameters=DetectParameters(views="axial"))
    print(json.dumps({"backend": keras.backend.backend(),
                      "boxes": {box.organ: box.ras_min + box.ras_max for box in boxes}}))
""")


def test_the_same_model_file_gives_the_same_boxes_on_pytorch(tmp_path, tiny_detector):
    result, path = tiny_detector
    volume = unseen_phantoms()[0]
    np.savez(tmp_path / "volume.npz", image=volume.image, ijk_to_ras=volume.ijk_to_ras)
    on_torch = subprocess.run([sys.executable, "-c", ON_BACKEND, str(path), str(tmp_path / "volume.npz")],
                              capture_output=True, encoding="utf-8", errors="replace", timeout=600,
                              env={**os.environ, "KERAS_BACKEND": "torch"})
    assert on_torch.returncode == 0, on_torch.stderr[-2000:]
    torch_result = json.loads(on_torch.stdout.strip().splitlines()[-1])
    here = {box.organ: box.ras_min + box.ras_max
            for box in detect_organs_in_array(volume.image, volume.ijk_to_ras, result.detector, parameters=AXIAL)}

    assert torch_result["backend"] == "torch"
    assert set(torch_result["boxes"]) == set(here) and here
    for organ, corners in here.items():
        np.testing.assert_allclose(torch_result["boxes"][organ], corners, atol=0.5, err_msg=organ)
