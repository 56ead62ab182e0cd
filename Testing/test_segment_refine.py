"""Interactive refinement: scribbles after a first result update it, re-using its rough surface and features."""

import numpy as np
import pytest
from scipy import ndimage

from clinicalimaging import InputError
from clinicalimaging.metrics import dice
from clinicalimaging.phantom import make_phantom
from clinicalimaging.segment.core import segment_lesion
from clinicalimaging.segment.refine import refine_lesion
from outline import lesion_outline


@pytest.fixture(scope="module")
def first_run():
    phantom = make_phantom("ct", shape=(24, 96, 96), spacing=(2.5, 0.8, 0.8), seed=1)
    points, lesion = lesion_outline(phantom)
    return phantom, points, lesion, segment_lesion(phantom.image, points, phantom.spacing)


def scribbles_where_wrong(result, lesion):
    """Lesion strokes in the largest missed part of a slice, background strokes in the largest false part."""
    seeds = np.zeros(lesion.shape, np.uint8)
    for wrong, value in ((lesion & (result.mask == 0), 1), ((result.mask > 0) & ~lesion, 2)):
        k = int(np.argmax(wrong.sum(axis=(1, 2))))
        stroke = ndimage.binary_erosion(wrong[k], iterations=1)
        seeds[k][stroke if stroke.any() else wrong[k]] = value
    return seeds


def test_scribbles_correct_the_result_and_re_use_the_described_voxels(first_run):
    phantom, points, lesion, result = first_run
    seeds = scribbles_where_wrong(result, lesion)
    assert (seeds == 1).any() and (seeds == 2).any()
    described = int((result.state.band.rows >= 0).sum())
    refined = refine_lesion(result, seeds)
    assert dice(refined.mask, lesion) > dice(result.mask, lesion)
    assert refined.mask[seeds == 1].all() and not refined.mask[seeds == 2].any()
    added = int((refined.state.band.rows >= 0).sum()) - described
    assert 0 <= added < described  # only the voxels the scribbles add get their features
    np.testing.assert_array_equal(refined.rough_mask, result.rough_mask)
    rerun = segment_lesion(phantom.image, points, phantom.spacing, seeds=seeds)
    assert dice(refined.mask, rerun.mask) > 0.95


def test_refinement_needs_the_state_and_both_kinds_of_scribbles_in_the_roi(first_run):
    phantom, _, lesion, result = first_run
    only_lesion = np.zeros(lesion.shape, np.uint8)
    only_lesion[lesion] = 1
    far = np.zeros(lesion.shape, np.uint8)
    far[lesion] = 1
    far[0, 0, 0] = 2  # outside the region of interest
    for seeds in (only_lesion, far):
        with pytest.raises(InputError, match="both"):
            refine_lesion(result, seeds)
    with pytest.raises(InputError, match="state"):
        refine_lesion(object(), only_lesion)
