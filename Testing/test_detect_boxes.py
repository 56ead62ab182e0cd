"""Detector boxes: IoU, k-means default-box sizes, output layers, default boxes, SSD coding and NMS."""

import numpy as np
import pytest

from clinicalimaging import InputError
from clinicalimaging.detect.boxes import (OUTPUT_LAYER_CANDIDATES, anchor_recall, box_iou, choose_output_layers,
                                          cxcywh_to_xyxy, decode, default_boxes, encode, kmeans_sizes,
                                          layer_box_sizes, mean_best_iou, nms, size_iou)


def skewed_sizes(seed=0):
    """200 small boxes (10-20 px, mixed aspect) and 20 huge ones (150-250 px)."""
    rng = np.random.default_rng(seed)
    small = rng.uniform(10, 20, (200, 2))
    huge = rng.uniform(150, 250, (20, 2))
    return np.vstack([small, huge])


def test_box_iou_and_size_iou_of_known_boxes():
    a = np.array([[0, 0, 10, 10], [0, 0, 0, 0]])
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10]])
    np.testing.assert_allclose(box_iou(a, b), [[50 / 150, 0, 1], [0, 0, 0]])
    np.testing.assert_allclose(size_iou([[10, 20]], [[20, 10], [10, 20], [5, 5]]), [[100 / 300, 1, 25 / 200]])


def test_iou_kmeans_fits_skewed_sizes_better_than_euclidean():
    wh = skewed_sizes()
    iou_centroids = kmeans_sizes(wh, 3, distance="iou")
    euclidean_centroids = kmeans_sizes(wh, 3, distance="euclidean")
    gain = mean_best_iou(wh, iou_centroids) - mean_best_iou(wh, euclidean_centroids)
    assert gain > 0.02
    # Euclidean spends two clusters on the 20 huge boxes; 1 - IoU spends two on the 200 small ones.
    assert np.count_nonzero(np.sqrt(np.prod(euclidean_centroids, axis=1)) > 100) == 2
    assert np.count_nonzero(np.sqrt(np.prod(iou_centroids, axis=1)) < 30) == 2


@pytest.mark.parametrize("distance", ["iou", "euclidean"])
def test_kmeans_recovers_separated_clusters_sorted_by_area(distance):
    rng = np.random.default_rng(3)
    truth = np.array([[10.0, 30.0], [40.0, 20.0], [100.0, 120.0]])
    wh = np.vstack([centre * rng.uniform(0.97, 1.03, (50, 2)) for centre in truth[[2, 0, 1]]])
    centroids = kmeans_sizes(wh, 3, distance=distance, seed=1)
    np.testing.assert_allclose(centroids, truth, rtol=0.02)
    assert mean_best_iou(wh, centroids) > 0.95


def test_kmeans_is_reproducible_with_a_seed():
    wh = skewed_sizes(seed=5)
    np.testing.assert_array_equal(kmeans_sizes(wh, 4, seed=2), kmeans_sizes(wh, 4, seed=2))


@pytest.mark.parametrize("wh, k, kwargs, message", [
    ([[10, 10], [20, 20]], 3, {}, "at least k = 3 distinct"),
    ([[10, 10], [10, 10], [10, 10]], 2, {}, "1 distinct"),
    ([[10, 10], [0, 5], [3, 4]], 2, {}, "non-positive"),
    ([[10, 10], [-1, 5]], 1, {}, "non-positive"),
    ([[10, 10], [20, 20]], 1, {"distance": "manhattan"}, "'iou' or 'euclidean'"),
    ([10, 20, 30], 1, {}, r"\(N, 2\)"),
    ([[10, 10], [20, 20]], 0, {}, ">= 1"),
])
def test_kmeans_rejects_bad_inputs(wh, k, kwargs, message):
    with pytest.raises(InputError, match=message):
        kmeans_sizes(wh, k, **kwargs)


def test_encode_decode_round_trip():
    rng = np.random.default_rng(0)
    low = rng.uniform(0, 200, (100, 2))
    boxes = np.hstack([low, low + rng.uniform(2, 100, (100, 2))])
    anchors = np.hstack([rng.uniform(0, 300, (100, 2)), rng.uniform(4, 150, (100, 2))])
    offsets = encode(boxes, anchors)
    np.testing.assert_allclose(decode(offsets, anchors), boxes, atol=1e-9)
    # SSD's coding with variances (0.1, 0.2), checked on one box by hand.
    np.testing.assert_allclose(encode([[10, 20, 30, 60]], [[18, 40, 10, 20]]), [[2, 0, np.log(2) / 0.2,
                                                                                 np.log(2) / 0.2]])


