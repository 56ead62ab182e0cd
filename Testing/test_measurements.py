"""Lesion measurements: volume, RECIST diameters (edge to edge, in mm) and intensity statistics."""

import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from clinicalimaging import InputError
from clinicalimaging.measurements import lesion_measurements

KEYS = ["voxels", "volume_ml", "longest_diameter_mm", "perpendicular_diameter_mm", "diameter_slice", "mean", "sd",
        "p5", "p25", "median", "p75", "p95", "min", "max", "unit"]


def grid(spacing_kji, rotation=np.eye(3), origin=(0.0, 0.0, 0.0)):
    """A 4x4 IJK-to-RAS matrix: ``rotation`` times the spacing (mm, KJI order) along i, j, k."""
    matrix = np.eye(4)
    matrix[:3, :3] = rotation @ np.diag(spacing_kji[::-1])
    matrix[:3, 3] = origin
    return matrix


def pixel_diagonal(spacing_kji):
    """The tolerance of an edge-to-edge diameter: a pixel's corners lie within half a diagonal of its centre."""
    return float(np.hypot(*spacing_kji[1:]))


def voxel_centres(shape, ijk_to_ras):
    """RAS positions in mm of the voxel centres of a (K, J, I) grid, shape (K, J, I, 3)."""
    kji = np.indices(shape, dtype=np.float64)
    ijk1 = np.stack([kji[2], kji[1], kji[0], np.ones(shape)], axis=-1)
    return (ijk1 @ ijk_to_ras.T)[..., :3]


def ellipse_mask(shape, ijk_to_ras, centre, axes, semi_axes_mm):
    """Voxels whose centre lies in the elliptic cylinder of ``semi_axes_mm`` (a, b) along the unit ``axes``."""
    offset = voxel_centres(shape, ijk_to_ras) - centre
    return (offset @ axes[0] / semi_axes_mm[0]) ** 2 + (offset @ axes[1] / semi_axes_mm[1]) ** 2 <= 1.0


def in_plane_ellipse(shape, spacing_kji, semi_axes_mm, angle_deg=0.0):
    """An axis-aligned grid and an ellipse on it, centred and turned by ``angle_deg`` from the i axis."""
    matrix = grid(spacing_kji)
    centre = voxel_centres(shape, matrix)[shape[0] // 2, shape[1] // 2, shape[2] // 2]
    angle = np.radians(angle_deg)
    axes = np.array([[np.cos(angle), np.sin(angle), 0.0], [-np.sin(angle), np.cos(angle), 0.0]])
    return matrix, ellipse_mask(shape, matrix, centre, axes, semi_axes_mm)


@pytest.mark.parametrize("spacing", [(5.0, 0.5, 0.5), (5.0, 0.4, 0.9)], ids=["isotropic", "anisotropic"])
def test_disk_measures_its_diameter_edge_to_edge(spacing):
    radius = 15.0
    matrix, mask = in_plane_ellipse((3, 90, 90), spacing, (radius, radius))
    result = lesion_measurements(np.ones(mask.shape), mask, matrix)
    assert result["longest_diameter_mm"] == pytest.approx(2 * radius, abs=pixel_diagonal(spacing))
    assert result["perpendicular_diameter_mm"] == pytest.approx(2 * radius, abs=pixel_diagonal(spacing))
    assert result["longest_diameter_mm"] >= result["perpendicular_diameter_mm"]


def test_single_voxel_spans_its_diagonal_corner_to_corner():
    mask = np.zeros((1, 5, 5), dtype=bool)
    mask[0, 2, 2] = True
    result = lesion_measurements(np.ones(mask.shape), mask, grid((2.0, 3.0, 4.0)))
    assert result["longest_diameter_mm"] == pytest.approx(5.0)  # hypot(3, 4)
    # The chord through the centre, perpendicular to the diagonal, meets the 4 mm sides: 3 mm / cos(atan(3 / 4)).
    assert result["perpendicular_diameter_mm"] == pytest.approx(3.0 * 5.0 / 4.0)


def test_rotated_ellipse_measures_its_axes():
    spacing = (5.0, 0.5, 0.5)
    matrix, mask = in_plane_ellipse((1, 100, 100), spacing, (20.0, 10.0), angle_deg=30.0)
    result = lesion_measurements(np.ones(mask.shape), mask, matrix)
    assert result["longest_diameter_mm"] == pytest.approx(40.0, abs=pixel_diagonal(spacing))
    assert result["perpendicular_diameter_mm"] == pytest.approx(20.0, abs=pixel_diagonal(spacing))


@pytest.mark.parametrize("shear", [0.0, 0.3], ids=["rotated", "sheared"])
def test_oblique_grid_measures_the_same_physical_object(shear):
    spacing = (4.0, 0.6, 0.5)
    shape = (3, 100, 100)
    straight, straight_mask = in_plane_ellipse(shape, spacing, (20.0, 10.0), angle_deg=30.0)
    # The same ellipse, sampled on a grid tilted in 3-D, turned by 20 degrees within its slices and, when
    # sheared, with j steps that lean towards i (non-orthogonal in-plane axes).
    tilt = Rotation.from_euler("xyz", [25.0, -40.0, 70.0], degrees=True).as_matrix()
    turn = Rotation.from_euler("z", 20.0, degrees=True).as_matrix()
    lean = np.array([[1.0, shear, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    oblique = grid(spacing, tilt @ turn @ lean, origin=(-30.0, 12.0, 85.0))
    centre = voxel_centres(shape, oblique)[1, 50, 50]
    angle = np.radians(30.0)
    axes = tilt @ np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)], [0.0, 0.0]])
    oblique_mask = ellipse_mask(shape, oblique, centre, axes.T, (20.0, 10.0))
    assert not np.array_equal(oblique_mask, straight_mask)  # the object is sampled differently
    expected = lesion_measurements(np.ones(shape), straight_mask, straight)
    result = lesion_measurements(np.ones(shape), oblique_mask, oblique)
    for key in ("longest_diameter_mm", "perpendicular_diameter_mm", "volume_ml"):
        assert result[key] == pytest.approx(expected[key], rel=0.03), key
    assert result["longest_diameter_mm"] == pytest.approx(40.0, abs=pixel_diagonal(spacing))
    assert result["perpendicular_diameter_mm"] == pytest.approx(20.0, abs=pixel_diagonal(spacing))


