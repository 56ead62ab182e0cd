"""Through-plane discipline: beyond the outlined slices each slice continues the one before, or ends."""

import numpy as np

from clinicalimaging.segment.through_plane import limit_through_plane

SPACING = (2.0, 1.0, 1.0)  # reach 3 px per slice at the default slope 1.5


def disk(shape, centre, radius):
    j, i = np.ogrid[:shape[0], :shape[1]]
    return np.hypot(j - centre[0], i - centre[1]) <= radius


def stack(*planes):
    return np.stack(planes)


def outline_on(mask, *slices):
    """The mask's own region as the outline, on the given slices only."""
    outline = np.zeros_like(mask)
    outline[list(slices)] = mask[list(slices)]
    return outline


def test_a_shrinking_structure_is_kept_whole():
    planes = [disk((40, 40), (20, 20), r) for r in (4, 7, 10, 7, 4)]
    mask = stack(*planes)
    np.testing.assert_array_equal(limit_through_plane(mask, outline_on(mask, 2), SPACING), mask)


def test_a_jump_sideways_is_dropped_and_everything_beyond_it():
    centre = disk((40, 40), (20, 10), 6)
    aside = disk((40, 40), (20, 30), 6)  # no overlap with the slice before
    mask = stack(centre, centre, aside, aside)
    limited = limit_through_plane(mask, outline_on(mask, 0), SPACING)
    assert limited[1].sum() == centre.sum()
    assert not limited[2].any() and not limited[3].any()


def test_a_region_filling_the_next_slice_is_cut_to_reach_of_the_one_before():
    small = disk((40, 40), (20, 20), 4)
    full = np.ones((40, 40), bool)
    limited = limit_through_plane(stack(small, full), stack(small, np.zeros_like(small)), SPACING)
    assert (limited[1] <= disk((40, 40), (20, 20), 7.5)).all()  # radius 4 + 3 px reach
    assert (limited[1] >= disk((40, 40), (20, 20), 6.5)).all()


def test_of_two_parts_only_the_one_continuing_the_structure_stays():
    previous = disk((40, 40), (20, 12), 6)
    continuing = disk((40, 40), (20, 13), 6)
    neighbour = disk((40, 40), (20, 32), 4)
    mask = stack(previous, continuing | neighbour)
    limited = limit_through_plane(mask, outline_on(mask, 0), SPACING)
    np.testing.assert_array_equal(limited[1], continuing)


def test_slices_between_outlines_and_below_are_handled_both_ways():
    centre = disk((40, 40), (20, 20), 5)
    aside = disk((40, 40), (20, 33), 4)
    mask = stack(aside, centre, aside, centre, aside)  # outlined slices 1 and 3
    limited = limit_through_plane(mask, outline_on(mask, 1, 3), SPACING)
    assert not limited[0].any() and not limited[2].any() and not limited[4].any()
    bridge = stack(centre, centre, centre)
    np.testing.assert_array_equal(limit_through_plane(bridge, outline_on(bridge, 0, 2), SPACING), bridge)
    assert limit_through_plane(mask, np.zeros_like(mask), SPACING).sum() == mask.sum()


def test_on_an_outlined_slice_the_region_stays_near_the_outline():
    outline = disk((40, 40), (20, 20), 6)
    leaked = disk((40, 40), (20, 24), 12)
    limited = limit_through_plane(stack(leaked), stack(outline), SPACING)
    assert (limited[0] <= disk((40, 40), (20, 20), 8.5)).all() and (limited[0] >= outline).all()


def test_on_thick_slices_a_look_alike_beside_the_last_slice_ends_the_structure():
    top = disk((60, 60), (30, 30), 4)
    look_alike = disk((60, 60), (30, 38), 9)  # wider, shifted sideways, touching the top slice's region
    mask = stack(disk((60, 60), (30, 30), 6), top, look_alike, look_alike)
    outline = outline_on(mask, 0)
    thick = limit_through_plane(mask, outline, (6.5, 0.9, 0.9))
    assert thick[1].sum() == top.sum() and not thick[2].any() and not thick[3].any()
    thin = limit_through_plane(mask, outline, (2.0, 0.9, 0.9))
    assert thin[2].any()  # on thin slices the same region is a continuation, within reach
