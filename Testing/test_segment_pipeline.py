"""The array-level segmentation chain from outline points."""

import numpy as np
import pytest
from scipy import ndimage

from clinicalimaging import Cancelled, InputError
from clinicalimaging.metrics import dice
from clinicalimaging.phantom import make_phantom
from clinicalimaging.segment.core import segment_lesion
from clinicalimaging.segment.evaluation import simulate_outline
from clinicalimaging.segment.parameters import SegmentParameters
from clinicalimaging.segment.refine import refine_lesion
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


def _large_ellipsoid(seed=0):
    """A large ellipsoid (radius 40 px on the middle slice) on 1 mm voxels, with noise: an organ on thin slices."""
    rng = np.random.default_rng(seed)
    k, j, i = np.ogrid[:60, :110, :110]
    organ = ((k - 30) / 22.0) ** 2 + ((j - 55) / 40.0) ** 2 + ((i - 55) / 40.0) ** 2 <= 1
    return np.where(organ, 100.0, 30.0) + rng.normal(0.0, 8.0, organ.shape), organ


def test_a_large_structure_runs_on_the_working_grid_and_comes_back_on_the_input_grid():
    image, organ = _large_ellipsoid()
    points = simulate_outline(organ)
    result = segment_lesion(image, points, (1.0, 1.0, 1.0))
    assert result.state.factors == (2, 2, 2) and result.state.input_shape == image.shape
    assert result.mask.shape == result.margin.shape == result.rough_mask.shape == image.shape
    assert dice(result.mask, organ) > 0.95
    outside_roi = np.ones(image.shape, bool)
    outside_roi[result.roi.slices] = False
    assert not result.mask[outside_roi].any() and result.roi.stop[1] > organ.any(axis=(0, 2)).nonzero()[0].max()
    seeds = np.zeros(image.shape, np.uint8)
    seeds[30, 54:57, 54:57] = 2  # a background scribble inside the organ, 3 x 3 input voxels
    seeds[30, 5:8, 50:53] = 1
    refined = refine_lesion(result, seeds)
    assert not refined.mask[seeds == 2].any() and refined.mask[seeds == 1].all()