def test_the_slice_with_the_longest_diameter_is_chosen():
    spacing = (3.0, 0.5, 0.5)
    shape = (5, 80, 80)
    matrix = grid(spacing)
    centre = voxel_centres(shape, matrix)[0, 40, 40]
    axes = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    mask = np.zeros(shape, dtype=bool)
    for k, radius in zip([1, 2, 3], [6.0, 14.0, 9.0]):
        mask[k] = ellipse_mask(shape, matrix, centre, axes, (radius, radius))[k]
    mask[4] = mask[2]  # a tie: the lowest k is reported
    result = lesion_measurements(np.ones(shape), mask, matrix)
    assert result["diameter_slice"] == 2
    assert result["longest_diameter_mm"] == pytest.approx(28.0, abs=pixel_diagonal(spacing))


def test_longest_diameter_joins_separate_pieces_of_a_slice():
    mask = np.zeros((2, 10, 20), dtype=bool)
    mask[1, 4, 2] = mask[1, 4, 15] = True
    mask[0, 2:8, 8:12] = True
    result = lesion_measurements(np.ones(mask.shape), mask, grid((1.0, 1.0, 1.0)))
    assert result["diameter_slice"] == 1
    assert result["longest_diameter_mm"] == pytest.approx(np.hypot(14.0, 1.0))
    # The hull is the 14 mm x 1 mm rectangle; the chord perpendicular to its diagonal crosses the 1 mm height.
    assert result["perpendicular_diameter_mm"] == pytest.approx(np.hypot(14.0, 1.0) / 14.0)


def test_volume_is_the_voxel_count_times_the_voxel_volume():
    mask = np.zeros((4, 6, 7), dtype=np.uint8)
    mask[1:3, 2:5, 1:6] = 3
    rotation = Rotation.from_euler("xz", [10.0, 35.0], degrees=True).as_matrix()
    result = lesion_measurements(np.ones(mask.shape), mask, grid((2.5, 0.8, 0.7), rotation))
    assert result["voxels"] == 30
    assert result["volume_ml"] == pytest.approx(30 * 2.5 * 0.8 * 0.7 / 1000.0)


def test_intensity_statistics_are_those_of_the_masked_voxels():
    rng = np.random.default_rng(0)
    image = rng.normal(40.0, 25.0, (3, 20, 20)).round().astype(np.int16)
    mask = rng.random(image.shape) < 0.3
    image[~mask] = 1000  # outside the lesion: must not count
    result = lesion_measurements(image, mask, grid((2.0, 1.0, 1.0)), unit="HU")
    inside = image[mask].astype(np.float64)
    expected = dict(zip(["p5", "p25", "median", "p75", "p95"], np.percentile(inside, [5, 25, 50, 75, 95])))
    expected.update(mean=inside.mean(), sd=inside.std(), min=inside.min(), max=inside.max())
    assert result == {**result, **{key: pytest.approx(value) for key, value in expected.items()}}
    assert result["max"] < 1000
    assert result["unit"] == "HU"
    assert list(result) == KEYS
    assert json.loads(json.dumps(result)) == result
    assert all(type(result[key]) is float for key in KEYS if key not in ("voxels", "diameter_slice", "unit"))
    assert type(result["voxels"]) is int and type(result["diameter_slice"]) is int


def test_empty_mask_is_refused():
    with pytest.raises(InputError, match="lesion mask is empty") as raised:
        lesion_measurements(np.ones((2, 5, 5)), np.zeros((2, 5, 5)), np.eye(4))
    assert "\n" not in str(raised.value)


def test_mask_of_another_shape_is_refused():
    with pytest.raises(InputError, match=r"lesion mask has shape \(2, 5, 4\)"):
        lesion_measurements(np.ones((2, 5, 5)), np.ones((2, 5, 4)), np.eye(4))


@pytest.mark.parametrize("matrix", [np.eye(3), np.diag([1.0, 1.0, 0.0, 1.0]), np.full((4, 4), np.nan)],
                         ids=["3x3", "singular", "nan"])
def test_invalid_matrix_is_refused(matrix):
    with pytest.raises(InputError, match="IJK-to-RAS matrix"):
        lesion_measurements(np.ones((1, 3, 3)), np.ones((1, 3, 3)), matrix)
