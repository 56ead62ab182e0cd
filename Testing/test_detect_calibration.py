"""Score calibration (Platt scaling), the anatomical-context check and the experimental-grade marking."""

import json

import numpy as np
import pytest

from clinicalimaging.detect.calibration import (calibrate_detector, calibration_records, expected_calibration_error,
                                                fit_score_calibration)
from clinicalimaging.detect.cases import LabelledVolume, phantom_volumes
from clinicalimaging.detect.inference import detect_organs_in_array
from clinicalimaging.detect.model_files import Detector
from clinicalimaging.detect.model_scope import (PLATT, anatomical_context, calibrated_score, grade_is_experimental,
                                                organ_companions, out_of_scope_message, scan_in_scope)
from clinicalimaging.detect.parameters import DetectParameters
from conftest import TINY_PHANTOMS


def records_from(scores, right):
    return [{"volume": f"v{number % 5}", "organ": "liver", "score": float(score), "right": bool(good)}
            for number, (score, good) in enumerate(zip(scores, right))]


def test_the_mapping_is_monotone_in_0_1_and_separates_what_the_scores_separate():
    rng = np.random.default_rng(0)
    scores = rng.uniform(0.05, 0.95, 400)
    right = rng.uniform(size=400) < scores ** 2  # right more often at high raw scores, but less than the raw says
    calibration = fit_score_calibration(records_from(scores, right))
    grid = np.linspace(0.0, 1.0, 101)
    mapped = [calibrated_score(raw, {"score_calibration": calibration}) for raw in grid]

    assert calibration["kind"] == PLATT and calibration["records"] == 400 and calibration["volumes"] == 5
    assert all(0.0 <= value <= 1.0 for value in mapped) and np.all(np.diff(mapped) >= 0)
    assert calibration["ece"] < calibration["ece_raw"] and calibration["ece"] < 0.08
    assert 0.3 < calibration["raw_at_0_5"] < 0.9 and calibration["fraction_right_above_0_5"] > 0.6
    json.dumps(calibration)  # stored in the model's description


def test_a_score_that_separates_nothing_maps_near_the_base_rate():
    rng = np.random.default_rng(1)
    scores = rng.uniform(0.05, 0.95, 300)
    right = rng.uniform(size=300) < 0.3
    calibration = fit_score_calibration(records_from(scores, right))

    for raw in (0.1, 0.5, 0.9):
        assert calibrated_score(raw, {"score_calibration": calibration}) == pytest.approx(right.mean(), abs=0.08)


def test_few_or_separable_records_give_a_finite_fit_and_no_record_gives_none():
    separable = fit_score_calibration(records_from([0.2, 0.3, 0.8, 0.9], [False, False, True, True]))
    one_class = fit_score_calibration(records_from([0.4, 0.6, 0.7], [True, True, True]))
    inverted = fit_score_calibration(records_from([0.2, 0.9, 0.8, 0.3], [True, False, False, True]))
    metadata = {"score_calibration": separable}

    assert np.isfinite([separable["parameters"]["slope"], separable["parameters"]["intercept"]]).all()
    assert 0.05 < calibrated_score(0.2, metadata) < calibrated_score(0.9, metadata) < 0.95  # Platt's targets
    assert calibrated_score(0.5, {"score_calibration": one_class}) == pytest.approx(4 / 5, abs=0.02)
    assert inverted["parameters"]["slope"] == 0.0  # never a falling mapping
    assert fit_score_calibration([]) == {"kind": "none", "records": 0, "right": 0, "volumes": 0}
    assert calibrated_score(0.37, {"score_calibration": {"kind": "none"}}) == 0.37
    assert calibrated_score(0.37, {}) == 0.37


def test_expected_calibration_error():
    assert expected_calibration_error([0.9] * 10, [True] * 9 + [False]) == pytest.approx(0.0)
    assert expected_calibration_error([0.9] * 4 + [0.1] * 4, [False] * 4 + [True] * 4) == pytest.approx(0.9)


