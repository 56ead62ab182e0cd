"""clinicalimaging.phantom: determinism, anatomy in mm, geometry, noise, MRML nodes."""

import numpy as np
import pytest
from scipy import ndimage

from clinicalimaging import InputError, mrml
from clinicalimaging.phantom import NOISE_SIGMA, make_phantom
from clinicalimaging.phantom_nodes import phantom_volume


def lesion_volume_and_center(phantom):
    """Lesion volume in mm^3 and centroid in mm (KJI) of a phantom."""
    lesion = phantom.labels == phantom.lesion_label
    spacing = np.array(phantom.spacing)
    return lesion.sum() * spacing.prod(), np.argwhere(lesion).mean(axis=0) * spacing


@pytest.mark.parametrize("kind", ["ct", "mr"])
def test_same_seed_same_phantom_other_seed_other_phantom(kind):
    first, again, other = (make_phantom(kind, seed=seed) for seed in (4, 4, 5))
    assert np.array_equal(first.image, again.image) and np.array_equal(first.labels, again.labels)
    assert not np.array_equal(first.image, other.image)
    assert first.image.dtype == np.float32 and first.labels.dtype == np.uint8
    assert first.image.shape == first.labels.shape == (24, 96, 96)


@pytest.mark.parametrize("seed", range(4))
def test_lesion_lies_inside_the_liver(seed):
    phantom = make_phantom("ct", seed=seed)
    names = {name: value for value, name in phantom.label_names.items()}
    assert names["lesion"] == phantom.lesion_label
    lesion = phantom.labels == phantom.lesion_label
    assert lesion.sum() > 100
    rim = ndimage.binary_dilation(lesion) & ~lesion
    assert set(np.unique(phantom.labels[rim])) == {names["liver"]}


def test_anisotropic_spacing_gives_the_same_physical_lesion():
    thick = make_phantom("ct", shape=(24, 96, 96), spacing=(2.5, 0.8, 0.8), seed=1)
    fine = make_phantom("ct", shape=(60, 96, 96), spacing=(1.0, 0.8, 0.8), seed=1)
    thick_volume, thick_center = lesion_volume_and_center(thick)
    fine_volume, fine_center = lesion_volume_and_center(fine)
    assert thick_volume == pytest.approx(fine_volume, rel=0.1)
    assert np.allclose(thick_center, fine_center, atol=1.0)  # mm, from the volume corner


def test_oblique_changes_only_the_geometry():
    straight = make_phantom("mr", oblique=False, seed=2)
    oblique = make_phantom("mr", oblique=True, seed=2)
    assert np.array_equal(straight.image, oblique.image) and np.array_equal(straight.labels, oblique.labels)
    axes = oblique.ijk_to_ras[:3, :3]
    assert np.allclose(np.linalg.norm(axes, axis=0), straight.spacing[::-1])
    direction = axes / np.linalg.norm(axes, axis=0)
    assert np.allclose(direction.T @ direction, np.eye(3)) and np.linalg.det(direction) > 0
    assert np.count_nonzero(np.abs(direction) > 1e-6) > 3  # oblique: off-diagonal direction cosines
    assert np.linalg.norm(oblique.ijk_to_ras[:3, 3] - straight.ijk_to_ras[:3, 3]) > 1


@pytest.mark.parametrize("kind", ["ct", "mr"])
def test_noise_level_and_lesion_contrast(kind):
    phantom = make_phantom(kind, shape=(24, 128, 128), seed=0)
    air = ndimage.binary_erosion(phantom.labels == 0, iterations=3)
    background = phantom.image[air]
    sigma = NOISE_SIGMA[kind]
    if kind == "ct":
        assert background.mean() == pytest.approx(-1000, abs=1)
        assert background.std() == pytest.approx(sigma, rel=0.05)
    else:  # Rician noise on zero signal is Rayleigh distributed
        assert background.min() >= 0
        assert background.mean() == pytest.approx(sigma * np.sqrt(np.pi / 2), rel=0.05)
    lesion = ndimage.binary_erosion(phantom.labels == phantom.lesion_label)
    liver = ndimage.binary_erosion(phantom.labels == 2, iterations=2)
    contrast = abs(phantom.image[liver].mean() - phantom.image[lesion].mean())
    assert 1 < contrast / sigma < 5  # visible but not trivial


def test_bad_arguments_raise_input_error():
    with pytest.raises(InputError, match="kind"):
        make_phantom("pet")
    with pytest.raises(InputError, match="shape"):
        make_phantom(shape=(4, 96, 96))
    with pytest.raises(InputError, match="spacing"):
        make_phantom(spacing=(0.0, 1.0, 1.0))


def test_phantom_volume_gives_volume_and_label_nodes_with_the_phantom_geometry():
    phantom = make_phantom("ct", shape=(10, 40, 48), oblique=True, seed=7)
    volume, labels = phantom_volume(phantom, name="demo")
    assert volume.IsA("vtkMRMLScalarVolumeNode") and labels.IsA("vtkMRMLLabelMapVolumeNode")
    assert volume.GetName() == "demo" and labels.GetName() == "demo_labels"
    for node, array in [(volume, phantom.image), (labels, phantom.labels)]:
        assert np.allclose(mrml.ijk_to_ras(node), phantom.ijk_to_ras)
        assert np.array_equal(mrml.array_from_volume(node), array)
    assert mrml.spacing_kji(volume) == pytest.approx(phantom.spacing)
    color_table = labels.GetDisplayNode().GetColorNode()
    assert [color_table.GetColorName(value) for value in (0, phantom.lesion_label)] == ["background", "lesion"]
