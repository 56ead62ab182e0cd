"""Synthetic training volumes from label maps: intensities, alignment, slice thickness, coverage, absent organs."""

import dataclasses

import numpy as np
import pytest

from clinicalimaging.detect.cases import grid_case, phantom_volumes
from clinicalimaging.detect.organs import PHANTOM_NAMES
from clinicalimaging.detect.slices import guess_modality
from clinicalimaging.detect.synthesis import (AIR, AIR_HU, SynthesisSettings, random_shapes_volume, synthesis_source,
                                              synthetic_volume, thick_slices, to_pseudo_hu)

#: Appearance without anything that mixes labels: each label's voxels hold exactly its drawn intensity.
PLAIN = dict(tissue_spread=(0.0, 0.0), blur_px=(0.0, 0.0), thick_slice_probability=0.0, bias_spread=(0.0, 0.0),
             gamma_spread=0.0, noise=(0.0, 0.0))
#: No change of anatomy.
RIGID = dict(body_scale=(1.0, 1.0), axis_scale=(1.0, 1.0), rotation_degrees=(0.0, 0.0, 0.0), shift_mm=0.0,
             deformation_mm=(0.0, 0.0), organ_absent_probability=0.0, coverage_probability=0.0)


@pytest.fixture(scope="module")
def source():
    volume, = phantom_volumes(1, seed=41, shape=(32, 64, 64), spacing=(4.0, 3.0, 3.0))
    return synthesis_source(volume, 3.0)


def _label_means(volume):
    """Mean pseudo-HU of each label value present."""
    labels = np.asarray(volume.labels)
    return {int(value): float(volume.image[labels == value].mean()) for value in np.unique(labels)}


def test_the_source_gives_every_body_voxel_a_tissue_and_keeps_the_organs():
    volume, = phantom_volumes(1, seed=42, shape=(32, 64, 64), spacing=(4.0, 3.0, 3.0))
    named = np.isin(volume.labels, list(volume.label_names))
    source = synthesis_source(dataclasses.replace(volume, labels=np.where(named, volume.labels, 0)), 3.0)
    organs = [value for value, name in source.volume.label_names.items() if name in PHANTOM_NAMES.values()]
    assert set(organs) <= set(np.unique(source.tissues))
    tissues = np.unique(source.tissues[source.tissues >= source.first_tissue])
    assert len(tissues) >= 2  # the unlabelled body is split by intensity
    assert (source.tissues == AIR).any() and (source.tissues != AIR).mean() > 0.2


def test_per_label_intensities_differ_between_draws(source):
    settings = SynthesisSettings(**PLAIN, **RIGID, anchored_probability=0.0)
    first = _label_means(synthetic_volume(source, np.random.default_rng(1), settings))
    second = _label_means(synthetic_volume(source, np.random.default_rng(2), settings))
    organs = [value for value in first if value != AIR and value in second]
    assert len(organs) >= 4
    assert all(abs(first[value] - second[value]) > 1.0 for value in organs)  # HU
    assert first[AIR] == second[AIR] == AIR_HU


def test_anchored_draws_keep_the_source_contrast_with_a_shift_per_label(source):
    shift = 0.1  # normalised units
    settings = SynthesisSettings(**PLAIN, **RIGID, anchored_probability=1.0, anchored_shift=(shift, shift))
    values = [value for value, mean in enumerate(source.means) if np.isfinite(mean) and value != AIR]
    source_hu = to_pseudo_hu(source.means[values], np.zeros(len(values), bool))
    hu_per_unit = float(to_pseudo_hu(np.float32(1.0), False) - to_pseudo_hu(np.float32(0.0), False))
    draws = [_label_means(synthetic_volume(source, np.random.default_rng(seed), settings)) for seed in (3, 4)]
    for means in draws:
        drawn = np.array([means[value] for value in values])
        assert np.all(np.abs(drawn - source_hu) < 4 * shift * hu_per_unit)
    assert all(abs(draws[0][value] - draws[1][value]) > 1.0 for value in values)


def test_a_draw_is_reproducible_from_its_seed(source):
    first = synthetic_volume(source, np.random.default_rng(7))
    second = synthetic_volume(source, np.random.default_rng(7))
    assert np.array_equal(first.image, second.image) and np.array_equal(first.labels, second.labels)


