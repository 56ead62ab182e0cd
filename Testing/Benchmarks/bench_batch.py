"""Benchmark of ``clinicalimaging batch`` against a shell loop of ``clinicalimaging pipeline``, one case at a time.

On ``--cases`` CT-like phantoms of ``--shape`` (KJI), each with an outline of its liver
lesion, the whole chain (enhance, detect with the shipped model, segment, report, scene)
runs three ways:

- the peer: a shell loop, one ``clinicalimaging pipeline`` process per case (each
  process imports the libraries and loads the detector again);
- ``clinicalimaging batch --workers 1``;
- ``clinicalimaging batch --workers 2`` (target: cohort throughput >= 1.5x the loop).

Printed: wall seconds and cases per minute of each, the ratios, the overhead of the
cohort layer (the batch run's wall time beyond the cases' own seconds, as a share of
them, with one worker; target <= 5 %; also without the cluster's start, timed apart) and the peak resident memory of each worker
process (sampled every 0.2 s). ``--large-ct`` also measures the peak memory of one
``pipeline`` run on a 300x512x512 CT phantom (the figure to size ``--memory-limit``).
Not part of the test suite. Usage::

    python Testing/Benchmarks/bench_batch.py [--cases 8] [--shape 40 256 256] [--large-ct]
"""

import argparse
import csv
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cohort_cases import write_phantom_case  # noqa: E402

THROUGHPUT_TARGET, OVERHEAD_TARGET = 1.5, 0.05


def watched(arguments):
    """Run a clinicalimaging command; its wall seconds and the peak RSS (MiB) of each of its child processes."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "clinicalimaging", *map(str, arguments), "--quiet"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peaks, main = {}, psutil.Process(process.pid)
    while process.poll() is None:
        try:
            for member in [main, *main.children(recursive=True)]:
                peaks[member.pid] = max(peaks.get(member.pid, 0), member.memory_info().rss / 2**20)
        except psutil.Error:
            pass
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    if process.returncode not in (0,):
        sys.exit(f"'{' '.join(map(str, arguments))}' failed: {process.stderr.read().strip()}")
    return seconds, {pid: peak for pid, peak in peaks.items() if pid != process.pid}, peaks.get(process.pid, 0)


def cluster_start_seconds(workers):
    """Seconds to start and stop a local Dask cluster of ``workers`` worker processes (no task)."""
    from distributed import Client, LocalCluster

    started = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None,
                      silence_logs=logging.CRITICAL) as cluster, Client(cluster):
        pass
    return time.perf_counter() - started


def case_seconds(output):
    with open(output / "summary.csv", newline="", encoding="utf-8") as stream:
        return sum(float(row["seconds"]) for row in csv.DictReader(stream))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=8, help="Cases in the cohort (default: 8).")
    parser.add_argument("--shape", type=int, nargs=3, default=(40, 256, 256), metavar=("K", "J", "I"),
                        help="Phantom size in voxels, KJI (default: 40 256 256).")
    parser.add_argument("--large-ct", action="store_true",
                        help="Also measure one pipeline run's peak memory on a 300x512x512 CT phantom.")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        cohort = folder / "cohort"
        cohort.mkdir()
        for index in range(arguments.cases):
            write_phantom_case(cohort, f"case{index:02d}", seed=index, shape=tuple(arguments.shape))
        (folder / "loop").mkdir()
        loop_started = time.perf_counter()
        for index in range(arguments.cases):
            name = f"case{index:02d}"
            watched(["pipeline", cohort / f"{name}.nrrd", folder / "loop" / name, "--outline",
                     cohort / f"{name}.mrk.json"])
        loop = time.perf_counter() - loop_started
        runs = {}
        for workers in (1, 2):
            output = folder / f"batch{workers}"
            seconds, peaks, main_peak = watched(["batch", cohort, output, "--workers", workers])
            runs[workers] = seconds, case_seconds(output), peaks, main_peak
        print(f"{arguments.cases} cases of {'x'.join(map(str, arguments.shape))} voxels, whole chain "
              f"(enhance, detect, segment, report, scene), 2 cores")
        print(f"  shell loop of 'pipeline': {loop:7.1f} s  ({60 * arguments.cases / loop:5.2f} cases/min)")
        for workers, (seconds, work, peaks, main_peak) in runs.items():
            worker_peaks = sorted(peak for peak in peaks.values() if peak > 100)  # leaves out the resource tracker
            print(f"  batch --workers {workers}:       {seconds:7.1f} s  ({60 * arguments.cases / seconds:5.2f} "
                  f"cases/min)  x{loop / seconds:.2f} the loop; cases' own seconds {work:.1f}; peak memory per "
                  f"worker {', '.join(f'{peak:.0f}' for peak in worker_peaks)} MiB; main process {main_peak:.0f} MiB")
        seconds, work, _, _ = runs[1]
        overhead = (seconds - work) / work
        print(f"  throughput of batch --workers 2 vs the loop: x{loop / runs[2][0]:.2f} (target >= "
              f"{THROUGHPUT_TARGET})")
        start = cluster_start_seconds(1)
        print(f"  cohort-layer overhead with 1 worker (wall - cases' seconds) / cases' seconds: {100 * overhead:.1f} % "
              f"(target <= {100 * OVERHEAD_TARGET:.0f} %); of it, starting and stopping the cluster {start:.1f} s; "
              f"without that: {100 * (seconds - work - start) / work:.1f} %")
        if arguments.large_ct:
            large = folder / "large"
            large.mkdir()
            write_phantom_case(large, "ct300", seed=0, shape=(300, 512, 512))
            seconds, _, peak = watched(["pipeline", large / "ct300.nrrd", folder / "large_out", "--outline",
                                        large / "ct300.mrk.json"])
            print(f"  one 300x512x512 CT through the whole chain: {seconds:.1f} s, peak memory {peak:.0f} MiB")


if __name__ == "__main__":
    main()
