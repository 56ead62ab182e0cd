"""The array-level segmentation chain from outline points."""

import numpy as np
import pytest
from scipy import ndimage

from clinicalimaging import Cancelled, InputError
from clinicalimaging.metrics import dice
from clinicalimaging.phantom import make_phantom
from clinicalimaging.segment.core import segment_lesion
from clinicalimaging.segment.parameters import SegmentParameters
from outline import lesion_outline


@pytest.fixture(scope="module")
def phantom():
    return make_phantom("mr", shape=(24, 96, 96), spacing=(2.5, 0.8, 0.8), seed=0)


def test_chain_segments_the_phantom_lesion_within_its_roi(phantom):
    points, lesion = lesion_outline(phantom)
    fractions = []
    result = segment_lesion(phantom.image, points, phantom.spacing,
                            progress=lambda fraction, message: fractions.append(fraction))
    assert result.mask.shape == phantom.image.shape and result.mask.dtype == np.uint8
    assert result.margin.dtype == np.float32 and result.rough_mask.shape == phantom.image.shape
    outside_roi = np.ones(phantom.image.shape, bool)
    outside_roi[result.roi.slices] = False
    assert not result.mask[outside_roi].any()
    # The target; this phantom gives 0.905 (six phantoms 0.86-0.94, mean 0.90: see the issue note).
    assert dice(result.mask, lesion) >= 0.9 and dice(result.rough_mask, lesion) > 0.85
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_chain_is_deterministic_and_offers_both_classifiers(phantom):
    points, lesion = lesion_outline(phantom)
    first = segment_lesion(phantom.image, points, phantom.spacing)
    second = segment_lesion(phantom.image, points, phantom.spacing)
    np.testing.assert_array_equal(first.mask, second.mask)
    plain = segment_lesion(phantom.image, points, phantom.spacing, SegmentParameters(classifier="svm"))
    assert first.classifier.pace is None and plain.classifier.pace == float("inf")
    assert plain.classifier.n_rounds_ == 1 and dice(plain.mask, lesion) > 0.6


def test_seeds_override_the_result(phantom):
    points, lesion = lesion_outline(phantom)
    seeds = np.zeros(phantom.image.shape, np.uint8)
    k = int(points[0, 0])
    centre = np.round(ndimage.center_of_mass(lesion[k])).astype(int)
    seeds[k, centre[0], centre[1]] = 1
    liver_near = np.argwhere(~ndimage.binary_dilation(lesion[k], iterations=3) & (phantom.labels[k] == 2))
    background = liver_near[np.argmin(np.linalg.norm(liver_near - centre, axis=1))]  # inside the ROI
    seeds[k, background[0], background[1]] = 2
    result = segment_lesion(phantom.image, points, phantom.spacing, seeds=seeds)
    assert result.mask[k, centre[0], centre[1]] == 1
    assert result.margin[k, centre[0], centre[1]] > 0 > result.margin[k, background[0], background[1]]


@pytest.mark.parametrize("seeds, message", [
    (np.zeros((3, 3, 3)), "shape"),
    ("one class", "both classes"),
    ("bad value", "values"),
])
def test_bad_seeds_raise_input_error(phantom, seeds, message):
    points, _ = lesion_outline(phantom)
    if isinstance(seeds, str):
        value = 1 if seeds == "one class" else 7
        seeds = np.zeros(phantom.image.shape, np.uint8)
        seeds[10, 40, 40] = value
    with pytest.raises(InputError, match=message):
        segment_lesion(phantom.image, points, phantom.spacing, seeds=seeds)


def test_cancel_stops_the_chain(phantom):
    points, _ = lesion_outline(phantom)
    with pytest.raises(Cancelled):
        segment_lesion(phantom.image, points, phantom.spacing, progress=lambda fraction, message: fraction < 0.3)
