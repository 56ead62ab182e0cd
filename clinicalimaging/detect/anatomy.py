"""Anatomical plausibility of the fused 3-D organ boxes: size, side of the body, order of the vertebrae.

The detector sees slices; nothing in it knows that a kidney is about 11 cm long, that the
left kidney lies left of the midline or that L1 lies above L2. Three rules, each
switchable, check the fused boxes (:func:`.aggregate.fuse_views`) before the score
threshold (:func:`plausible_boxes`):

- ``"size"``: a box longer than the organ ever is in the training labels (times
  :data:`SIZE_MAX_FACTOR`) along an axis is shrunk to that length about its centre; a box
  far shorter than the organ's smallest training extent (times :data:`SIZE_MIN_FACTOR`)
  along an axis is rejected, unless the box reaches the end of the scan (which may cut the
  organ to any size). The ranges come from :func:`organ_size_ranges` of the training
  labels, kept in the model's metadata.
- ``"side"``: the centre of a ``*_left`` / ``*_right`` organ of a mirror pair
  (:func:`.organs.mirror_swaps`) lies on its side of the body's midline, or at most
  :data:`PAIRED_SIDE_TOLERANCE_MM` across it; the liver (right) and spleen (left) at most
  :data:`SINGLE_SIDE_TOLERANCE_MM` across it (:data:`SINGLE_SIDE`). Boxes clearly on the
  wrong side are dropped.
- ``"vertebrae"``: the vertebrae (``vertebrae_T11`` ... ``vertebrae_L5``, any TotalSegmentator
  level) follow each other from head to feet; of boxes out of order, the ordered subset of
  the largest total score is kept, and an overlap of consecutive vertebrae's
  superior-inferior extents beyond the natural one (:data:`VERTEBRA_OVERLAP_FRACTION`)
  is trimmed about the overlap's middle.

Grid coordinates throughout (``slices.py``): a box is ``(i0, j0, k0, i1, j1, k1)`` in voxel
edges of the canonical grid, axis 0 = i towards the patient's left, 1 = j posterior, 2 = k
superior; lengths in mm are ``(left-right, anterior-posterior, superior-inferior)``, the
same axis order. Numpy only.
"""

import re

import numpy as np

from ..errors import InputError
from .organs import mirror_swaps
from .parameters import ANATOMY_RULES

#: A box may be this many times the longest training extent of its organ (per axis) before it is shrunk. Adult organ
#: lengths vary by about +-20 % between people of normal build (kidney 10-13 cm, spleen 9-13 cm, liver 13-17 cm
#: along the mid-clavicular line); fatty liver, hydronephrosis or splenomegaly (beyond 13 cm, "massive" beyond 20 cm)
#: enlarge them further. 1.5 times the largest training organ leaves every size short of a massive splenomegaly
#: untouched, while the boxes it shrinks (a run that spans half the scan) are errors of the detector.
SIZE_MAX_FACTOR = 1.5
#: A box shorter than this fraction of the smallest training extent of its organ (per axis) is rejected. A newborn's
#: organs are about 0.4 times an adult's length (kidney 4.5 against 11 cm); 0.25 also lets a detector's box that is
#: a little short of the organ through, and rejects only boxes of a few pixels (1-3 vertebrae, not a liver).
SIZE_MIN_FACTOR = 0.25
#: A box edge within this many voxels of the grid's end along an axis touches the end of the scan (the detector's
#: run may stop a slice or two before the organ's last visible section).
BORDER_VOXELS = 2.0
#: Organs of one side that have no mirror pair among the classes: organ -> "left" or "right" (patient's side).
#: The liver's left lobe and the stomach reach across the midline; of these only the liver (its box centre lies
#: 4-8 cm right of the midline) and the spleen (8-12 cm left) are kept, with :data:`SINGLE_SIDE_TOLERANCE_MM`.
#: Situs inversus (about 1 in 10,000) breaks this rule; ``anatomy_rules`` without ``side`` turns it off.
SINGLE_SIDE = {"liver": "right", "spleen": "left"}
#: How far (mm) the centre of a paired organ's box may lie across the midline: the midline (centre of mass of the
#: body along left-right) moves by about a centimetre with the patient's posture and an asymmetric body, while the
#: paired organs' centres lie 3 cm (autochthon) to 7 cm (kidneys, iliopsoas) from it.
PAIRED_SIDE_TOLERANCE_MM = 15.0
#: As :data:`PAIRED_SIDE_TOLERANCE_MM` for :data:`SINGLE_SIDE`: larger, because a scan that shows only the liver's
#: left lobe, or a spleen pushed medially, moves the box centre towards the midline.
SINGLE_SIDE_TOLERANCE_MM = 40.0
#: Consecutive vertebrae's boxes may overlap along superior-inferior by this fraction of the shorter box's height:
#: the spinous processes slope down over the next level and the end plates tilt with the lordosis, so the bounding
#: boxes of T11-L5 in the training CT overlap by 15-21 mm at heights of 45-54 mm (0.28-0.47). Only the overlap
#: beyond it is trimmed.
VERTEBRA_OVERLAP_FRACTION = 0.5
#: Order of the spine's regions from head to feet, for the vertebrae's names (``vertebrae_T11``).
_SPINE_REGIONS = "CTLS"
_VERTEBRA_NAME = re.compile(r"^vertebrae_([CTLS])(\d+)$")


