"""Per-slice 2-D detections -> one 3-D box per organ per view, and the fusion of the three views."""

import numpy as np
import pytest

from clinicalimaging import InputError
from clinicalimaging.detect.aggregate import VIEW_AXES, fuse_views, view_boxes_3d

#: A known organ box on the grid, (i0, j0, k0, i1, j1, k1) in voxel edges.
ORGAN = np.array([30.0, 40.0, 10.0, 70.0, 64.0, 31.0])


def ellipsoid_sections(view, box6, *, jitter_px=0.0, seed=0, score=0.9):
    """Per-slice boxes of an ellipsoid filling ``box6``, seen in ``view``: lists of (slice, score, box)."""
    slice_axis, x_axis, y_axis = VIEW_AXES[view]
    low, high = box6[:3], box6[3:]
    centre, half = (low + high) / 2, (high - low) / 2
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(int(low[slice_axis]), int(high[slice_axis])):
        t = (s + 0.5 - centre[slice_axis]) / (half[slice_axis] - 0.5)  # -1 .. 1 over the slices, 0 in the middle
        shrink = 0.3 + 0.7 * np.sqrt(max(1.0 - t * t, 0.0))
        cx, cy = centre[[x_axis, y_axis]] + rng.uniform(-jitter_px, jitter_px, 2)
        hx, hy = half[[x_axis, y_axis]] * shrink
        rows.append((s, score, [cx - hx, cy - hy, cx + hx, cy + hy]))
    return rows


def as_arrays(rows, cls=0):
    slices, scores, boxes = zip(*rows)
    return np.array(slices), np.full(len(rows), cls), np.array(scores), np.array(boxes, dtype=float)


def test_axial_box_of_an_organ_despite_a_gap_an_outlier_and_a_spurious_detection():
    rows = ellipsoid_sections("axial", ORGAN, jitter_px=0.5)
    rows = [row for row in rows if row[0] != 24]                # a missed slice inside the organ
    rows.append((15, 0.99, [150.0, 150.0, 170.0, 175.0]))       # a far false positive, best on its slice
    rows.append((20, 0.2, [0.0, 0.0, 200.0, 200.0]))            # a weaker duplicate on a slice
    rows.append((80, 0.95, [0.0, 0.0, 30.0, 30.0]))             # a lone detection on a far slice
    slices, classes, scores, boxes = as_arrays(rows)
    found = view_boxes_3d("axial", slices, classes, scores, boxes)
    assert list(found) == [0]
    box6, score, count = found[0]
    np.testing.assert_allclose(box6, ORGAN, atol=1.0)
    assert box6[2] == 10 and box6[5] == 31                      # slice extent exact: first slice, last + 1
    assert count == 21 - 1 - 1                                  # minus the missed slice and the outlier
    assert score == pytest.approx(0.9)


def test_each_view_maps_slice_and_in_plane_axes_to_the_grid():
    for view in VIEW_AXES:
        found = view_boxes_3d(view, *as_arrays(ellipsoid_sections(view, ORGAN), cls=4))
        # Within 0.2 px: even slice counts miss the widest section, and in-plane edges are 10 % / 90 % quantiles.
        np.testing.assert_allclose(found[4][0], ORGAN, atol=0.2)


def test_short_runs_are_dropped_and_gaps_split_runs():
    rows = [(5, 0.9, [0, 0, 10, 10])]
    assert view_boxes_3d("axial", *as_arrays(rows)) == {}
    kept = view_boxes_3d("axial", *as_arrays(rows), min_slices=1)
    np.testing.assert_allclose(kept[0][0], [0, 0, 5, 10, 10, 6])
    # Slices 0-2 (sum 1.5) and 6-9 (sum 2.0) are 3 missing slices apart: two runs; the larger sum wins.
    rows = [(s, 0.5, [0, 0, 10, 10]) for s in (0, 1, 2, 6, 7, 8, 9)]
    box6, _, count = view_boxes_3d("axial", *as_arrays(rows), max_gap=2)[0]
    assert (box6[2], box6[5], count) == (6, 10, 4)
    box6, _, count = view_boxes_3d("axial", *as_arrays(rows), max_gap=3)[0]
    assert (box6[2], box6[5], count) == (0, 10, 7)


