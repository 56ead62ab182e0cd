"""Run a batch-mode script as ``Slicer --no-main-window --python-script SCRIPT -- ARGS`` does, in a Slicer-like Python.

Run by ``Testing/test_slicer_runtime.py`` with the Python of a stock-Slicer environment::

    python run_batch_script.py --layer SLICER_PYTHON/v5.12.3 --script batch_chain.py --report OUT.json -- ARGS...

The Slicer-like Python is ``bootstrap.start``'s: Slicer's own Python layer, slicer-core's
MRML, ``slicer.app`` without a main window and ``slicer.mrmlScene`` with the module logics.
``sys.argv`` becomes ``[SCRIPT, "--", *ARGS]`` and the script runs as ``__main__``.
``slicer.util.exit(status)`` ends it (the stand-in application's ``exit`` raises
``SystemExit(status)``); this process exits with that status, or with
:data:`NO_EXIT_CALLED` when the script returned without calling it (Slicer would then
keep running). The report (JSON) says how it ended and what the script left in
``slicer.mrmlScene``.
"""

import argparse
import json
import runpy
import sys
import time

import bootstrap

#: The exit status when the script never called slicer.util.exit.
NO_EXIT_CALLED = 3


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layer", required=True, help="folder holding Slicer's slicer/ package (e.g. .../v5.12.3)")
    parser.add_argument("--script", required=True)
    parser.add_argument("--report", required=True)
    parser.add_argument("--temp", default="/tmp")
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help="the script's arguments, after --")
    args = parser.parse_args(argv)
    arguments = args.arguments[1:] if args.arguments[:1] == ["--"] else args.arguments

    slicer, _app, _timings = bootstrap.start(args.layer, temporary_path=args.temp)
    scene = slicer.mrmlScene
    nodes_before = sorted(scene.GetNthNode(index).GetID() for index in range(scene.GetNumberOfNodes()))
    sys.argv = [args.script, "--", *arguments]
    report = {"exit_called": False, "status": NO_EXIT_CALLED}
    started = time.perf_counter()
    try:
        runpy.run_path(args.script, run_name="__main__")
    except SystemExit as stop:  # slicer.util.exit -> the stand-in application's exit
        report.update(exit_called=True, status=stop.code if isinstance(stop.code, int) else 1)
    report["seconds"] = round(time.perf_counter() - started, 2)
    nodes_after = sorted(scene.GetNthNode(index).GetID() for index in range(scene.GetNumberOfNodes()))
    report["nodes_left"] = sorted(set(nodes_after) - set(nodes_before))
    with open(args.report, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=1)
    return report["status"]


if __name__ == "__main__":
    sys.exit(main())
