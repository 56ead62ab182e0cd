"""The shared sample cases of the evaluation scripts: real images with their reference masks.

Cases are read from ``../shared/data`` beside the project (see the README's "Results").
Each is ``(image as float32, reference mask, spacing in mm)``, KJI order.
"""

from pathlib import Path

import numpy as np
from scipy import ndimage

from clinicalimaging import mrml

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
SAMPLES = {  # name: image, labels, label value, connected component (1 = largest) or None
    "brain1": ("brain1_image.nrrd", "brain1_label.nrrd", 1, None),
    "breast1": ("breast1_image.nrrd", "breast1_label.nrrd", 1, None),
    "tube": ("prostate_phantom_subvolume.nrrd", "prostate_phantom_subvolume_label.nrrd", 9, 2),
    "liver": ("abdomen_ct.nii.gz", "abdomen_ct_organs.nii.gz", 5, None),
    "spleen": ("abdomen_ct_full.nii.gz", "abdomen_ct_full_organs.nii.gz", 1, None),
    "kidney": ("abdomen_ct_full.nii.gz", "abdomen_ct_full_organs.nii.gz", 2, None),
    "stomach": ("abdomen_ct_full.nii.gz", "abdomen_ct_full_organs.nii.gz", 6, None),
    "aorta": ("abdomen_ct_full.nii.gz", "abdomen_ct_full_organs.nii.gz", 52, None),
    "liver_mr": ("abdomen_mr.nii.gz", "abdomen_mr_organs.nii.gz", 5, None),
}
#: Sample cases that are CT, in HU.
CT_SAMPLES = ("liver", "spleen", "kidney", "stomach", "aorta")


def sample_case(name):
    """(image, reference mask, spacing) of a sample case."""
    image_file, labels_file, value, component = SAMPLES[name]
    image_node = mrml.read_volume(DATA / image_file)
    reference = mrml.label_mask_like(mrml.read_volume(DATA / labels_file, labelmap=True), image_node, value) > 0
    if component:
        labelled, count = ndimage.label(reference)
        sizes = ndimage.sum(reference, labelled, range(1, count + 1))
        reference = labelled == np.argsort(-sizes)[component - 1] + 1
    return mrml.array_from_volume(image_node).astype(np.float32), reference, mrml.spacing_kji(image_node)