def organ_size_ranges(cases, class_names):
    """The smallest and largest 3-D extent of each organ in labelled cases on the canonical grid.

    An organ's extent along an axis is the length (mm) of the bounding box of its
    voxels. When the box reaches the first or last voxel of the case along any axis,
    the scan cuts the organ, and every extent of that case is only a lower bound of
    the organ's: the in-plane extents too (a scan that ends 9 mm into a vertebra shows
    a section 3 cm wide of a bone 8 cm wide). A cut organ then never lowers the
    smallest extent, and raises the largest only where whole organs give one.

    Parameters
    ----------
    cases : sequence of GridCase
        :attr:`GridCase.classes` holds 0 for the background, ``c + 1`` for class ``c``
        and :data:`.cases.UNKNOWN_CLASS` for voxels of unknown class (ignored);
        ``grid.pixel_mm`` is the voxel edge (mm).
    class_names : sequence of str
        Class ``c`` is ``class_names[c]``.

    Returns
    -------
    dict of str to dict
        Organ -> ``{"min_mm": [lr, ap, si], "max_mm": [lr, ap, si], "cases": n,
        "cut_cases": m}``: lengths in mm along (left-right, anterior-posterior,
        superior-inferior); ``min_mm`` over the n cases that show the organ whole,
        ``max_mm`` over them and the m cases that cut it. Organs no case shows whole
        are left out. JSON-serialisable.
    """
    whole, cut = {}, {}
    for case in cases:
        classes = np.asarray(case.classes)
        for index, name in enumerate(class_names):
            mask = classes == index + 1
            if not mask.any():
                continue
            length, at_end = np.empty(3), False
            for axis, other_axes in enumerate(((0, 1), (0, 2), (1, 2))):  # i, j, k of the (K, J, I) array
                profile = mask.any(axis=other_axes)
                present = np.flatnonzero(profile)
                length[axis] = (present[-1] + 1 - present[0]) * float(case.grid.pixel_mm)
                at_end = at_end or present[0] == 0 or present[-1] == len(profile) - 1
            (cut if at_end else whole).setdefault(name, []).append(length)
    ranges = {}
    for name in class_names:
        if name not in whole:
            continue
        every = np.array(whole[name] + cut.get(name, []))
        ranges[name] = {"min_mm": np.min(whole[name], axis=0).round(2).tolist(),
                        "max_mm": every.max(axis=0).round(2).tolist(), "cases": len(whole[name]),
                        "cut_cases": len(cut.get(name, []))}
    return ranges