ABDOMINAL = {"class_names": ["liver", "spleen", "aorta", "urinary_bladder"], "grade": True,
             "training": {"cases": [{"name": "ct", "modality": "ct", "organs": ["liver", "spleen", "aorta"]},
                                    {"name": "phantom-mr-1", "modality": "mr", "organs": ["liver", "spleen", "aorta"],
                                     "lesion_labels": ["lesion"]}]}}


def test_companions_and_context_from_the_training_cases():
    companions = organ_companions(ABDOMINAL)

    assert companions == {"liver": ["spleen", "aorta"], "spleen": ["liver", "aorta"], "aorta": ["liver", "spleen"]}
    assert anatomical_context({"liver": 0.4, "spleen": 0.8, "aorta": 0.6}, companions) == pytest.approx(0.7)
    assert anatomical_context({"liver": 0.37}, companions) == pytest.approx(0.0)
    assert anatomical_context({"urinary_bladder": 0.9}, companions) is None  # never seen in training: no judgement
    assert not scan_in_scope({"liver": 0.37, "spleen": 0.05}, ABDOMINAL, 0.3)
    assert scan_in_scope({"liver": 0.37, "spleen": 0.05}, ABDOMINAL, 0.0)
    assert scan_in_scope({"liver": 0.9, "spleen": 0.05}, ABDOMINAL, 0.3)  # one organ found clearly: in scope
    line = out_of_scope_message(0.15, ABDOMINAL)
    assert "\n" not in line and "score >= 0.15" in line and "4 organs: liver, spleen" in line and "CT and MR" in line


def test_a_grade_is_experimental_unless_a_real_case_had_lesion_labels():
    patient = {"name": "patient-7", "organs": ["liver"], "lesion_labels": ["tumour"]}
    real = {**ABDOMINAL, "training": {"cases": [*ABDOMINAL["training"]["cases"], patient]}}

    assert grade_is_experimental(ABDOMINAL)  # phantom lesions only
    assert not grade_is_experimental(real)
    assert not grade_is_experimental({**ABDOMINAL, "grade": False})


def test_inference_reports_the_calibrated_score_and_records_are_raw(tiny_detector):
    result, _ = tiny_detector
    volume = phantom_volumes(1, seed=710, shape=TINY_PHANTOMS["shape"], spacing=TINY_PHANTOMS["spacing"])[0]
    parameters = DetectParameters(views="axial", score_threshold=0.0)
    raw = detect_organs_in_array(volume.image, volume.ijk_to_ras, result.detector, parameters=parameters)
    calibration = {"kind": PLATT, "parameters": {"slope": 0.5, "intercept": -1.0}}
    calibrated_detector = Detector(result.detector.model, {**result.detector.metadata,
                                                           "score_calibration": calibration})
    calibrated = detect_organs_in_array(volume.image, volume.ijk_to_ras, calibrated_detector, parameters=parameters)

    assert [box.organ for box in calibrated] == [box.organ for box in raw] and raw
    for before, after in zip(raw, calibrated):
        expected = 1 / (1 + np.exp(-(0.5 * np.log(before.score / (1 - before.score)) - 1.0)))
        assert after.score == pytest.approx(expected, rel=1e-6) and after.ras_min == before.ras_min
        assert after.grade_experimental  # the tiny detector's grade head saw phantom lesions only

    shape = (24, 48, 48)
    uniform = LabelledVolume(np.full(shape, 40.0, np.float32), volume.ijk_to_ras, np.zeros(shape, int), {},
                             name="uniform")
    records = calibration_records(calibrated_detector, [volume, uniform], parameters=parameters)
    assert {record["organ"] for record in records} == {box.organ for box in raw}
    assert [record["score"] for record in records] == pytest.approx([box.score for box in raw])
    assert all(record["right"] for record in records)  # the phantom's organs, and nothing on a uniform volume
    fitted = calibrate_detector(result.detector, [volume, uniform], parameters=parameters)
    assert fitted["kind"] == PLATT and fitted["volumes"] == 2 and fitted["records"] == len(records)
