"""Benchmark of SelfPacedSegment on a lesion (brain1) and an organ (the abdominal CT's liver, as acquired and at 1.5 mm).

The outline is :func:`clinicalimaging.segment.evaluation.simulate_outline` of the
reference label (12 points on its largest axial slice). Measures, per case, each
printed with its target:

1. in-process time: ``segment_lesion`` (default parameters) from the outline, median
   of ``--repeats`` runs (target on 2 cores: <= 5 s for the lesion, <= 10 s for the
   organ), and Slicer's "Grow from seeds" (``growcut_segment``) from the same outline
   in the same box, alternating, as the peer ratio;
2. peak memory of one ``segment_lesion`` call, measured in a fresh process (growth
   of the resident set over the resident set just before the call), in MiB and as a
   multiple of the input's size.

Dice against the expert label is printed beside each time. Not part of the test
suite; needs ``../shared/data``. Usage::

    python Testing/Benchmarks/bench_segment.py [--repeats 3] [--cases brain1,liver,liver_1.5mm]
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

from clinicalimaging import mrml
from clinicalimaging.metrics import dice
from clinicalimaging.segment.grow_from_seeds import growcut_segment
from clinicalimaging.segment.core import segment_lesion
from clinicalimaging.segment.evaluation import simulate_outline

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_enhance import alternate, peak_resident_bytes, resident_bytes, verdict  # noqa: E402

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
#: name: image file, label file, label value, target seconds, resampled voxel size in mm (None: as acquired).
CASES = {"brain1": ("brain1_image.nrrd", "brain1_label.nrrd", 1, 5.0, None),
         "liver": ("abdomen_ct.nii.gz", "abdomen_ct_organs.nii.gz", 5, 10.0, None),
         "liver_1.5mm": ("abdomen_ct_full.nii.gz", "abdomen_ct_full_organs.nii.gz", 5, 10.0, 1.5)}


def load_case(name):
    """(image float32 KJI, reference mask, spacing in mm KJI, outline points KJI) of a case of :data:`CASES`.

    A case with a voxel size is resampled to it (linear for the image, nearest
    neighbour for the labels): the whole CT at 1.5 mm stands for a thin-slice thorax or
    abdomen CT, eight times the voxels of the acquired 3 mm.
    """
    image_file, label_file, value, _, voxel_mm = CASES[name]
    image_node = mrml.read_volume(DATA / image_file)
    label_node = mrml.read_volume(DATA / label_file, labelmap=True)
    lesion = mrml.label_mask_like(label_node, image_node, value) > 0
    image = mrml.array_from_volume(image_node).astype(np.float32)
    spacing = mrml.spacing_kji(image_node)
    if voxel_mm:
        zoom = [size / voxel_mm for size in spacing]
        image = ndimage.zoom(image, zoom, order=1).astype(np.float32)
        lesion = ndimage.zoom(lesion.astype(np.uint8), zoom, order=0) > 0
        spacing = (voxel_mm,) * 3
    return image, lesion, spacing, simulate_outline(lesion, count=12)


def run_self_paced(image, points, spacing):
    return segment_lesion(image, points, spacing).mask


def run_growcut(image, points, spacing):
    """Grow from seeds from the seeds a user would paint, as in ``clinicalimaging evaluate-segmentation``."""
    return growcut_segment(image, points, spacing)


SIDES = {"self-paced SVM": run_self_paced, "grow from seeds": run_growcut}


def measure_memory(name):
    """In this (fresh) process: peak resident growth of one ``segment_lesion`` call on a case, in bytes."""
    image, _, spacing, points = load_case(name)  # also sets up the scene
    before = resident_bytes()
    run_self_paced(image, points, spacing)
    print(max(0, peak_resident_bytes() - before))


def peak_memory(name):
    output = subprocess.run([sys.executable, __file__, "--measure-memory", name], check=True, capture_output=True,
                            encoding="utf-8").stdout
    return int(output.split()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per side (default: 3)")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated cases (default: all)")
    parser.add_argument("--measure-memory", metavar="CASE", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if not DATA.is_dir():
        sys.exit(f"real sample data not found at {DATA}")
    if arguments.measure_memory:
        measure_memory(arguments.measure_memory)
        return
    for name in arguments.cases.split(","):
        benchmark_case(name, arguments.repeats)


def benchmark_case(name, repeats):
    """Print the times, Dice, peer ratio and peak memory of one case."""
    image, lesion, spacing, points = load_case(name)
    print(f"{name}: volume {image.shape} (KJI), spacing {tuple(round(s, 3) for s in spacing)} mm, reference "
          f"{int(lesion.sum())} voxels, outline {len(points)} points on slice {points[0, 0]:.0f}; "
          f"{os.cpu_count()} CPUs, {repeats} repeats")
    masks = {}

    def side(method, function):
        def call():
            masks[method] = function(image, points, spacing)
        return call

    times = alternate({method: side(method, function) for method, function in SIDES.items()}, repeats)
    for method, seconds in times.items():
        print(f"  {method}: {seconds:.2f} s, Dice {dice(masks[method], lesion):.3f}")
    ratio = times["self-paced SVM"] / times["grow from seeds"]
    print(f"  end-to-end time: segment_lesion {times['self-paced SVM']:.2f} s "
          f"({verdict(times['self-paced SVM'], CASES[name][3])}, in s on 2 cores); "
          f"peer ratio to grow from seeds {ratio:.0f}")
    memory = peak_memory(name)
    print(f"  peak memory: segment_lesion +{memory / 2**20:.0f} MiB = {memory / image.nbytes:.1f}x the float32 input "
          f"({image.nbytes / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
