"""The outline-check table: the verdict of the outline checks on true and on mirrored outlines.

The rule of :func:`clinicalimaging.segment.outline_check.check_outline` (what
``segment_volume``, hence the panel and ``clinicalimaging segment``, runs before
segmenting) applied to the :func:`~clinicalimaging.segment.outline_check.outline_contrast`
of true and mirrored outlines:

- true outlines: :func:`clinicalimaging.segment.evaluation.simulate_outline` (12
  points; 1 and 3 slices) of every structure of the sample label maps (brain1,
  breast1, the prostate phantom, the 30-slice and the whole abdominal CT, the
  abdominal MR; largest component, at least 20 mm² on its largest slice), of the
  abdominal phantoms (:func:`clinicalimaging.phantom.make_phantom`, CT and MR, seeds
  0-3, axial and oblique) and of the stress phantoms
  (:mod:`clinicalimaging.stress_phantoms`, seeds 0 and 1). Each as simulated, shrunk
  to 0.8 and grown to 1.25 about its centroid on each slice, and with its points moved
  by up to 1 px (a clinician's looser outline);
- mirrored outlines: x and y negated (in RAS) about the file's own origin, what a
  wrong ``coordinateSystem`` does, and about 9 other centres (a 3×3 grid at 25, 50 and
  75 % of the field of view), so that mirror images also land in the body, in air and
  outside the volume.

Each outline of a (true, mirrored) pair is the other's mirror image, the evidence the
rule weighs. A verdict is an error (``InputError``: points outside the volume, too few
on a slice, no area), a warning (with or without the sentence that the coordinate
system is likely wrong), or nothing. ``check_outline`` itself mirrors about the origin
only, and its mirror image of a mirror image differs from the outline by rounding,
enough to move points that ``simulate_outline`` puts on pixel edges across them; so
the script applies the rule (``outline_warnings``) to the contrast of each outline and
of its partner. The figures are those of docs/segmentation.md#outline-checks. Sample images are read from ``../shared/data``
beside the project (see ``sample_cases.py``). Not part of the test suite. Usage::

    python Testing/Benchmarks/evaluate_outline_checks.py
"""

import argparse
import collections

import numpy as np
from scipy import ndimage

from clinicalimaging import mrml
from clinicalimaging.errors import InputError
from clinicalimaging.phantom import make_phantom
from clinicalimaging.preprocess import array_slice_name
from clinicalimaging.segment.evaluation import simulate_outline
from clinicalimaging.segment.outline_check import outline_contrast, outline_warnings
from clinicalimaging.stress_phantoms import FAMILIES, make_stress_phantom
from sample_cases import DATA

#: Image and label map of each sample case; every structure of the label map is outlined.
LABEL_MAPS = (
    ("brain1_image.nrrd", "brain1_label.nrrd"),
    ("breast1_image.nrrd", "breast1_label.nrrd"),
    ("prostate_phantom_subvolume.nrrd", "prostate_phantom_subvolume_label.nrrd"),
    ("abdomen_ct.nii.gz", "abdomen_ct_organs.nii.gz"),
    ("abdomen_ct_full.nii.gz", "abdomen_ct_full_organs.nii.gz"),
    ("abdomen_mr.nii.gz", "abdomen_mr_organs.nii.gz"),
)
#: A structure is outlined when its largest slice covers at least this area, in mm².
MIN_AREA_MM2 = 20.0
PHANTOM_SEEDS = (0, 1, 2, 3)
STRESS_SEEDS = (0, 1)
OUTLINED_SLICES = (1, 3)
#: How each true outline is drawn: as simulated, scaled about its centroid on each slice, or jittered.
VARIANTS = ("exact", "small", "large", "jitter")
SCALES = {"small": 0.8, "large": 1.25}
#: Largest in-plane move of a jittered point, in pixels.
JITTER_PX = 1.0
#: Fractions of the field of view (i and j) at which the grid of mirror centres lies.
GRID_FRACTIONS = (0.25, 0.5, 0.75)
#: What the outline file declares: the messages quote it; the verdict does not depend on it.
COORDINATE_SYSTEM = "LPS"
COORDINATE_SENTENCE = "coordinate system is likely wrong"
COLUMNS = ("", "outlines", "error", "warning", 'of which "coordinate system likely wrong"')