def test_labels_stay_aligned_with_the_image_after_deformation(source):
    settings = SynthesisSettings(**PLAIN, deformation_mm=(8.0, 8.0), organ_absent_probability=0.0,
                                 coverage_probability=0.0)
    volume = synthetic_volume(source, np.random.default_rng(3), settings)
    labels = np.asarray(volume.labels)
    assert not np.array_equal(labels, source.tissues)  # it moved
    for value in np.unique(labels):
        inside = volume.image[labels == value]
        assert np.ptp(inside) < 1e-3, value  # one intensity per label: image and labels moved together


def test_the_synthetic_volume_reads_as_ct_and_trains_as_its_source(source):
    volume = synthetic_volume(source, np.random.default_rng(4))
    assert guess_modality(volume.image) == "ct"
    case = grid_case(volume, list(PHANTOM_NAMES.values()), 3.0)
    assert case.inputs.shape[:3] == np.shape(volume.labels)
    assert {int(value) for value in np.unique(case.classes)} - {0} <= {1, 2, 3, 4, 5}
    assert case.lesion is not None  # the lesion label name carries over


def test_coverage_crop_keeps_a_stretch_in_place(source):
    settings = SynthesisSettings(**PLAIN, **{**RIGID, "coverage_probability": 1.0}, coverage_mm=(30.0, 45.0))
    volume = synthetic_volume(source, np.random.default_rng(5), settings)
    kept = np.shape(volume.labels)[0]
    assert 10 <= kept <= 15  # 30-45 mm of 3 mm slices
    first = int(round((volume.ijk_to_ras[2, 3] - source.grid.ijk_to_ras[2, 3]) / 3.0))
    assert np.array_equal(volume.labels, source.tissues[first:first + kept])


def test_absent_organs_leave_no_voxel_and_no_box(source):
    settings = SynthesisSettings(**PLAIN, **{**RIGID, "organ_absent_probability": 1.0}, organs_absent=(2, 2))
    volume = synthetic_volume(source, np.random.default_rng(6), settings)
    before = set(source.organ_values)
    after = {int(value) for value in np.unique(volume.labels)} & before
    assert len(before - after) == 2


def test_thick_slices_spread_an_edge_over_the_slice_thickness():
    step = np.zeros((40, 2, 2), np.float32)
    step[20:] = 1.0
    thick = thick_slices(step, 6.0, np.random.default_rng(0))
    ramp = np.flatnonzero((thick[:, 0, 0] > 0.02) & (thick[:, 0, 0] < 0.98))
    assert 4 <= len(ramp) <= 12  # partial volume over about two thick slices
    assert np.allclose(thick[:8], 0.0) and np.allclose(thick[-8:], 1.0)
    flat = np.full((30, 2, 2), 0.3, np.float32)
    assert np.allclose(thick_slices(flat, 5.0, np.random.default_rng(0)), 0.3)


def test_random_shapes_hold_no_organ_but_structure():
    settings = dataclasses.replace(SynthesisSettings(), noise=(0.0, 0.0))
    volume = random_shapes_volume((20, 48, 48), 3.0, np.random.default_rng(8), settings)
    assert not np.asarray(volume.labels).any() and volume.background_only
    body = volume.image[volume.image > AIR_HU]
    assert body.size and np.ptp(body) > 50  # several tissues


def test_the_pool_draws_anew_after_each_epoch_and_is_reproducible(source):
    from clinicalimaging.detect.synthetic_pool import SyntheticPool

    def pool():
        return SyntheticPool([source], list(PHANTOM_NAMES.values()), 3.0, ("axial",), size=4, refresh=2,
                             shapes_every=4, seed=3)

    first, second = pool(), pool()
    assert all(np.array_equal(a.inputs, b.inputs) for a, b in zip(first.cases, second.cases))
    assert not first.cases[3].classes.any()  # the fourth slot holds random shapes
    before = [case.inputs for case in first.cases]
    first.refresh(1)
    changed = [not np.array_equal(old, case.inputs) for old, case in zip(before, first.cases)]
    assert changed == [True, True, False, False] and first.drawn == 6
    case, view, index = first.draw(np.random.default_rng(0))
    assert view == "axial" and 0 <= index < case.classes.shape[0]
