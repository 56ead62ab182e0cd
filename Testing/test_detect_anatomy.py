"""Anatomical plausibility of fused organ boxes: organ sizes, side of the body, order of the vertebrae."""

import types

import numpy as np
import pytest

from clinicalimaging import InputError
from clinicalimaging.detect.anatomy import (PAIRED_SIDE_TOLERANCE_MM, SIZE_MAX_FACTOR, organ_size_ranges,
                                            plausible_boxes)
from clinicalimaging.detect.cases import UNKNOWN_CLASS, grid_input
from clinicalimaging.detect.parameters import DetectParameters
from clinicalimaging.detect.slices import CanonicalGrid, body_midline_i
from clinicalimaging.parameters import ParameterError

PIXEL_MM = 3.0
#: A grid of (K, J, I) voxels of 3 mm.
GRID = CanonicalGrid((0.0, 0.0, 0.0), PIXEL_MM, (100, 120, 120))
CLASSES = ["kidney_left", "kidney_right", "liver", "spleen", "vertebrae_L1", "vertebrae_L2", "vertebrae_L3"]
#: Kidney-like ranges (mm) along (left-right, anterior-posterior, superior-inferior).
KIDNEY_SIZES = {"kidney_left": {"min_mm": [60.0, 60.0, 90.0], "max_mm": [70.0, 70.0, 110.0], "cases": 2,
                                "cut_cases": 0}}


def entry(box6, score=0.9):
    return np.array(box6, dtype=np.float64), score, ("axial",)


def grid_case_of(classes):
    """What :func:`organ_size_ranges` reads of a GridCase: the classes and the grid's voxel size."""
    return types.SimpleNamespace(classes=classes, grid=CanonicalGrid((0.0, 0.0, 0.0), PIXEL_MM, classes.shape))


def test_size_ranges_of_whole_organs_and_cut_ones():
    first = np.zeros((40, 50, 60), np.uint8)
    first[10:30, 5:25, 20:30] = 1          # kidney_left whole: 10 x 20 x 20 voxels (i, j, k)
    first[0:8, 30:45, 35:55] = 3           # liver touching the first slice: cut by the scan end
    first[12:14, 5:25, 31:33] = UNKNOWN_CLASS
    second = np.zeros((40, 50, 60), np.uint8)
    second[5:35, 10:22, 15:29] = 1         # kidney_left whole: 14 x 12 x 30 voxels
    third = np.zeros((40, 50, 60), np.uint8)
    third[0:3, 10:40, 10:30] = 1           # kidney_left cut: short along k, longer than any whole one along j

    ranges = organ_size_ranges([grid_case_of(first), grid_case_of(second), grid_case_of(third)], CLASSES)

    assert set(ranges) == {"kidney_left"}  # the liver is never whole: no range for it
    kidney = ranges["kidney_left"]
    assert kidney["min_mm"] == [30.0, 36.0, 60.0]           # the cut case's 9 mm S-I does not lower the minimum
    assert kidney["max_mm"] == [60.0, 90.0, 90.0]           # its 90 mm A-P raises the maximum (a lower bound)
    assert kidney["cases"] == 2 and kidney["cut_cases"] == 1


def test_an_oversized_box_is_shrunk_about_its_centre_and_a_tiny_one_rejected():
    long_box = [40.0, 40.0, 10.0, 62.0, 62.0, 90.0]         # 66 x 66 x 240 mm: far longer than a kidney
    fused = {0: entry(long_box)}

    kept, changes = plausible_boxes(fused, CLASSES, GRID, 60.0, organ_size_mm=KIDNEY_SIZES, rules=("size",))

    length = 110.0 * SIZE_MAX_FACTOR / PIXEL_MM
    np.testing.assert_allclose(kept[0][0], [40.0, 40.0, 50.0 - length / 2, 62.0, 62.0, 50.0 + length / 2])
    assert [change["change"] for change in changes] == ["shrunk"]
    assert fused[0][0][5] == 90.0                           # the input is left as it was

    tiny = {0: entry([50.0, 50.0, 50.0, 52.0, 52.0, 53.0])}  # 6 x 6 x 9 mm
    kept, changes = plausible_boxes(tiny, CLASSES, GRID, 60.0, organ_size_mm=KIDNEY_SIZES, rules=("size",))
    assert kept == {} and changes[0]["change"] == "rejected" and changes[0]["after"] is None