def largest_component(mask):
    """The largest connected component of a mask."""
    labelled, count = ndimage.label(mask)
    if count <= 1:
        return mask
    sizes = ndimage.sum(mask, labelled, range(1, count + 1))
    return labelled == np.argmax(sizes) + 1


def label_map_cases():
    """(name, image, IJK-to-RAS matrix, spacing, structure) of every large enough structure of the sample label maps."""
    for image_file, labels_file in LABEL_MAPS:
        node = mrml.read_volume(DATA / image_file)
        image = mrml.array_from_volume(node).astype(np.float32)
        spacing = mrml.spacing_kji(node)
        labels = mrml.labels_like(mrml.read_volume(DATA / labels_file, labelmap=True), node)
        for value in np.unique(labels)[1:]:
            structure = largest_component(labels == value)
            if structure.sum(axis=(1, 2)).max() * spacing[1] * spacing[2] >= MIN_AREA_MM2:
                yield f"{image_file}:{value}", image, mrml.ijk_to_ras(node), spacing, structure


def phantom_cases():
    """(name, image, IJK-to-RAS matrix, spacing, lesion) of the abdominal and the stress phantoms."""
    for kind in ("ct", "mr"):
        for seed in PHANTOM_SEEDS:
            for oblique in (False, True):
                phantom = make_phantom(kind, seed=seed, oblique=oblique)
                yield (f"phantom_{kind}{' oblique' if oblique else ''}:{seed}", phantom.image, phantom.ijk_to_ras,
                       phantom.spacing, phantom.labels == phantom.lesion_label)
    for family in FAMILIES:
        for seed in STRESS_SEEDS:
            phantom = make_stress_phantom(family, seed=seed)
            yield (f"{family}:{seed}", phantom.image, phantom.ijk_to_ras, phantom.spacing,
                   phantom.labels == phantom.lesion_label)


def variant(points, how, rng):
    """A true outline drawn as ``how`` (one of :data:`VARIANTS`), each slice's points about that slice's centroid."""
    points = points.copy()
    for k in np.unique(points[:, 0]):
        on_slice = points[:, 0] == k
        centroid = points[on_slice, 1:].mean(axis=0)
        if how in SCALES:
            points[on_slice, 1:] = centroid + SCALES[how] * (points[on_slice, 1:] - centroid)
        elif how == "jitter":
            points[on_slice, 1:] += rng.uniform(-JITTER_PX, JITTER_PX, (on_slice.sum(), 2))
    return points


def mirror_centres(shape, ijk_to_ras):
    """(name, RAS position) of each centre outlines are mirrored about: the origin, then the grid."""
    slices, rows, columns = shape
    yield "origin", np.zeros(3)
    for row_fraction in GRID_FRACTIONS:
        for column_fraction in GRID_FRACTIONS:
            voxel = [column_fraction * (columns - 1), row_fraction * (rows - 1), (slices - 1) / 2, 1.0]
            yield "grid", (ijk_to_ras @ voxel)[:3]


def mirrored(points, ijk_to_ras, centre):
    """Outline points (k, j, i) with their RAS x and y mirrored about ``centre``."""
    world = (ijk_to_ras @ np.c_[points[:, ::-1], np.ones(len(points))].T).T
    world[:, :2] = 2 * np.asarray(centre[:2]) - world[:, :2]
    return (np.linalg.inv(ijk_to_ras) @ world.T).T[:, :3][:, ::-1]


def contrast(image, points, spacing):
    """:func:`outline_contrast` of an outline, or None where the outline is refused (an error)."""
    try:
        return outline_contrast(image, points, spacing)
    except InputError:
        return None