def test_decode_of_huge_offsets_stays_finite():
    anchors = np.array([[50.0, 50.0, 16.0, 16.0]] * 3)
    offsets = np.array([[1e300, -1e300, 1e6, 1e300], [0, 0, -1e300, -1e6], [1e3, 1e3, 800, 800]])
    boxes = decode(offsets, anchors)
    assert np.all(np.isfinite(boxes))
    widths = boxes[:, 2] - boxes[:, 0]
    assert np.all(widths > 0) and widths.max() == pytest.approx(1000.0)


def test_nms_suppresses_overlaps_keeps_disjoint_in_score_order():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60], [0, 0, 10, 5], [51, 50, 61, 60]])
    scores = np.array([0.8, 0.9, 0.3, 0.7, 0.95])
    # IoU(1, 0) = 0.818, IoU(1, 3) = 45/105 = 0.43, IoU(4, 2) = 0.818.
    np.testing.assert_array_equal(nms(boxes, scores, iou_threshold=0.45), [4, 1, 3])
    np.testing.assert_array_equal(nms(boxes, scores, iou_threshold=0.4), [4, 1])
    np.testing.assert_array_equal(nms(boxes, scores, iou_threshold=0.9), [4, 1, 0, 3, 2])
    np.testing.assert_array_equal(nms(boxes, scores, iou_threshold=0.45, max_output=2), [4, 1])
    assert nms(np.zeros((0, 4)), []).size == 0
    with pytest.raises(InputError, match="one score per box"):
        nms(boxes, scores[:2])


def test_default_boxes_count_order_and_centres():
    sizes = [np.array([[4.0, 8.0], [8.0, 4.0]]), np.array([[20.0, 20.0], [10.0, 40.0], [40.0, 10.0]])]
    anchors = default_boxes([(3, 5), (2, 2)], [4, 8], sizes)
    assert anchors.shape == (3 * 5 * 2 + 2 * 2 * 3, 4)
    # The first layer's anchors are an (h, w, A, 4) array reshaped to (h * w * A, 4).
    first = anchors[:30].reshape(3, 5, 2, 4)
    np.testing.assert_allclose(first[2, 4, 1], [(4 + 0.5) * 4, (2 + 0.5) * 4, 8, 4])
    np.testing.assert_allclose(first[..., 0], np.broadcast_to(((np.arange(5) + 0.5) * 4)[None, :, None], (3, 5, 2)))
    np.testing.assert_allclose(first[..., 1], np.broadcast_to(((np.arange(3) + 0.5) * 4)[:, None, None], (3, 5, 2)))
    second = anchors[30:].reshape(2, 2, 3, 4)
    np.testing.assert_allclose(second[1, 0, 2], [4, 12, 40, 10])


def test_choose_output_layers_follows_the_documented_rule():
    scales = [20, 40, 100, 300, 8]
    assignment = choose_output_layers(np.array([[s, s] for s in scales], dtype=float))
    assert assignment == {"conv3_3": [0, 4], "conv4_3": [1], "conv5_3": [2], "fc7": [3]}
    assert list(choose_output_layers([100.0, 20.0])) == ["conv3_3", "conv5_3"]  # depth order, 1-D scales
    assert [layer.name for layer in OUTPUT_LAYER_CANDIDATES] == ["conv3_3", "conv4_3", "conv5_3", "fc7"]
    assert choose_output_layers([300.0], OUTPUT_LAYER_CANDIDATES[:3]) == {"conv5_3": [0]}


def test_layer_box_sizes_share_aspect_ratios_and_grow_with_depth():
    centroids = np.array([[10.0, 40.0], [30.0, 30.0], [60.0, 15.0], [200.0, 100.0]])
    assignment = choose_output_layers(centroids)
    sizes = layer_box_sizes(centroids, assignment)
    assert list(sizes) == list(assignment)
    ratios = centroids[:, 0] / centroids[:, 1]
    scales = []
    for name, wh in sizes.items():
        np.testing.assert_allclose(wh[len(centroids):], centroids[assignment[name]])  # the layer's own clusters
        wh = wh[:len(centroids)]
        np.testing.assert_allclose(wh[:, 0] / wh[:, 1], ratios)
        scale = np.sqrt(np.prod(wh, axis=1))
        np.testing.assert_allclose(scale, scale[0])
        members = assignment[name]
        np.testing.assert_allclose(scale[0], np.exp(np.mean(np.log(np.sqrt(np.prod(centroids[members], axis=1))))))
        scales.append(scale[0])
    assert len(scales) >= 2 and np.all(np.diff(scales) > 0)


def test_anchor_recall_with_sizes_and_positions():
    anchors = np.array([[10.0, 10.0, 20.0, 20.0], [100.0, 100.0, 50.0, 50.0]])
    assert anchor_recall([[20, 20], [50, 40], [5, 5]], anchors) == pytest.approx(2 / 3)
    gt = cxcywh_to_xyxy([[10, 10, 20, 20], [200, 200, 50, 50]])
    assert anchor_recall(gt, anchors) == pytest.approx(0.5)
