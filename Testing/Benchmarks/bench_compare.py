"""Time of the enhancement comparison on a CT-sized phantom.

``compare_enhancements`` on a ``--shape`` (default 100 x 512 x 512) CT phantom and
its lesion (about 55 mm across, 0.3 % of the volume); prints the time of each
method (from the progress messages) and in all, then the table.

Not part of the test suite. Usage::

    python Testing/Benchmarks/bench_compare.py [--shape 100 512 512]
"""

import argparse
import time

import numpy as np

from clinicalimaging.enhance.compare import compare_enhancements, format_table
from clinicalimaging.phantom import make_phantom

SPACING = (2.5, 0.7, 0.7)  # mm, KJI


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=3, default=(100, 512, 512))
    arguments = parser.parse_args()
    phantom = make_phantom("ct", shape=tuple(arguments.shape), spacing=SPACING)
    mask = phantom.labels == phantom.lesion_label
    print(f"volume {phantom.image.shape}, lesion {np.count_nonzero(mask)} voxels on "
          f"{np.count_nonzero(mask.any(axis=(1, 2)))} slices")
    stages = []

    def progress(fraction, message):
        stage = message if message.startswith("Baseline") else message.split(": ")[0]
        if not stages or stages[-1][0] != stage:
            stages.append((stage, time.perf_counter()))

    start = time.perf_counter()
    rows = compare_enhancements(phantom.image, mask, SPACING, progress=progress)
    total = time.perf_counter() - start
    for (stage, begin), (_, end) in zip(stages, stages[1:] + [("", start + total)]):
        print(f"{end - begin:8.2f} s  {stage}")
    print(f"{total:8.2f} s  compare_enhancements in all")
    print(format_table(rows))


if __name__ == "__main__":
    main()
