"""Benchmark of the ``pipeline`` command against the three single-stage commands it chains.

On a CT-like phantom of ``--shape`` (KJI) with an outline of its liver lesion, both
sides produce the enhanced volume, the organ ROIs and the lesion's segmentation:

- ``clinicalimaging pipeline CT OUTDIR --outline O`` (one process; it also writes the
  report, the Slicer scene and summary.json);
- the peer: ``clinicalimaging enhance``, ``detect`` and ``segment``, one process each,
  as a shell script would run them.

Printed: the wall time of each (median of ``--repeats`` runs), their ratio (target for
the whole chain on a 100x512x512 CT: <= 30 s) and the pipeline's seconds per stage
from its summary.json. Not part of the test suite. Usage::

    python Testing/Benchmarks/bench_pipeline.py [--repeats 1] [--shape 100 512 512]
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SPACING = (2.5, 0.7, 0.7)  # mm, KJI
TARGET_SECONDS = 30.0


def write_case(folder, shape):
    """A CT phantom (int16, HU) and a 12-point outline of its lesion on its largest slice, as files."""
    from clinicalimaging import mrml
    from clinicalimaging.phantom import make_phantom
    from clinicalimaging.segment.evaluation import simulate_outline

    phantom = make_phantom("ct", shape=tuple(shape), spacing=SPACING)
    node = mrml.volume_from_array(np.round(phantom.image).astype(np.int16), ijk_to_ras=phantom.ijk_to_ras)
    mrml.write_volume(node, folder / "ct.nrrd")
    points = simulate_outline(phantom.labels == phantom.lesion_label, count=12)
    mrml.write_markups(mrml.markups_from_points(points, node), folder / "outline.mrk.json")
    return folder / "ct.nrrd", folder / "outline.mrk.json"


def timed(commands):
    """Wall seconds of running ``commands`` (each a clinicalimaging argument list) one after the other."""
    started = time.perf_counter()
    for arguments in commands:
        result = subprocess.run([sys.executable, "-m", "clinicalimaging", *map(str, arguments), "--quiet"],
                                capture_output=True, text=True)
        if result.returncode:
            sys.exit(f"'{' '.join(map(str, arguments))}' failed: {result.stderr.strip()}")
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=1, help="Runs of each side (default: 1).")
    parser.add_argument("--shape", type=int, nargs=3, default=(100, 512, 512), help="Phantom shape, KJI.")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        ct, outline = write_case(folder, arguments.shape)
        chained, separate = [], []
        for run in range(arguments.repeats):
            chained.append(timed([["pipeline", ct, folder / f"case{run}", "--outline", outline]]))
            separate.append(timed([["enhance", ct, folder / "enhanced.nrrd"],
                                   ["detect", ct, folder / "organs.mrk.json"],
                                   ["segment", ct, folder / "lesion.seg.nrrd", "--outline", outline]]))
        stages = json.loads((folder / "case0" / "summary.json").read_text(encoding="utf-8"))["seconds"]
    pipeline, peer = statistics.median(chained), statistics.median(separate)
    met = "met" if pipeline <= TARGET_SECONDS else "NOT met"
    print(f"phantom {tuple(arguments.shape)} int16, spacing {SPACING} mm, {arguments.repeats} run(s) each")
    print(f"pipeline {pipeline:.1f} s (target <= {TARGET_SECONDS:.0f} s: {met}); enhance + detect + segment as three "
          f"commands {peer:.1f} s; ratio {pipeline / peer:.2f}")
    print("pipeline stages: " + ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in stages.items()))


if __name__ == "__main__":
    main()
