"""The built-in example: the whole chain on a generated phantom, with every file a user would look at.

:func:`run_demo` generates a CT-like (or MR-like) phantom with a liver lesion
(:func:`clinicalimaging.phantom.make_phantom`), writes it with its label map, an
outline of the lesion as a user would draw it and the enhancement figure, then runs
the chain on those files exactly as ``clinicalimaging pipeline`` does
(:func:`clinicalimaging.pipeline.case.process_case`) and measures the result against
the phantom's truth. Without Keras and its backend (the ``detect`` extra) the chain
runs without organ detection.
"""

import contextlib
import dataclasses
import os
import shlex
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from . import interrupts, provenance
from .demo import FIGURE_DPI, demo_figure
from .errors import InputError
from .progress import report, subrange

#: The demo's own files (the chain adds those of :data:`~clinicalimaging.pipeline.case_outputs.OUTPUT_NAMES`).
DEMO_FILES = {
    "input volume": "phantom.nrrd",
    "label map": "phantom_labels.nrrd",
    "outline": "phantom_outline.mrk.json",
    "figure": "phantom_enhancement.png",
}
#: Phantom geometry (K, J, I) and spacing in mm: that of the detector's training and benchmark phantoms
#: (:func:`clinicalimaging.detect.cases.phantom_volumes`), a 280 x 280 x 144 mm abdomen.
PHANTOM_SHAPE = (48, 112, 112)
PHANTOM_SPACING = (3.0, 2.5, 2.5)
#: Phantom seed of each kind: the unseen phantoms of the shipped detector's model card (it was trained on the CT
#: of seed 0 and the MR of seed 1).
PHANTOM_SEEDS = {"ct": 900, "mr": 901}
#: Points of the simulated outline, on the lesion's largest axial slice, as a user clicks them (10 to 15).
OUTLINE_POINTS = 12
#: How to add what organ detection needs, said when it is missing.
DETECT_INSTALL = 'pip install -e ".[detect]"'