def plausible_boxes(fused, class_names, grid, midline_i, *, organ_size_mm=None, rules=ANATOMY_RULES):
    """The fused boxes that pass the anatomical rules, adjusted, with what each rule changed.

    Parameters
    ----------
    fused : dict int -> (box6, float, tuple)
        Class -> (``(i0, j0, k0, i1, j1, k1)`` grid box in voxel edges, score, views), as
        :func:`.aggregate.fuse_views` returns; never modified.
    class_names : sequence of str
        Class ``c`` is ``class_names[c]``.
    grid : CanonicalGrid
        The grid of the boxes: ``shape`` (K, J, I) and ``pixel_mm``.
    midline_i : float
        The body's midline as a grid i index (voxel centres at whole numbers), as
        :func:`.slices.body_midline_i` gives it.
    organ_size_mm : dict, optional
        :func:`organ_size_ranges` of the model's training cases (the model metadata's
        ``"organ_size_mm"``); without it the ``"size"`` rule does nothing.
    rules : iterable of str
        Of :data:`.parameters.ANATOMY_RULES`; each is applied (in :data:`.parameters.ANATOMY_RULES` order) when named.

    Returns
    -------
    kept : dict int -> (ndarray, float, tuple)
        The boxes kept, as in ``fused``, the adjusted ones changed.
    changes : list of dict
        One per change, in the order made: ``rule``, ``organ``, ``change``
        (``"shrunk"``, ``"rejected"``, ``"dropped"`` or ``"trimmed"``), ``reason`` (text),
        ``before`` and ``after`` (the grid box as 6 floats; ``after`` None when the box
        is removed).
    """
    rules = set(rules)
    unknown = sorted(rules - set(ANATOMY_RULES))
    if unknown:
        raise InputError(f"Unknown anatomical rule(s) {', '.join(unknown)}; use {', '.join(ANATOMY_RULES)}.")
    kept = {cls: (np.array(box6, dtype=np.float64).reshape(6), score, views)
            for cls, (box6, score, views) in fused.items()}
    changes = []
    if "size" in rules and organ_size_mm:
        _size_rule(kept, class_names, grid, organ_size_mm, changes)
    if "side" in rules:
        _side_rule(kept, class_names, grid.pixel_mm, midline_i, changes)
    if "vertebrae" in rules:
        _vertebrae_rule(kept, class_names, changes)
    return kept, changes


def _record(changes, rule, organ, change, reason, before, after):
    changes.append({"rule": rule, "organ": organ, "change": change, "reason": reason,
                    "before": [round(float(value), 3) for value in before],
                    "after": None if after is None else [round(float(value), 3) for value in after]})


def _size_rule(kept, class_names, grid, organ_size_mm, changes):
    """Shrink boxes longer than their organ's largest extent; reject boxes far shorter than its smallest.

    A box that reaches the end of the grid along any axis may hold an organ the scan
    cuts: it is never rejected (:func:`organ_size_ranges` leaves cut organs out of the
    smallest extents for the same reason).
    """
    shape_ijk = np.array(grid.shape[::-1], dtype=np.float64)
    pixel_mm = float(grid.pixel_mm)
    axes = ("left-right", "anterior-posterior", "superior-inferior")
    for cls in sorted(kept):
        organ = class_names[cls]
        if organ not in organ_size_mm:
            continue
        box6, score, views = kept[cls]
        low, high = box6[:3], box6[3:]
        length = (high - low) * pixel_mm
        at_end = np.any((low <= BORDER_VOXELS) | (high >= shape_ijk - BORDER_VOXELS))
        shortest = np.asarray(organ_size_mm[organ]["min_mm"], dtype=np.float64) * SIZE_MIN_FACTOR
        too_short = (length < shortest) & (not at_end)
        if too_short.any():
            axis = int(np.argmax(too_short))
            _record(changes, "size", organ, "rejected", f"{axes[axis]} {length[axis]:.0f} mm, below "
                    f"{SIZE_MIN_FACTOR} x the smallest training extent", box6, None)
            del kept[cls]
            continue
        longest = np.asarray(organ_size_mm[organ]["max_mm"], dtype=np.float64) * SIZE_MAX_FACTOR
        too_long = length > longest
        if too_long.any():
            centre, half = (low + high) / 2, np.where(too_long, longest / pixel_mm, high - low) / 2
            shrunk = np.concatenate([centre - half, centre + half])
            reason = ", ".join(f"{axes[axis]} {length[axis]:.0f} mm to {longest[axis]:.0f}"
                               for axis in np.flatnonzero(too_long))
            _record(changes, "size", organ, "shrunk", reason, box6, shrunk)
            kept[cls] = (shrunk, score, views)


def _side(organ, left_classes, right_classes, cls):
    """The patient's side of an organ and the tolerance (mm) across the midline, or None for a central organ."""
    if cls in left_classes:
        return "left", PAIRED_SIDE_TOLERANCE_MM
    if cls in right_classes:
        return "right", PAIRED_SIDE_TOLERANCE_MM
    if organ in SINGLE_SIDE:
        return SINGLE_SIDE[organ], SINGLE_SIDE_TOLERANCE_MM
    return None


