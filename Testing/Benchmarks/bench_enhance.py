"""Benchmark of FractionalEnhance against SimpleITK's UnsharpMask on the same data.

Three measures, each printed with its target:

1. in-process time: ``fractional_enhance`` (default mode, fractal-dimension map
   included) vs ``SimpleITK.UnsharpMask`` on the same float32 volume, alternating,
   median of ``--repeats`` runs (target: ratio <= 1.0);
2. peak memory of one ``fractional_enhance`` call, measured in a fresh process
   (growth of the resident set over the resident set just before the call), as a
   multiple of the input's size (target <= 4);
3. whole process: ``python -m clinicalimaging enhance in.nrrd out.nrrd`` vs a
   plain SimpleITK script that reads, unsharp-masks and writes the same file, on an
   uncompressed and on a gzip NRRD (each side writes the input's encoding), median of
   ``--repeats`` runs (target: ratio <= 1.5).

Not part of the test suite. Usage::

    python Testing/Benchmarks/bench_enhance.py [--repeats 3] [--shape 100 512 512]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk

SPACING = (2.5, 0.7, 0.7)  # mm, KJI
PEER_SCRIPT = ("import sys, SimpleITK as sitk; sitk.WriteImage(sitk.UnsharpMask(sitk.ReadImage(sys.argv[1])), "
               "sys.argv[2], useCompression=sys.argv[3] == 'gzip')")


def make_volume(shape):
    """A CT-like phantom (float32, HU) of ``shape`` (KJI) with :data:`SPACING`."""
    from clinicalimaging.phantom import make_phantom

    return make_phantom("ct", shape=tuple(shape), spacing=SPACING).image.astype(np.float32)


def sitk_image(volume):
    image = sitk.GetImageFromArray(volume)
    image.SetSpacing(tuple(reversed(SPACING)))
    return image


def run_enhance(volume):
    from clinicalimaging.enhance import fractional_enhance

    return fractional_enhance(volume, SPACING)


def run_unsharp(volume):
    return sitk.GetArrayFromImage(sitk.UnsharpMask(sitk_image(volume)))


SIDES = {"enhance": run_enhance, "unsharp": run_unsharp}


def alternate(functions, repeats):
    """Median wall time of each zero-argument function, run alternately ``repeats`` times."""
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def resident_bytes():
    """This process's resident set now, in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_resident_bytes():
    """This process's peak resident set (VmHWM), in bytes.

    Not ``ru_maxrss``: Linux carries that high-water mark across ``exec``, and
    ``subprocess`` starts children with ``vfork``, so in a child it is at least the
    parent's peak. VmHWM belongs to the address space that ``exec`` made.
    """
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024  # kB


# Runs the command in a child forked from this small process, so the child's peak starts from its own size.
_PEAK_LAUNCHER = ("import os, sys\n"
                  "pid = os.fork()\n"
                  "if pid == 0:\n"
                  "    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])\n"
                  "_, status, usage = os.wait4(pid, 0)\n"
                  "print(usage.ru_maxrss * 1024, file=sys.stderr)\n"  # kB on Linux
                  "sys.exit(os.waitstatus_to_exitcode(status))\n")


def run_python_measuring_peak(arguments):
    """Wall seconds and peak resident bytes of ``python ARGUMENTS`` in a fresh process.

    Raises
    ------
    RuntimeError
        With the command's error output when it fails.
    """
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-c", _PEAK_LAUNCHER, *map(str, arguments)], capture_output=True,
                               text=True)
    seconds = time.perf_counter() - started
    errors, _, peak = completed.stderr.rstrip("\n").rpartition("\n")
    if completed.returncode != 0:
        raise RuntimeError(errors)
    return seconds, int(peak)


def measure_memory(side, array_path):
    """In this (fresh) process: peak resident growth of one call of ``side`` on the saved array, in bytes."""
    function = SIDES[side]
    function(np.zeros((8, 32, 32), np.float32) + np.arange(32, dtype=np.float32))  # imports and lazy set-up
    volume = np.load(array_path)
    before = resident_bytes()
    function(volume)
    print(max(0, peak_resident_bytes() - before))


def peak_memory(side, array_path):
    output = subprocess.run([sys.executable, __file__, "--measure-memory", side, str(array_path)],
                            check=True, capture_output=True, encoding="utf-8").stdout
    return int(output.split()[-1])


def whole_process(folder, volume, repeats, encoding):
    """Median seconds of both commands on an NRRD of ``encoding`` ("raw" or "gzip"); both write the same encoding."""
    source, enhanced, unsharp = folder / f"in_{encoding}.nrrd", folder / "enhanced.nrrd", folder / "unsharp.nrrd"
    sitk.WriteImage(sitk_image(volume), str(source), useCompression=encoding == "gzip")
    commands = {
        "clinicalimaging enhance": [sys.executable, "-m", "clinicalimaging", "enhance", str(source), str(enhanced),
                                    "--quiet"],
        "SimpleITK script": [sys.executable, "-c", PEER_SCRIPT, str(source), str(unsharp), encoding],
    }
    return alternate({name: (lambda command=command: subprocess.run(command, check=True))
                      for name, command in commands.items()}, repeats)


def verdict(value, target):
    return f"target <= {target:g}: {'met' if value <= target else 'NOT met'}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per side (default: 3)")
    parser.add_argument("--shape", type=int, nargs=3, default=(100, 512, 512), metavar=("K", "J", "I"),
                        help="volume shape, KJI (default: 100 512 512)")
    parser.add_argument("--measure-memory", nargs=2, metavar=("SIDE", "NPY"), help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.measure_memory:
        measure_memory(*arguments.measure_memory)
        return
    volume = make_volume(arguments.shape)
    megabytes = volume.nbytes / 2**20
    print(f"volume {volume.shape} float32 ({megabytes:.0f} MiB), spacing {SPACING} mm, {os.cpu_count()} CPUs, "
          f"{arguments.repeats} repeats")

    times = alternate({name: (lambda function=function: function(volume)) for name, function in SIDES.items()},
                      arguments.repeats)
    ratio = times["enhance"] / times["unsharp"]
    print(f"in-process time: fractional_enhance {times['enhance']:.2f} s, UnsharpMask {times['unsharp']:.2f} s, "
          f"ratio {ratio:.2f} ({verdict(ratio, 1.0)})")

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        np.save(folder / "volume.npy", volume)
        memory = {side: peak_memory(side, folder / "volume.npy") for side in SIDES}
        factor = memory["enhance"] / volume.nbytes
        print(f"peak memory: fractional_enhance +{memory['enhance'] / 2**20:.0f} MiB = {factor:.2f}x the input "
              f"({verdict(factor, 4.0)}); UnsharpMask +{memory['unsharp'] / 2**20:.0f} MiB = "
              f"{memory['unsharp'] / volume.nbytes:.2f}x")

        for encoding in ("raw", "gzip"):
            times = whole_process(folder, volume, arguments.repeats, encoding)
            names = list(times)
            ratio = times[names[0]] / times[names[1]]
            print(f"whole process, {encoding} NRRD in and out: {names[0]} {times[names[0]]:.2f} s, {names[1]} "
                  f"{times[names[1]]:.2f} s, ratio {ratio:.2f} ({verdict(ratio, 1.5)})")


if __name__ == "__main__":
    main()