@dataclasses.dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` wrote and found.

    Attributes
    ----------
    paths : dict of str to Path
        Every file written, by what it holds: the keys of :data:`DEMO_FILES`, then
        those of :data:`~clinicalimaging.pipeline.case_outputs.OUTPUT_NAMES` of the
        stages that ran.
    summary : dict
        The chain's ``summary.json``.
    kind : str
        ``"ct"`` or ``"mr"``.
    lesion_label : int
        Value of the lesion in the label map file.
    true_volume_ml : float
        The phantom's lesion volume in mL.
    lesion_dice : float
        Dice of the segmented lesion against the phantom's lesion.
    phantom_organs : tuple of str
        The organs of the phantom that the detector knows, in the detector's spelling.
    detected : bool
        Whether organ detection ran (False without Keras and its backend).
    """

    paths: dict
    summary: dict
    kind: str
    lesion_label: int
    true_volume_ml: float
    lesion_dice: float
    phantom_organs: tuple
    detected: bool


def detection_installed():
    """Whether Keras and its backend (``KERAS_BACKEND``, default TensorFlow) are installed, without importing them.

    Returns
    -------
    bool
    """
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    try:
        return all(find_spec(name) is not None for name in ("keras", backend))
    except (ImportError, ValueError):  # an import hook that refuses the name, or a module without a spec
        return False


def run_demo(output_folder, *, kind="ct", detect=None, progress=None):
    """Generate a phantom with a lesion, outline the lesion and run the whole chain on them.

    Writes the phantom (:data:`DEMO_FILES`: volume, label map, outline, enhancement
    figure), then the chain's outputs for that volume and outline
    (:func:`clinicalimaging.pipeline.case.process_case` with the default
    :class:`~clinicalimaging.pipeline.case.ChainSettings`: the shipped detector),
    all into ``output_folder``. Files are written all or nothing: on any failure,
    cancel or signal the files this call added are removed again, and so is a folder
    it created (files that were there before stay; the phantom is the same at every
    run).

    Parameters
    ----------
    output_folder : str or Path
        Where to write; created (with its parents) when missing.
    kind : {"ct", "mr"}
        CT-like phantom in HU or MR-like phantom in arbitrary units.
    detect : bool, optional
        Run organ detection; default when Keras and its backend are installed
        (:func:`detection_installed`).
    progress : callable, optional
        ``progress(fraction, message)``, see :mod:`clinicalimaging.progress`.

    Returns
    -------
    DemoResult
    """
    from .mrml import check_outputs
    from .pipeline.case import ChainSettings
    from .pipeline.case_outputs import output_kind, output_paths

    if kind not in PHANTOM_SEEDS:
        raise InputError(f"Phantom kind must be one of {', '.join(PHANTOM_SEEDS)}; got '{kind}'.")
    output_folder = Path(output_folder)
    if output_folder.exists() and not output_folder.is_dir():
        raise InputError(f"Demo output '{output_folder}' is a file, not a folder. Choose a folder path.")
    detect = detection_installed() if detect is None else bool(detect)
    settings = ChainSettings() if detect else ChainSettings(stages=("enhance", "segment"))
    paths = {what: output_folder / name for what, name in DEMO_FILES.items()}
    paths.update(output_paths(output_folder, settings.stages))
    kinds = {"input volume": "volume", "label map": "volume", "outline": "markups", "figure": "figure"}
    created = not output_folder.exists()
    output_folder.mkdir(parents=True, exist_ok=True)
    try:
        check_outputs([], [(path, kinds.get(what) or output_kind(path)) for what, path in paths.items()])
        with _one_set_of_outputs(output_folder):
            result = _write_demo(paths, kind, settings, progress)
    except BaseException:
        if created and not any(output_folder.iterdir()):
            output_folder.rmdir()
        raise
    report(progress, 1.0, "Done")
    return result


@contextlib.contextmanager
def _one_set_of_outputs(folder):
    """The files the block writes into ``folder``, in several steps, as one set of outputs.

    Each step's files land as it finishes; they count as written
    (:func:`clinicalimaging.interrupts.outputs_written`) only when the block ends. An
    exception, a cancel or a signal before then removes every file the block added.
    """
    from .mrml import staged_outputs

    before_files = {path for path in folder.iterdir() if path.is_file()}
    before_count = interrupts.written_count()

    def complete():
        return interrupts.written_count() > before_count

    def remove_added():
        if not complete():
            for path in folder.iterdir():
                if path.is_file() and path not in before_files:
                    path.unlink(missing_ok=True)

    def outcome():
        return "the outputs were already written and are complete." if complete() else "no output was written."

    with interrupts.stopped_on_interrupt(remove_added, outcome):
        try:
            with staged_outputs([]):  # the outermost block: the nested writes count once, at its end
                yield
        except BaseException:
            remove_added()
            raise


def _write_demo(paths, kind, settings, progress):
    """Write the phantom files, run the chain on them and measure the lesion against the phantom's truth."""
    from . import mrml
    from .detect.organs import PHANTOM_NAMES
    from .enhance.core import fractional_enhance
    from .metrics import dice
    from .phantom import make_phantom
    from .phantom_nodes import phantom_volume
    from .pipeline.case import process_case
    from .segment.evaluation import simulate_outline
    from .segment.nodes import LESION_SEGMENT

    report(progress, 0.0, f"Generating the {kind.upper()} phantom")
    phantom = make_phantom(kind, shape=PHANTOM_SHAPE, spacing=PHANTOM_SPACING, seed=PHANTOM_SEEDS[kind])
    truth = phantom.labels == phantom.lesion_label
    with mrml.case_scene():
        volume_node, label_node = phantom_volume(phantom)
        outline = mrml.markups_from_points(simulate_outline(truth, count=OUTLINE_POINTS), volume_node,
                                           name="lesion outline")
        enhanced = fractional_enhance(phantom.image, phantom.spacing, settings.enhance,
                                      progress=subrange(progress, 0.02, 0.06))
        report(progress, 0.06, "Writing the phantom, its outline and the enhancement figure")
        figure = demo_figure(phantom.image, enhanced.enhanced, enhanced.order_map, enhanced.fractal_dimension_map,
                             truth, phantom.ijk_to_ras, kind=kind, lesion_label=phantom.lesion_label,
                             parameters=settings.enhance)
        with mrml.staged_outputs([paths[what] for what in DEMO_FILES]) as staged:
            mrml.write_volume(volume_node, staged[paths["input volume"]])
            mrml.write_volume(label_node, staged[paths["label map"]])
            mrml.write_markups(outline, staged[paths["outline"]])
            figure.savefig(staged[paths["figure"]], dpi=FIGURE_DPI)
        record = provenance.current()  # the chain's outputs name the phantom and the outline as their inputs
        summary, _ = process_case(paths["input volume"], paths["input volume"].parent, settings,
                                  outline=paths["outline"], progress=subrange(progress, 0.1, 0.97),
                                  command=None if record is None else shlex.split(record["command"]))
        report(progress, 0.97, "Comparing the lesion with the phantom's")
        segmentation = mrml.read_segmentation(paths["segmentation"])
        lesion = mrml.segment_mask(segmentation, LESION_SEGMENT, volume_node, allow_empty=True)
    organs = tuple(PHANTOM_NAMES[name] for name in phantom.label_names.values() if name in PHANTOM_NAMES)
    return DemoResult(paths=paths, summary=summary, kind=kind, lesion_label=phantom.lesion_label,
                      true_volume_ml=float(truth.sum() * np.prod(phantom.spacing) / 1000.0),
                      lesion_dice=float(dice(lesion, truth)), phantom_organs=organs,
                      detected="detect" in settings.stages)


def format_demo(result):
    """What the demo prints: where its files are and the key figures, one item per line.

    Parameters
    ----------
    result : DemoResult

    Returns
    -------
    str
    """
    summary, paths = result.summary, result.paths
    folder = paths["summary"].parent
    lesion, cnr = summary["lesion"], summary["cnr"]
    others = [what for what in paths if what not in ("scene", "report", "summary")]
    lines = [f"Demo ({result.kind.upper()} phantom with a liver lesion, the whole chain) written to "
             f"{folder.resolve()}:",
             f"  Slicer scene: {paths['scene']}",
             f"  report: {paths['report']}",
             f"  summary: {paths['summary']}",
             "  also: " + ", ".join(f"{paths[what].name} ({what})" for what in others)]
    if cnr is not None and cnr.get("ratio") is not None:
        lines.append(f"CNR of the lesion: {cnr['original']:.2f} original -> {cnr['enhanced']:.2f} enhanced "
                     f"(x{cnr['ratio']:.2f})")
    if lesion is not None:
        lines.append(f"Lesion: {lesion['volume_ml']:.2f} mL segmented, {result.true_volume_ml:.2f} mL true (phantom); "
                     f"Dice {result.lesion_dice:.3f} against the phantom's lesion")
    else:
        lines.append("Lesion: nothing segmented")
    if result.detected:
        found = [organ["organ"] for organ in summary["organs"]]
        hits = sum(organ in found for organ in result.phantom_organs)
        lines.append(f"Organs found: {', '.join(found) or 'none'} ({hits} of the phantom's "
                     f"{len(result.phantom_organs)} organs)")
    elif detection_installed():
        lines.append("Organs: not detected (switched off)")
    else:
        lines.append(f"Organs: not detected (Keras and TensorFlow are not installed); to detect them: "
                     f"{DETECT_INSTALL}")
    lines.append("The same on your own volume: clinicalimaging pipeline IMAGE OUTDIR --outline OUTLINE.mrk.json")
    return "\n".join(lines)
