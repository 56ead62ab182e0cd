"""Stress phantoms: each reproduces its failure mode (thick slices, look-alike neighbours, a changing shape)."""

import numpy as np
import pytest
from scipy import ndimage

from clinicalimaging import InputError
from clinicalimaging.stress_phantoms import FAMILIES, make_stress_phantom


def slices_of(mask):
    return np.flatnonzero(mask.any(axis=(1, 2)))


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_is_reproducible_and_finite(family):
    first, second = make_stress_phantom(family, seed=3), make_stress_phantom(family, seed=3)
    np.testing.assert_array_equal(first.image, second.image)
    assert np.isfinite(first.image).all() and first.image.shape == first.labels.shape
    assert (first.labels == first.lesion_label).sum() > 100 and (first.labels == 2).any()
    assert not np.array_equal(first.image, make_stress_phantom(family, seed=4).image)


def test_thick_small_lesion_is_on_three_slices_with_a_look_alike_above():
    phantom = make_stress_phantom("thick_small")
    target, look_alike = phantom.labels == 1, phantom.labels == 2
    assert phantom.spacing[0] == 6.5
    lesion_slices = slices_of(target)
    assert len(lesion_slices) == 3
    assert slices_of(look_alike).tolist() == [lesion_slices[-1] + 1]
    inside, beside = phantom.image[target].mean(), phantom.image[look_alike].mean()
    assert abs(inside - beside) < 0.15 * inside  # alike in brightness


def test_neighbour_gap_has_same_intensity_neighbours_beyond_a_thin_gap():
    phantom = make_stress_phantom("neighbour_gap")
    target, neighbour = phantom.labels == 1, phantom.labels == 2
    gap = ndimage.distance_transform_edt(~target, sampling=phantom.spacing)[neighbour].min()
    assert 1.5 <= gap <= 4.5
    bright_target = phantom.image[target] > 200
    assert 0.2 < bright_target.mean() < 0.8  # heterogeneous: a bright chamber inside a darker wall
    assert phantom.image[neighbour].max() > 250


def test_shape_change_organ_drifts_and_tapers_far_from_its_largest_slice():
    phantom = make_stress_phantom("shape_change")
    target = phantom.labels == 1
    areas = target.sum(axis=(1, 2))
    largest = int(areas.argmax())
    far = largest + 30
    assert areas[far] < 0.6 * areas[largest]
    drift_mm = abs(ndimage.center_of_mass(target[far])[1] - ndimage.center_of_mass(target[largest])[1]) \
        * phantom.spacing[2]
    assert drift_mm > 8
    assert (target & ndimage.binary_dilation(phantom.labels == 2, iterations=2)).any()  # touches its neighbour


def test_unknown_family_is_refused():
    with pytest.raises(InputError, match="thick_small"):
        make_stress_phantom("round")
