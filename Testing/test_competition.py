"""The seeded competition between an outline and the background shell around it."""

import numpy as np
import pytest

from clinicalimaging import mrml
from clinicalimaging.errors import InputError
from clinicalimaging.metrics import dice
from clinicalimaging.preprocess import RoiBox, outline_mask
from clinicalimaging.segment.competition import competition_mask, outline_seeds, seeded_competition
from clinicalimaging.segment.core import segment_lesion
from clinicalimaging.segment.evaluation import simulate_outline
from clinicalimaging.segment.parameters import SegmentParameters


def _touching_blocks(seed=0):
    """A bright cylinder (the target) and a same-intensity box beside it, across a 1-voxel gap of partial volume.

    The gap is a little darker, within the target's intensity range. Returns (image,
    target mask, neighbour mask); 20 slices of 2 mm, 0.8 mm pixels.
    """
    rng = np.random.default_rng(seed)
    shape = (20, 64, 64)
    rows, columns = np.mgrid[:shape[1], :shape[2]]
    target = np.zeros(shape, bool)
    neighbour = np.zeros(shape, bool)
    for k in range(4, 16):  # widest on slice 10, where the outline goes
        target[k] = np.hypot(rows - 30, columns - 22) <= 10 - 0.3 * abs(k - 10)
    neighbour[2:18, 14:50, 34:58] = True
    image = np.full(shape, 20.0)
    image[target | neighbour] = 100.0
    image[4:16, 14:50, 33] = 94.0
    return image + rng.normal(0.0, 4.0, shape), target, neighbour


def test_outline_seeds_inside_outside_and_on_faces():
    shape = (5, 60, 60)
    points = [(2, 20, 20), (2, 20, 40), (2, 40, 40), (2, 40, 20)]
    box = RoiBox(start=(1, 5, 5), stop=(4, 55, 55), touches_border=False)
    seeds = outline_seeds(points, shape, box=box)
    polygon = outline_mask(points, shape).astype(bool)
    lesion, background = seeds == 1, seeds == 2
    assert lesion.any() and np.all(polygon[lesion])
    assert not (polygon & background).any()
    # Eroded by 2 px: the polygon's outer two rings hold no lesion seed.
    assert not lesion[2, 20:22].any() and lesion[2, 23, 30]
    # The shell, 3-4 px outside the polygon edge, and not adjacent to it.
    assert np.all(background[2, 30, 43:45]) and not background[2, 30, 41:43].any()
    # Every face of the box is background: its end slices whole, its sides on the slice between.
    assert np.all(background[1, 5:55, 5:55]) and np.all(background[3, 5:55, 5:55])
    assert all(np.all(side) for side in (background[2, 5, 5:55], background[2, 54, 5:55],
                                          background[2, 5:55, 5], background[2, 5:55, 54]))
    assert not background[0].any() and not background[:, :5].any()


def test_outline_seeds_without_faces_keep_only_the_shell():
    shape = (5, 60, 60)
    points = [(2, 20, 20), (2, 20, 40), (2, 40, 40), (2, 40, 20)]
    seeds = outline_seeds(points, shape, faces=False, shell_px=(4, 7))
    assert not (seeds[[0, 1, 3, 4]]).any() and not seeds[2, 0].any()
    assert np.all(seeds[2, 30, 45:48] == 2) and not (seeds[2, 30, 41:45] == 2).any()


def test_competition_splits_two_plateaus_at_their_step():
    image = np.zeros((3, 10, 30))
    image[:, :, 15:] = 50.0
    seeds = np.zeros(image.shape, np.uint8)
    seeds[1, 5, 2], seeds[1, 5, 27] = 1, 2
    labels = seeded_competition(image, seeds)
    assert labels.dtype == np.uint8 and labels.shape == image.shape
    assert np.all(labels[:, :, :15] == 1) and np.all(labels[:, :, 15:] == 2)


def test_competition_gives_equal_intensities_to_the_nearer_seed():
    image = np.ones((1, 5, 21))
    seeds = np.zeros(image.shape, np.uint8)
    seeds[0, 2, 0], seeds[0, 2, 20] = 1, 2
    labels = seeded_competition(image, seeds)
    assert np.all(labels[..., :10] == 1) and np.all(labels[..., 11:] == 2)


def test_competition_without_seeds_labels_nothing_and_checks_shapes():
    assert not seeded_competition(np.ones((2, 4, 4)), np.zeros((2, 4, 4), np.uint8)).any()
    with pytest.raises(InputError, match="shape"):
        seeded_competition(np.ones((2, 4, 4)), np.zeros((2, 4, 5), np.uint8))


def test_outline_wins_its_block_and_loses_the_neighbour_beyond_the_gap():
    image, target, neighbour = _touching_blocks()
    won = competition_mask(image, simulate_outline(target))
    assert won[target].mean() > 0.95
    assert won[neighbour].mean() < 0.05


def test_chain_keeps_the_kidney_out_of_its_neighbours_only_with_the_competition(shared_data):
    """The right kidney on a non-contrast CT touches bowel and gallbladder of its own density."""
    image_node = mrml.read_volume(shared_data / "abdomen_ct_full.nii.gz")
    labels = mrml.read_volume(shared_data / "abdomen_ct_full_organs.nii.gz", labelmap=True)
    kidney = mrml.label_mask_like(labels, image_node, 2) > 0
    image, spacing = mrml.array_from_volume(image_node).astype(np.float32), mrml.spacing_kji(image_node)
    points = simulate_outline(kidney)
    scores = {competition: dice(segment_lesion(image, points, spacing, SegmentParameters(
        background_competition=competition)).mask, kidney) for competition in (True, False)}
    assert scores[True] > 0.8 and scores[True] > scores[False] + 0.1, scores
