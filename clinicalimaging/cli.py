"""The ``clinicalimaging`` command line: the commands of every package, composed.

::

    clinicalimaging enhance | evaluate-enhancement        (clinicalimaging.enhance.commands)
    clinicalimaging segment | evaluate-segmentation       (clinicalimaging.segment.commands)
    clinicalimaging detect | train-detector | evaluate-detection   (clinicalimaging.detect.commands)
    clinicalimaging pipeline INPUT OUTDIR [--outline FILE]        (clinicalimaging.pipeline.commands)
    clinicalimaging demo [OUTDIR]

Each package registers its own commands from the helpers of
:mod:`clinicalimaging.cli_options`; this module adds the options every command shares,
runs the chosen one and turns its outcome into an exit status and one line.

Stage options are generated from the stage's parameter dataclass
(:func:`~clinicalimaging.cli_options.add_parameter_options`), so ``--help`` always lists every parameter with its
unit and default; an option that has no effect with the other values (e.g.
``--order-at-high-dimension`` with ``--mode paper``) is refused, not ignored. Exit
status: 0 on success; 2 on a usage error or an
:class:`~clinicalimaging.errors.InputError`, with one line on stderr and no
traceback; 130 when interrupted (Ctrl-C), 143 when terminated (SIGTERM); 1 on any
other failure (``--debug`` shows the traceback). Every output path is checked before
any computation, and outputs are written all or nothing
(:func:`clinicalimaging.mrml.staged_outputs`), so a failed run leaves no output file.

Interrupts: the process entry point (:mod:`clinicalimaging.launch`, used by the
console script and by ``python -m clinicalimaging``) handles SIGINT and SIGTERM at
any moment, imports included. Until the outputs are in place, an interrupt leaves no
output and no temporary file (files that existed before keep their content) and
says ``interrupted; no output was written.``; once they are all in place (possibly
before the summary is printed) it keeps them and says that they are complete.

The same :func:`main` runs inside Slicer's batch mode, where it installs no signal
handler (Slicer's own handling stays as it is)::

    Slicer --no-splash --no-main-window --python-code \\
        "import sys; from clinicalimaging.cli import main; sys.exit(main(['enhance', 'in.nrrd', 'out.nrrd']))"
"""

import contextlib
import functools
import signal
import sys
import traceback
import warnings
from pathlib import Path

from . import __version__, interrupts, provenance
from .cli_options import EXIT_INPUT_ERROR, CommandOutcome, Parser
from .detect.commands import add_commands as add_detection_commands
from .enhance.commands import add_commands as add_enhancement_commands
from .errors import Cancelled, InputError, InputWarning, one_line, unexpected_failure
from .library_output import show_library_output
from .mrml.paths import replaced_outputs
from .parameters import ParameterError
from .pipeline.commands import add_commands as add_pipeline_commands
from .segment.commands import add_commands as add_segmentation_commands

PROGRAM = interrupts.PROGRAM
EXIT_FAILURE = 1
EXIT_INTERRUPTED = interrupts.EXIT_STATUS[signal.SIGINT]


#: The line prefix of ``--progress-lines``: ``PROGRESS <fraction 0..1> <message>``.
PROGRESS_PREFIX = "PROGRESS"


def _progress_lines(fraction, message):
    """Progress as one flushed stdout line, for a program that runs the command as a child process."""
    print(f"{PROGRESS_PREFIX} {fraction:.4f} {' '.join(str(message).split())}", flush=True)


@contextlib.contextmanager
def _progress_bar(enabled):
    """A progress callback that draws a tqdm bar on stderr; None when disabled or tqdm is not installed.

    tqdm is imported only to draw a bar, so the commands run on a Python without it
    (e.g. Slicer's own).
    """
    if enabled:
        try:
            from tqdm import tqdm
        except ImportError:
            enabled = False
    if not enabled:
        yield None
        return
    steps = 1000
    with tqdm(total=steps, file=sys.stderr, leave=False,
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}") as bar:
        def update(fraction, message):
            bar.set_description_str(message, refresh=False)
            bar.n = round(fraction * steps)
            bar.refresh()

        yield update


def _run_demo(arguments, progress):
    """Where the demo files went and the key figures."""
    from .demo_chain import format_demo, run_demo

    demo = run_demo(arguments.output_folder, kind=arguments.kind, progress=progress)
    return None if arguments.quiet else format_demo(demo)