def test_classes_are_aggregated_separately():
    liver = as_arrays(ellipsoid_sections("coronal", ORGAN), cls=1)
    spleen_box = np.array([80.0, 45.0, 12.0, 100.0, 60.0, 25.0])
    spleen = as_arrays(ellipsoid_sections("coronal", spleen_box, score=0.6), cls=2)
    found = view_boxes_3d("coronal", *(np.concatenate(pair) for pair in zip(liver, spleen)))
    assert sorted(found) == [1, 2]
    np.testing.assert_allclose(found[2][0], spleen_box, atol=0.1)  # in-plane edges are quantiles
    assert found[2][1] == pytest.approx(0.6)
    assert view_boxes_3d("axial", [], [], [], np.zeros((0, 4))) == {}


def test_fusion_of_three_views_recovers_the_box():
    per_view = {view: view_boxes_3d(view, *as_arrays(ellipsoid_sections(view, ORGAN, jitter_px=0.4, seed=n)))
                for n, view in enumerate(VIEW_AXES)}
    fused = fuse_views(per_view, views_expected=tuple(VIEW_AXES))
    box6, score, views = fused[0]
    np.testing.assert_allclose(box6, ORGAN, atol=1.0)
    assert score == pytest.approx(0.9)
    assert views == ("axial", "coronal", "sagittal")


def test_fusion_weights_slice_axis_extents_half():
    axial = ORGAN.copy()
    axial[5] += 6.0                                             # the axial run overshoots at the top (k1)
    coronal = ORGAN.copy()
    coronal[5] -= 3.0                                           # the coronal box's upper edge, in-plane
    per_view = {"axial": {0: (axial, 0.8, 21)}, "coronal": {0: (coronal, 0.4, 24)}}
    box6 = fuse_views(per_view, views_expected=("axial", "coronal", "sagittal"))[0][0]
    # k1: axial weight 0.8 * 0.5, coronal weight 0.4 * 1.
    assert box6[5] == pytest.approx((0.4 * (ORGAN[5] + 6) + 0.4 * (ORGAN[5] - 3)) / 0.8)
    np.testing.assert_allclose(box6[:5], ORGAN[:5])


def test_a_class_seen_by_one_view_of_three_scores_a_third():
    per_view = {"axial": {0: (ORGAN, 0.9, 21), 3: (ORGAN + 1, 0.6, 21)},
                "coronal": {0: (ORGAN, 0.9, 24)}, "sagittal": {0: (ORGAN, 0.9, 40)}}
    fused = fuse_views(per_view, views_expected=("axial", "coronal", "sagittal"))
    assert fused[0][1] == pytest.approx(0.9)
    assert fused[3][1] == pytest.approx(0.2) and fused[3][2] == ("axial",)
    np.testing.assert_allclose(fused[3][0], ORGAN + 1)
    assert fuse_views({"axial": {0: (ORGAN, 0.9, 21)}}, views_expected=("axial",))[0][1] == pytest.approx(0.9)


def test_bad_views_are_refused():
    with pytest.raises(InputError, match="Unknown view"):
        view_boxes_3d("oblique", [0], [0], [1.0], [[0, 0, 1, 1]])
    with pytest.raises(InputError, match="not among the views run"):
        fuse_views({"coronal": {0: (ORGAN, 0.9, 3)}}, views_expected=("axial",))
    with pytest.raises(InputError, match="One slice, class, score and box"):
        view_boxes_3d("axial", [0, 1], [0], [1.0], [[0, 0, 1, 1]])


def test_auto_views_run_three_views_on_long_scans_and_axial_on_short_ones():
    from clinicalimaging.detect.parameters import AUTO_THREE_VIEW_EXTENT_MM, VIEWS, DetectParameters

    automatic = DetectParameters()
    assert automatic.views == "auto"
    assert automatic.view_names(extent_mm=AUTO_THREE_VIEW_EXTENT_MM) == VIEWS
    assert automatic.view_names(extent_mm=AUTO_THREE_VIEW_EXTENT_MM - 1) == ("axial",)
    assert automatic.view_names() == VIEWS
    assert DetectParameters(views="all").view_names(extent_mm=30) == VIEWS
    assert DetectParameters(views="axial").view_names(extent_mm=400) == ("axial",)
