"""Detection evaluation: 3-D box metrics, reference boxes of a label map, per-organ rows and their summary."""

import itertools
import math

import numpy as np
import pytest

from clinicalimaging import InputError, mrml
from clinicalimaging.detect.detections import OrganBox
from clinicalimaging.detect.evaluation import evaluation_rows, format_evaluation, reference_boxes, summary
from clinicalimaging.metrics import box_iou_3d, centroid_distance, wall_distance
from clinicalimaging.phantom import make_phantom
from clinicalimaging.phantom_nodes import phantom_volume

CUBE = ((0.0, 0.0, 0.0), (10.0, 10.0, 10.0))


def test_identical_boxes_overlap_fully():
    assert box_iou_3d(CUBE, CUBE) == 1.0
    assert wall_distance(CUBE, CUBE) == 0.0 and centroid_distance(CUBE, CUBE) == 0.0


def test_a_box_shifted_by_2_mm_on_one_axis():
    shifted = ((2.0, 0.0, 0.0), (12.0, 10.0, 10.0))
    assert box_iou_3d(CUBE, shifted) == pytest.approx(800 / 1200)  # overlap 8 x 10 x 10 of a union of 1200 mm3
    assert wall_distance(CUBE, shifted) == pytest.approx(2 / 3)  # two of the six faces move by 2 mm
    assert centroid_distance(CUBE, shifted) == pytest.approx(2.0)


def test_nested_disjoint_and_degenerate_boxes():
    inner = ((0.0, 0.0, 0.0), (5.0, 10.0, 10.0))
    assert box_iou_3d(CUBE, inner) == pytest.approx(0.5)
    assert wall_distance(CUBE, inner) == pytest.approx(5 / 6)
    far = ((20.0, 20.0, 20.0), (25.0, 30.0, 40.0))
    assert box_iou_3d(CUBE, far) == 0.0
    assert centroid_distance(CUBE, far) == pytest.approx(math.dist((5, 5, 5), (22.5, 25, 30)))
    flat = ((1.0, 1.0, 1.0), (1.0, 2.0, 3.0))
    assert box_iou_3d(flat, flat) == 1.0 and box_iou_3d(flat, CUBE) == 0.0
    with pytest.raises(InputError, match="min <= max"):
        box_iou_3d(((1.0, 0.0, 0.0), (0.0, 1.0, 1.0)), CUBE)
    with pytest.raises(InputError, match="min corner, max corner"):
        wall_distance((0.0, 1.0), CUBE)


@pytest.fixture(scope="module")
def oblique_labels():
    phantom = make_phantom("ct", shape=(10, 36, 40), spacing=(3.5, 1.2, 0.7), oblique=True, seed=3)
    volume, labels = phantom_volume(phantom, name="evaluation_oblique")
    yield phantom, labels
    for node in (volume, labels):
        node.GetScene().RemoveNode(node)


def brute_force_box(phantom, label):
    """The RAS min and max over every corner of every voxel of the label."""
    kji = np.argwhere(phantom.labels == label)
    corners = np.array([kji[:, ::-1] + offset for offset in itertools.product((-0.5, 0.5), repeat=3)]).reshape(-1, 3)
    ras = corners @ phantom.ijk_to_ras[:3, :3].T + phantom.ijk_to_ras[:3, 3]
    return ras.min(axis=0), ras.max(axis=0)


def test_reference_boxes_of_an_oblique_anisotropic_label_map_are_exact(oblique_labels):
    phantom, labels = oblique_labels
    names = {value: name for value, name in phantom.label_names.items()}
    boxes = reference_boxes(labels, names)
    assert set(boxes) == {name for value, name in names.items() if np.any(phantom.labels == value)}
    for value, name in names.items():
        if name in boxes:
            expected = brute_force_box(phantom, value)
            np.testing.assert_allclose(boxes[name][0], expected[0], atol=1e-9)
            np.testing.assert_allclose(boxes[name][1], expected[1], atol=1e-9)
    assert mrml.array_from_volume(labels).tobytes() == phantom.labels.tobytes()


def test_reference_boxes_choose_organs_and_leave_out_empty_ones(oblique_labels):
    phantom, labels = oblique_labels
    boxes = reference_boxes(labels, {2: "liver", 3: "spleen", 40: "pancreas"}, organs="spleen,pancreas")
    assert list(boxes) == ["spleen"]
    with pytest.raises(InputError, match="Did you mean 'liver'"):
        reference_boxes(labels, {2: "liver"}, organs="livr")


def test_rows_cover_found_missed_and_false_positive_organs():
    reference = {"spleen": CUBE, "liver": ((-50.0, -50.0, -50.0), (0.0, 0.0, 0.0)), "kidney_left": CUBE}
    detected = [OrganBox("liver", 0.9, (-50.0, -50.0, -50.0), (0.0, 0.0, 0.0), views=("axial",)),
                OrganBox("spleen", 0.4, (2.0, 0.0, 0.0), (12.0, 10.0, 10.0)),
                OrganBox("spleen", 0.8, (0.0, 0.0, 0.0), (10.0, 10.0, 10.0)),
                OrganBox("aorta", 0.6, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))]
    rows = evaluation_rows(detected, reference)
    assert [row["organ"] for row in rows] == ["liver", "spleen", "kidney_left", "aorta"]
    assert list(rows[0]) == ["organ", "found", "score", "iou", "wall_mm", "centroid_mm", "in_reference"]
    liver, spleen, kidney, aorta = rows
    assert (liver["found"], liver["iou"], liver["wall_mm"], liver["centroid_mm"]) == ("yes", 1.0, 0.0, 0.0)
    assert spleen["score"] == 0.8 and spleen["iou"] == 1.0  # the highest-scoring of two boxes counts
    assert kidney == {"organ": "kidney_left", "found": "no", "score": None, "iou": 0.0, "wall_mm": None,
                      "centroid_mm": None, "in_reference": "yes"}
    assert (aorta["found"], aorta["in_reference"], aorta["iou"], aorta["wall_mm"]) == ("yes", "no", 0.0, None)
    totals = summary(rows)
    assert totals == {"organs": 3, "found": 2, "false_positives": 1, "mean_iou": pytest.approx(2 / 3),
                      "fraction_iou_0_5": pytest.approx(2 / 3), "median_wall_mm": 0.0, "median_centroid_mm": 0.0}
    text = format_evaluation(rows)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["organ", "found", "score"]
    assert lines[3].split() == ["kidney_left", "no", "-", "0.000", "-", "-"]
    assert "aorta (not in reference)" in lines[4]
    assert lines[-1].startswith("2 of 3 organs found, 1 not in the reference; mean IoU 0.667")
    assert format_evaluation(rows, with_summary=False).count("\n") == 4


def test_nothing_to_evaluate():
    assert evaluation_rows([], {}) == []
    totals = summary([])
    assert totals["organs"] == 0 and math.isnan(totals["mean_iou"])
    assert format_evaluation([]).startswith("no organ in the reference and none detected")