def build_parser():
    """The argument parser of every command (exposed for documentation and tests)."""
    parser = Parser(
        prog=PROGRAM, description="Clinical image analysis: fractional-order enhancement of CT/MR volumes and "
                                  "self-paced lesion segmentation from outline points.",
        epilog=f"Run '{PROGRAM} COMMAND --help' for the options of a command. Exit status: 0 success, "
               "2 bad input or usage, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM), 1 other failure. An "
               "interrupt before the outputs are complete leaves no output and no temporary file; after, it keeps "
               "the complete outputs and says so.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = Parser(add_help=False)
    common.add_argument("--quiet", action="store_true", help="No progress bar and no summary on stdout.")
    common.add_argument("--debug", action="store_true",
                        help="Show the full traceback of an unexpected error, and the messages that the imaging and "
                             "deep-learning libraries print themselves.")
    common.add_argument("--progress-lines", action="store_true",
                        help=f"Report progress as lines '{PROGRESS_PREFIX} <fraction 0..1> <message>' on stdout "
                             "instead of a bar (for a program that runs this command, e.g. a Slicer module).")
    evaluation = Parser(add_help=False)  # the reference of both evaluate commands
    evaluation.add_argument("image", metavar="IMAGE", help="Input volume (as for 'enhance').")
    evaluation.add_argument("label", metavar="LABEL", help="Label map volume marking the lesion (any grid; it is "
                                                           "resampled onto the image by nearest neighbour).")
    evaluation.add_argument("--label-value", type=int, metavar="N",
                            help="Label value of the lesion; needed when the label map holds more than one "
                                 "label (default: every non-zero voxel of a single-label map).")
    evaluation.add_argument("--table", metavar="OUT.csv",
                            help="Also write the table as .csv or .tsv (default: printed only).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    add_enhancement_commands(commands, common, evaluation)
    add_segmentation_commands(commands, common, evaluation)
    add_detection_commands(commands, common)
    add_pipeline_commands(commands, common)

    demo = commands.add_parser(
        "demo", parents=[common],
        help="The whole chain on a generated phantom: enhance, find the organs, segment the outlined lesion, report.",
        description="Generate a CT-like or MR-like phantom with a liver lesion and write it, its label map (the "
                    "truth), an outline of the lesion and the enhancement figure into OUTDIR (created if needed); "
                    "then run the whole chain on them, as 'pipeline' does (without TensorFlow, without organ "
                    "detection), and print where the scene, the report and summary.json are, the lesion's CNR "
                    "before and after the enhancement, its volume and Dice against the phantom's lesion, and the "
                    "organs found.")
    demo.add_argument("output_folder", metavar="OUTDIR", nargs="?", default="demo-output",
                      help="Folder for the results (default: demo-output).")
    demo.add_argument("--kind", choices=("ct", "mr"), default="ct", help="Which phantom to generate (default: ct).")
    demo.set_defaults(run=_run_demo)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None, *, debug=False):
    """Show a warning: an :class:`InputWarning` as one line ``clinicalimaging: warning: ...`` on stderr.

    Other warnings (the libraries' own) appear only with ``--debug``, with where they come from.
    """
    if issubclass(category, InputWarning):
        print(f"{PROGRAM}: warning: {one_line(message)}", file=sys.stderr)
    elif debug:
        print(f"{PROGRAM}: warning ({category.__name__}, {filename}:{lineno}): {one_line(message)}", file=sys.stderr)


def main(argv=None):
    """Run one command.

    Installs no signal handler: run as a process, the command line goes through
    :func:`clinicalimaging.launch.main`, which does. Called from a script (e.g. in
    Slicer's batch mode), a :class:`KeyboardInterrupt` during the command gives the
    same one-line message and exit status 130.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 success, 2 usage or input error, 130 interrupted, 1 other failure (for ``batch``:
        a case failed).
    """
    parser = build_parser()
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, or a usage error argparse already reported
        return stop.code if isinstance(stop.code, int) else EXIT_INPUT_ERROR
    show_library_output(arguments.debug)
    show_bar = not arguments.quiet and not arguments.progress_lines and sys.stderr.isatty()
    written_before = interrupts.written_count()
    try:
        replaced_outputs(clear=True)
        with (_progress_bar(show_bar) as progress, warnings.catch_warnings(),  # bar cleared before the result
              provenance.recording([PROGRAM, *(sys.argv[1:] if argv is None else argv)], _inputs(arguments))):
            warnings.showwarning = functools.partial(_show_warning, debug=arguments.debug)
            result = arguments.run(arguments, _progress_lines if arguments.progress_lines else progress)
    except (Cancelled, KeyboardInterrupt):
        print(interrupts.interrupted_message(complete=interrupts.written_count() > written_before), file=sys.stderr)
        return EXIT_INTERRUPTED
    except InputError as error:
        if arguments.debug:
            traceback.print_exc()
        text = error.spelled(command_line=True) if isinstance(error, ParameterError) else str(error)
        print(f"{PROGRAM}: error: {one_line(text)}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except Exception as error:
        if arguments.debug:
            traceback.print_exc()
        reason, is_error = unexpected_failure(error, debug=arguments.debug)
        print(f"{PROGRAM}: {'error: ' if is_error else ''}{reason}", file=sys.stderr)
        return EXIT_FAILURE
    status = 0
    if isinstance(result, CommandOutcome):
        result, status = result
    replaced = replaced_outputs(clear=True)
    if replaced and not arguments.quiet:
        result = "\n".join(filter(None, [result, f"replaced existing file(s): {', '.join(map(str, replaced))}"]))
    if result:
        print(result)
    return status


#: Argument names that hold input files or folders, recorded with their checksums in every output.
_INPUT_ARGUMENTS = ("input", "image", "label", "labels", "images", "outline", "seeds", "model", "init", "parameters",
                    "label_names")


def _inputs(arguments):
    """The input paths of a parsed command, in argument order."""
    inputs = []
    for name in _INPUT_ARGUMENTS:
        value = getattr(arguments, name, None)
        inputs += value if isinstance(value, list) else [] if value is None else [value]
    return [path for path in inputs if Path(path).exists()]
