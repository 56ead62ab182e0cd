"""Write a batch INDIR of two small CT phantom cases: ``python write_cases.py INDIR``.

``outlined.nrrd`` with its lesion's outline ``outlined.mrk.json`` beside it, and
``plain.nrrd`` without one. Runs in a stock-Slicer environment (the installed package,
slicer-core's MRML and SimpleITK only); also imported by ``Testing/test_slicer_chain.py``.
"""

import sys
from pathlib import Path

#: Small enough for a case to take seconds: (K, J, I) voxels.
SHAPE = (16, 64, 64)
#: Voxel spacing (mm): fine for the outlined lesion; for the case the detector reads, the
#: body size of an adult abdomen (256 mm across), since a detector trained on patients
#: rightly finds no organ in a 77 mm body.
LESION_SPACING, BODY_SPACING = (3.0, 1.2, 1.2), (6.0, 4.0, 4.0)
#: The cases: name -> (phantom seed, whether an outline is written beside it, voxel spacing).
CASES = {"outlined": (1, True, LESION_SPACING), "plain": (2, False, BODY_SPACING)}


def write_case(folder, name, *, seed, outline, spacing):
    """One phantom as ``folder/name.nrrd`` (and ``name.mrk.json``, a simulated outline of its lesion)."""
    from clinicalimaging import mrml
    from clinicalimaging.phantom import make_phantom
    from clinicalimaging.phantom_nodes import phantom_volume
    from clinicalimaging.segment.evaluation import simulate_outline

    phantom = make_phantom("ct", shape=SHAPE, spacing=spacing, seed=seed)
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
    for name, (seed, outline, spacing) in CASES.items():
        write_case(folder, name, seed=seed, outline=outline, spacing=spacing)
    return folder


if __name__ == "__main__":
    write_cases(sys.argv[1])
