"""Write a batch INDIR of two small CT phantom cases: ``python write_cases.py INDIR``.

``outlined.nrrd`` with its lesion's outline ``outlined.mrk.json`` beside it, and
``plain.nrrd`` without one. Runs in a stock-Slicer environment (the installed package,
slicer-core's MRML and SimpleITK only); also imported by ``Testing/test_slicer_chain.py``.
"""

import sys
from pathlib import Path

#: The cases: name -> (phantom seed, whether an outline is written beside it).
CASES = {"outlined": (1, True), "plain": (2, False)}
#: Small enough for a case to take seconds: (K, J, I) voxels and their spacing in mm.
SHAPE, SPACING = (16, 64, 64), (3.0, 1.2, 1.2)


def write_case(folder, name, *, seed, outline):
    """One phantom as ``folder/name.nrrd`` (and ``name.mrk.json``, a simulated outline of its lesion)."""
    from clinicalimaging import mrml
    from clinicalimaging.phantom import make_phantom
    from clinicalimaging.phantom_nodes import phantom_volume
    from clinicalimaging.segment.evaluation import simulate_outline

    phantom = make_phantom("ct", shape=SHAPE, spacing=SPACING, seed=seed)
    with mrml.case_scene() as scene:
        volume, _labels = phantom_volume(phantom, scene=scene, name=name)
        mrml.write_volume(volume, Path(folder) / f"{name}.nrrd")
        if outline:
            points = simulate_outline(phantom.labels == phantom.lesion_label, count=12)
            mrml.write_markups(mrml.markups_from_points(points, volume, name=f"{name} outline", scene=scene),
                               Path(folder) / f"{name}.mrk.json")


def write_cases(folder):
    """Every case of :data:`CASES` into ``folder`` (created)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, (seed, outline) in CASES.items():
        write_case(folder, name, seed=seed, outline=outline)
    return folder


if __name__ == "__main__":
    write_cases(sys.argv[1])
