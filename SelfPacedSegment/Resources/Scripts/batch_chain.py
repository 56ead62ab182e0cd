"""Batch mode: the ClinicalImageAnalysis chain on every case of a folder, inside 3D Slicer.

Usage (the script is installed with the Self-Paced Segment module, under its
``Resources/Scripts`` folder in the extension's ``qt-scripted-modules``)::

    Slicer --no-main-window --python-script .../qt-scripted-modules/Resources/Scripts/batch_chain.py \\
        -- INDIR OUTDIR [--no-enhance] [--no-detect] [--model FILE.keras] [--organs NAMES] \\
        [--install-requirements] [stage options]

``-- --help`` lists every option. Each case of INDIR (a volume file, with ``NAME.mrk.json``
beside it as its lesion's outline, or a DICOM series folder) gets the folder
``OUTDIR/<case id>``: the enhanced volume and order map, the lesion's segmentation
(with an outline), ``organs.mrk.json`` and ``organs.csv`` (found out of process),
``report.png``, ``scene.mrb`` and ``summary.json``. One line per case on stdout; Slicer
exits with 0 when every case succeeded, 1 when any failed, 2 for bad arguments or
missing packages.

The work is :func:`clinicalimaging.slicer_batch.run_batch`; this file hands it the
arguments and ends Slicer with its status.
"""

import sys
import traceback

import slicer


def main() -> int:
    """Run the batch on ``sys.argv``; the exit status."""
    try:
        from clinicalimaging.slicer_batch import EXIT_CASE_FAILED, run_batch
    except ImportError:  # the extension's package is not on Slicer's path
        traceback.print_exc()
        return 1
    try:
        return run_batch(sys.argv[1:], command=list(sys.argv))
    except BaseException:  # noqa: BLE001 - an escaped exception would leave Slicer running
        traceback.print_exc()
        return EXIT_CASE_FAILED


slicer.util.exit(main())