def verdict(given, mirror):
    """``"error"``, ``"coordinates"`` (a warning that blames the coordinate system), ``"warning"`` or ``"ok"``.

    Parameters
    ----------
    given, mirror : OutlineContrast or None
        The checked outline's contrast and its mirror image's; None for an outline refused.
    """
    if given is None:
        return "error"
    messages = outline_warnings(given, mirror, COORDINATE_SYSTEM, array_slice_name)
    if any(COORDINATE_SENTENCE in message for message in messages):
        return "coordinates"
    return "warning" if messages else "ok"


def case_rows(name, image, ijk_to_ras, spacing, structure, rng):
    """One row per outline variant and mirror centre of a structure: the verdicts of the true and mirrored outline."""
    for slices in OUTLINED_SLICES:
        try:
            simulated = simulate_outline(structure, slices=slices)
        except InputError:  # too few rays meet the structure on a slice
            continue
        for how in VARIANTS:
            points = simulated if how == "exact" else variant(simulated, how, rng)
            true = contrast(image, points, spacing)
            for centre_name, centre in mirror_centres(image.shape, ijk_to_ras):
                mirror = contrast(image, mirrored(points, ijk_to_ras, centre), spacing)
                yield dict(outline=(name, slices, how), centre=centre_name, true=verdict(true, mirror),
                           mirror=verdict(mirror, true))


def measure():
    """Rows of every case (:func:`case_rows`), label maps first, then phantoms."""
    rows, rng = [], np.random.default_rng(0)
    for case in label_map_cases():
        rows.extend(case_rows(*case, rng))
    for case in phantom_cases():
        rows.extend(case_rows(*case, rng))
    return rows


def true_line(label, rows):
    """A table line of true outlines: each counted once, by the verdicts it got beside all its mirror images."""
    verdicts = collections.defaultdict(set)
    for row in rows:
        verdicts[row["outline"]].add(row["true"])
    pairs = sum(row["true"] == "coordinates" for row in rows)
    errors = sum("error" in found for found in verdicts.values())
    warnings = sum(bool(found & {"warning", "coordinates"}) for found in verdicts.values())
    coordinates = sum("coordinates" in found for found in verdicts.values())
    return label, len(verdicts), errors, warnings, f"{coordinates} ({pairs} of {len(rows)} pairs)"


def mirror_line(label, rows):
    """A table line of mirrored outlines: each (outline, centre) pair counted once."""
    counts = collections.Counter(row["mirror"] for row in rows)
    return label, len(rows), counts["error"], counts["warning"] + counts["coordinates"], counts["coordinates"]


def print_table(lines):
    """Print table lines under :data:`COLUMNS`: the first column left-aligned, the counts right-aligned."""
    cells = [[str(cell) for cell in line] for line in (COLUMNS, *lines)]
    widths = [max(len(line[column]) for line in cells) for column in range(len(COLUMNS))]
    for line in cells:
        print("  ".join([line[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(line[1:], widths[1:])]))


def print_caught(label, rows):
    """Print how many mirrored outlines the checks stop or flag, of all and of those inside the volume."""
    errors = sum(row["mirror"] == "error" for row in rows)
    flagged = sum(row["mirror"] in ("warning", "coordinates") for row in rows)
    inside = len(rows) - errors
    print(f"mirrored {label}: {errors + flagged} of {len(rows)} stopped or flagged "
          f"({(errors + flagged) / len(rows):.1%}); {flagged} of the {inside} inside the volume flagged "
          f"({flagged / inside:.1%})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    rows = measure()
    origin = [row for row in rows if row["centre"] == "origin"]
    print_table([
        true_line("true, as simulated", [row for row in rows if row["outline"][2] == "exact"]),
        true_line("true, all four variants", rows),
        mirror_line("mirrored about the file's origin", origin),
        mirror_line("mirrored about all 10 centres", rows),
    ])
    print("True outlines count once, by the verdicts they got beside their 10 mirror images (a warning or the "
          "coordinate sentence beside any); mirrored outlines once per centre.")
    print_caught("about the file's origin", origin)
    print_caught("about all 10 centres", rows)


if __name__ == "__main__":
    main()