def _side_rule(kept, class_names, pixel_mm, midline_i, changes):
    """Drop the lateral organs whose box centre lies clearly on the other side of the midline."""
    swaps = mirror_swaps(class_names)
    left_classes, right_classes = set(swaps), set(swaps.values())
    midline_edge = float(midline_i) + 0.5  # voxel-centre index -> voxel-edge coordinate of the boxes
    for cls in sorted(kept):
        organ = class_names[cls]
        side = _side(organ, left_classes, right_classes, cls)
        if side is None:
            continue
        box6 = kept[cls][0]
        towards_left_mm = ((box6[0] + box6[3]) / 2 - midline_edge) * float(pixel_mm)
        across_mm = -towards_left_mm if side[0] == "left" else towards_left_mm
        if across_mm > side[1]:
            other = "right" if side[0] == "left" else "left"
            _record(changes, "side", organ, "dropped", f"centre {across_mm:.0f} mm to the patient's {other} of the "
                    f"midline (tolerance {side[1]:.0f} mm)", box6, None)
            del kept[cls]


def _vertebra_level(name):
    """Rank of a vertebra's name from head to feet (``vertebrae_T11`` before ``vertebrae_T12``), or None."""
    match = _VERTEBRA_NAME.match(name)
    return None if match is None else _SPINE_REGIONS.index(match.group(1)) * 100 + int(match.group(2))


def _vertebrae_rule(kept, class_names, changes):
    """Keep the vertebrae in head-to-feet order of the largest total score; trim overlaps of consecutive ones.

    Of two consecutive vertebrae overlapping along k by more than
    :data:`VERTEBRA_OVERLAP_FRACTION` of the shorter one's height, each gives up half the
    excess, about the middle of the overlap; neither edge passes a box's centre.
    """
    levels = {cls: _vertebra_level(class_names[cls]) for cls in kept}
    column = sorted((cls for cls, level in levels.items() if level is not None), key=levels.get)
    centres = [(kept[cls][0][2] + kept[cls][0][5]) / 2 for cls in column]
    ordered = _ordered_subset(centres, [kept[cls][1] for cls in column])
    for position, cls in enumerate(column):
        if position not in ordered:
            _record(changes, "vertebrae", class_names[cls], "dropped", "centre out of head-to-feet order with the "
                    "other vertebrae found", kept[cls][0], None)
            del kept[cls]
    column = [column[position] for position in ordered]
    for upper, lower in zip(column, column[1:]):
        upper_box, lower_box = kept[upper][0], kept[lower][0]
        overlap = lower_box[5] - upper_box[2]
        allowed = VERTEBRA_OVERLAP_FRACTION * min(upper_box[5] - upper_box[2], lower_box[5] - lower_box[2])
        if overlap <= allowed:
            continue
        upper_centre, lower_centre = (upper_box[2] + upper_box[5]) / 2, (lower_box[2] + lower_box[5]) / 2
        middle = (upper_box[2] + lower_box[5]) / 2
        new_bottom = float(min(middle - allowed / 2, upper_centre))  # of the upper vertebra
        new_top = float(max(middle + allowed / 2, lower_centre))     # of the lower one
        for cls, box6, edge, value in ((upper, upper_box, 2, new_bottom), (lower, lower_box, 5, new_top)):
            trimmed = box6.copy()
            trimmed[edge] = value
            _record(changes, "vertebrae", class_names[cls], "trimmed", f"{class_names[upper]} and "
                    f"{class_names[lower]} overlapped by {overlap:.1f} voxels, more than {allowed:.1f}", box6, trimmed)
            kept[cls] = (trimmed, *kept[cls][1:])


def _ordered_subset(centres, scores):
    """Positions of the subset of largest total score whose centres strictly decrease (head to feet along k).

    ``centres`` and ``scores`` are in head-to-feet order of the vertebrae's names; a
    weighted longest decreasing subsequence, O(n^2) for the few vertebrae of a model.
    """
    best, previous = [], []
    for position, centre in enumerate(centres):
        candidates = [(best[before], before) for before in range(position) if centres[before] > centre]
        total, before = max(candidates, default=(0.0, None))
        best.append(total + scores[position])
        previous.append(before)
    chosen = []
    position = int(np.argmax(best)) if best else None
    while position is not None:
        chosen.append(position)
        position = previous[position]
    return chosen[::-1]