def test_an_organ_cut_by_the_scan_end_keeps_its_short_extent():
    at_top = [45.0, 45.0, 96.0, 67.0, 67.0, 100.0]          # 12 mm of kidney at the scan's last slice
    inside = [45.0, 45.0, 56.0, 67.0, 67.0, 60.0]           # the same box in the middle of the scan

    kept, changes = plausible_boxes({0: entry(at_top)}, CLASSES, GRID, 60.0, organ_size_mm=KIDNEY_SIZES,
                                    rules=("size",))
    np.testing.assert_array_equal(kept[0][0], at_top)
    assert changes == []
    kept, _ = plausible_boxes({0: entry(inside)}, CLASSES, GRID, 60.0, organ_size_mm=KIDNEY_SIZES, rules=("size",))
    assert kept == {}


def test_a_model_without_size_ranges_skips_the_size_rule():
    kept, changes = plausible_boxes({0: entry([40.0, 40.0, 10.0, 62.0, 62.0, 90.0])}, CLASSES, GRID, 60.0,
                                    rules=("size",))
    assert kept[0][0][5] == 90.0 and changes == []


def flipped_volume():
    """A CT whose array i runs towards the patient's RIGHT (first IJK-to-RAS column negated), body off-centre."""
    image = np.full((30, 40, 80), -1000.0)
    image[:, 5:35, 30:79] = 0.0                             # body: array i 30..78, far from the array's centre 40
    ijk_to_ras = np.diag([2.0, -2.0, 2.0, 1.0])             # +i is +R; the usual (LPS-like) matrix has -2 here
    return image, ijk_to_ras


def grid_box_of(ijk_low, ijk_high, ijk_to_ras, grid):
    """The canonical-grid box (voxel edges) of a box of volume voxels ``[low, high)`` given as (i, j, k)."""
    corners = np.array([[i, j, k, 1.0] for i in (ijk_low[0] - 0.5, ijk_high[0] - 0.5)
                        for j in (ijk_low[1] - 0.5, ijk_high[1] - 0.5) for k in (ijk_low[2] - 0.5, ijk_high[2] - 0.5)])
    grid_ijk = (np.linalg.inv(grid.ijk_to_ras) @ ijk_to_ras @ corners.T)[:3].T + 0.5
    return np.concatenate([grid_ijk.min(axis=0), grid_ijk.max(axis=0)])


def test_a_kidney_on_the_wrong_side_of_the_body_is_dropped_in_patient_coordinates():
    image, ijk_to_ras = flipped_volume()
    inputs, grid, _ = grid_input(image, ijk_to_ras, PIXEL_MM)
    midline_i = body_midline_i(inputs[..., 0])
    # Array i 32..40 is at the patient's left (+i is Right here), 35 mm left of the body's midline (array i 54) but
    # 6 mm right of the array's centre: only the body's midline in patient coordinates tells the side.
    box6 = grid_box_of((32, 15, 10), (41, 25, 20), ijk_to_ras, grid)
    fused = {0: entry(box6), 1: entry(box6)}                # kidney_left and kidney_right at the same place

    kept, changes = plausible_boxes(fused, CLASSES, grid, midline_i, rules=("side",))

    assert list(kept) == [0]
    assert [(change["organ"], change["change"]) for change in changes] == [("kidney_right", "dropped")]
    towards_left_mm = ((box6[0] + box6[3]) / 2 - (midline_i + 0.5)) * PIXEL_MM
    assert towards_left_mm == pytest.approx(35.0, abs=4.0) and towards_left_mm > PAIRED_SIDE_TOLERANCE_MM


