"""Small phantom cohorts on disk, as a user's INDIR would hold them (volume files, outlines, a DICOM series)."""

from pathlib import Path

import SimpleITK as sitk

from clinicalimaging import mrml
from clinicalimaging.phantom import make_phantom
from clinicalimaging.phantom_nodes import phantom_volume
from clinicalimaging.segment.evaluation import simulate_outline

#: A phantom small enough for a case to take seconds: (K, J, I) voxels and their spacing in mm.
SHAPE, SPACING = (16, 72, 72), (3.0, 1.2, 1.2)


def write_phantom_case(folder, name, *, seed, extension=".nrrd", outline=True, shape=SHAPE):
    """Write phantom ``seed`` as ``folder/name<extension>`` (and its lesion's outline beside it); the phantom."""
    phantom = make_phantom("ct", shape=shape, spacing=SPACING, seed=seed)
    with mrml.case_scene() as scene:
        node, _ = phantom_volume(phantom, scene=scene, name=name)
        mrml.write_volume(node, Path(folder) / f"{name}{extension}")
        if outline:
            points = simulate_outline(phantom.labels == phantom.lesion_label, seed=seed)
            curve = mrml.markups_from_points(points, node, closed=True)
            mrml.write_markups(curve, Path(folder) / f"{name}.mrk.json")
    return phantom


def write_dicom_case(folder, *, seed):
    """Write phantom ``seed`` as a DICOM series (one file per slice) into ``folder``; the phantom."""
    phantom = make_phantom("ct", shape=SHAPE, spacing=SPACING, seed=seed)
    folder = Path(folder)
    folder.mkdir(parents=True)
    image = sitk.GetImageFromArray(phantom.image.astype("int16"))
    image.SetSpacing(tuple(reversed(SPACING)))
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    series = f"1.2.826.0.1.3680043.8.498.{seed + 1000}"
    for k in range(image.GetDepth()):
        slice_image = image[:, :, k]
        origin = image.TransformIndexToPhysicalPoint((0, 0, k))
        for tag, value in {"0008|0060": "CT", "0020|000e": series, "0020|000d": series + ".1",
                           "0008|0018": f"{series}.{k + 1}", "0020|0013": str(k + 1),
                           "0020|0032": "\\".join(f"{value:.3f}" for value in origin),
                           "0020|0037": "1\\0\\0\\0\\1\\0", "0028|0030": f"{SPACING[1]}\\{SPACING[2]}",
                           "0018|0050": str(SPACING[0]), "0028|1052": "0", "0028|1053": "1"}.items():
            slice_image.SetMetaData(tag, value)
        writer.SetFileName(str(folder / f"slice{k:03d}.dcm"))
        writer.Execute(slice_image)
    return phantom
