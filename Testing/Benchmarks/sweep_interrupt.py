"""Interrupt sweep: SIGINT (and SIGTERM) at evenly spaced moments of ``clinicalimaging enhance``.

Starts the real command on a phantom volume once per delay, sends the signal after
that delay, and prints one row per run: the delay, the exit status, the number of
stderr lines, whether a traceback appeared, and what the output folder holds
(``none``, ``complete`` or ``PARTIAL``, plus any stray temporary file). The target
is exit status 130 (143 for SIGTERM, 0 when the run had already finished), at most
one stderr line, no traceback and never a partial output; the last line says
whether every run met it. A signal that arrives before the interpreter has
installed any handler (the first few milliseconds) kills the process outright
(exit status -2 or -15 here, 130 or 143 in a shell), with nothing written: that
counts as meeting the target.

Not part of the test suite. Usage::

    python Testing/Benchmarks/sweep_interrupt.py [--runs 20] [--span 2.0] [--signal INT] [--module]
"""

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk

OUTPUTS = ("out.nrrd", "order.nrrd")
EXPECTED = {signal.SIGINT: 130, signal.SIGTERM: 143}


def command(input_path, folder, *, module):
    """The command line: the installed console script beside this Python, or ``python -m clinicalimaging``."""
    script = Path(sys.executable).with_name("clinicalimaging")
    program = [sys.executable, "-m", "clinicalimaging"] if module or not script.exists() else [str(script)]
    return [*program, "enhance", str(input_path), str(folder / OUTPUTS[0]), "--order-map", str(folder / OUTPUTS[1])]


def folder_state(folder):
    """``none``, ``complete`` or ``PARTIAL``, and the names of files that are not outputs."""
    names = sorted(path.name for path in folder.iterdir())
    present = [name for name in OUTPUTS if name in names]
    strays = [name for name in names if name not in OUTPUTS]
    if not present:
        state = "none"
    elif len(present) < len(OUTPUTS):
        state = "PARTIAL"
    else:
        readable = True
        for name in present:
            try:
                sitk.ReadImage(str(folder / name))
            except RuntimeError:
                readable = False
        state = "complete" if readable else "PARTIAL"
    return state, strays


def run_once(input_path, folder, delay, signum, *, module):
    """Run the command, send ``signum`` after ``delay`` s (None: never); (status, stderr, state, strays, time)."""
    folder.mkdir()
    start = time.perf_counter()
    process = subprocess.Popen(command(input_path, folder, module=module), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, encoding="utf-8")
    if delay is not None:
        try:
            process.wait(timeout=max(0.0, delay - (time.perf_counter() - start)))
        except subprocess.TimeoutExpired:
            process.send_signal(signum)
    _, stderr = process.communicate(timeout=600)
    state, strays = folder_state(folder)
    return process.returncode, stderr, state, strays, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="Number of delays (default: 20).")
    parser.add_argument("--span", type=float, default=2.0, help="Delays spread over [0, SPAN) s (default: 2.0).")
    parser.add_argument("--signal", choices=("INT", "TERM"), default="INT", help="Signal to send (default: INT).")
    parser.add_argument("--shape", type=int, nargs=3, default=(24, 192, 192), metavar=("K", "J", "I"),
                        help="Phantom shape in voxels, KJI (default: 24 192 192).")
    parser.add_argument("--module", action="store_true", help="Run 'python -m clinicalimaging' instead of the "
                                                              "console script.")
    arguments = parser.parse_args()
    signum = getattr(signal, f"SIG{arguments.signal}")
    from clinicalimaging.phantom import make_phantom

    work = Path(tempfile.mkdtemp(prefix="sweep-interrupt-"))
    try:
        input_path = work / "in.nrrd"
        image = sitk.GetImageFromArray(make_phantom("ct", shape=tuple(arguments.shape)).image.astype(np.float32))
        sitk.WriteImage(image, str(input_path), useCompression=True)
        _, _, _, _, uninterrupted = run_once(input_path, work / "reference", None, signum, module=arguments.module)
        print(f"uninterrupted run: {uninterrupted:.2f} s; signal SIG{arguments.signal}; "
              f"{' '.join(command(input_path, work, module=arguments.module)[:2])}")
        print(f"{'delay s':>8}  {'exit':>4}  {'lines':>5}  {'traceback':>9}  {'outputs':>8}  stderr")
        good = True
        for index in range(arguments.runs):
            delay = arguments.span * index / arguments.runs
            status, stderr, state, strays, _ = run_once(input_path, work / f"run{index:02d}", delay, signum,
                                                        module=arguments.module)
            lines = stderr.strip().splitlines()
            traceback = "Traceback" in stderr
            # Killed by the signal itself: it came before the interpreter installs any handler (a shell reports
            # 128 + signal number, as for the handled case); nothing can have been written yet.
            before_start = status == -signum and not lines and state == "none"
            ok = before_start or (status in (EXPECTED[signum], 0) and len(lines) <= 1 and not traceback
                                  and state != "PARTIAL" and not strays
                                  and (state == "complete") == (status == 0 or "complete" in stderr))
            good &= ok
            shown = lines[-1] if lines else ("(killed before start-up)" if before_start else "")
            print(f"{delay:8.2f}  {status:4d}  {len(lines):5d}  {'yes' if traceback else 'no':>9}  "
                  f"{state:>8}  {shown[:90]}{'  strays: ' + ', '.join(strays) if strays else ''}"
                  f"{'' if ok else '   <-- FAIL'}")
        print("every run met the target" if good else "SOME RUNS FAILED")
        return 0 if good else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