def test_liver_and_spleen_keep_their_sides_with_a_large_tolerance():
    midline_i = 59.5                                        # edge coordinate 60
    fused = {2: entry([70.0, 30.0, 40.0, 100.0, 80.0, 80.0]),   # liver centred 75 mm to the patient's left
             3: entry([65.0, 30.0, 40.0, 100.0, 80.0, 80.0])}   # spleen centred 67 mm to the left
    kept, changes = plausible_boxes(fused, CLASSES, GRID, midline_i, rules=("side",))
    assert list(kept) == [3] and changes[0]["organ"] == "liver"
    near = {2: entry([40.0, 30.0, 40.0, 90.0, 80.0, 80.0])}      # liver centred 15 mm left: a left lobe, kept
    assert list(plausible_boxes(near, CLASSES, GRID, midline_i, rules=("side",))[0]) == [2]


def vertebrae(l2_score):
    """L1 and L3 in order but overlapping along k by 16 voxels; L2 found above L1, overlapping L3 by 4."""
    return {4: entry([50.0, 60.0, 50.0, 70.0, 80.0, 70.0], 0.9),       # L1, centre k 60
            5: entry([50.0, 60.0, 62.0, 70.0, 80.0, 78.0], l2_score),  # L2, centre k 70: above L1
            6: entry([50.0, 60.0, 30.0, 70.0, 80.0, 66.0], 0.8)}       # L3, centre k 48, top at 66 > L1's bottom


def test_vertebrae_out_of_order_lose_the_lower_score_and_overlaps_are_trimmed():
    kept, changes = plausible_boxes(vertebrae(0.3), CLASSES, GRID, 60.0, rules=("vertebrae",))

    assert sorted(kept) == [4, 6]                           # L2 scored less than L1, its conflicting neighbour
    # The overlap 50..66 is trimmed to half the shorter height (L1's 20), 10 voxels, about its middle 58.
    assert (kept[4][0][2], kept[6][0][5]) == (53.0, 63.0)
    assert kept[4][0][5] == 70.0 and kept[6][0][2] == 30.0
    assert [(change["organ"], change["change"]) for change in changes] == [
        ("vertebrae_L2", "dropped"), ("vertebrae_L1", "trimmed"), ("vertebrae_L3", "trimmed")]

    kept, _ = plausible_boxes(vertebrae(0.95), CLASSES, GRID, 60.0, rules=("vertebrae",))
    assert sorted(kept) == [5, 6]                           # now L1 is the weaker of the pair
    for cls in (5, 6):                                      # L2 and L3 overlap by 4 of an allowed 8: untouched
        np.testing.assert_array_equal(kept[cls][0], vertebrae(0.95)[cls][0])


def test_no_rule_changes_nothing_and_unknown_rules_are_refused():
    fused = {**vertebrae(0.3), 1: entry([40.0, 40.0, 10.0, 50.0, 50.0, 90.0])}
    kept, changes = plausible_boxes(fused, CLASSES, GRID, 80.0, organ_size_mm=KIDNEY_SIZES, rules=())
    assert sorted(kept) == sorted(fused) and changes == []
    with pytest.raises(InputError, match="sizes"):
        plausible_boxes(fused, CLASSES, GRID, 80.0, rules=("sizes",))


def test_anatomy_rules_parameter():
    assert DetectParameters().anatomy_rule_names() == ("size", "side", "vertebrae")
    assert DetectParameters(anatomy_rules="none").anatomy_rule_names() == ()
    assert DetectParameters(anatomy_rules="vertebrae, size").anatomy_rule_names() == ("size", "vertebrae")
    assert DetectParameters(anatomy_rules="side,").anatomy_rule_names() == ("side",)
    for bad in ("sizes", "", " , "):
        with pytest.raises(ParameterError, match="anatomy_rules"):
            DetectParameters(anatomy_rules=bad)
