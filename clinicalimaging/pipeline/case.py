"""One case from its files to its output folder: the unit of work of ``pipeline`` and of each ``batch`` task.

:func:`process_case` reads the case into a scene of its own (:func:`~clinicalimaging.mrml.case_scene`),
runs the chain (:func:`~clinicalimaging.pipeline.chain.run_case`) and writes every output
all or nothing (:func:`~clinicalimaging.mrml.staged_outputs`). :class:`ChainSettings` is
what a cohort shares: the stages, each stage's parameters and the detector model.
"""

import contextlib
import dataclasses
import functools
from pathlib import Path
from typing import Optional

from .. import __version__, provenance
from ..detect.parameters import DetectParameters
from ..enhance.parameters import EnhanceParameters
from ..progress import report, subrange
from ..segment.parameters import SegmentParameters
from .case_outputs import output_kind, output_paths, write_case_outputs
from .chain import STAGES


@dataclasses.dataclass(frozen=True)
class ChainSettings:
    """What every case of a run shares.

    Attributes
    ----------
    stages : tuple of str
        The stages wanted, of :data:`~clinicalimaging.pipeline.chain.STAGES`; ``"segment"``
        runs for a case with an outline or a target organ.
    enhance, segment, detect : Parameters
        Each stage's parameters.
    model : str, optional
        The detector model file; default the shipped model.
    organs : str, optional
        Comma-separated organs to report; default every organ of the model.
    """

    stages: tuple = STAGES
    enhance: EnhanceParameters = dataclasses.field(default_factory=EnhanceParameters)
    segment: SegmentParameters = dataclasses.field(default_factory=SegmentParameters)
    detect: DetectParameters = dataclasses.field(default_factory=DetectParameters)
    model: Optional[str] = None
    organs: Optional[str] = None

    def to_dict(self):
        """The settings as a JSON-serialisable dict (parameters keyed by their class, as in provenance records)."""
        return {"stages": list(self.stages), "model": self.model, "organs": self.organs,
                **{type(parameters).__name__: parameters.to_dict()
                   for parameters in (self.enhance, self.segment, self.detect)}}

    def stages_for(self, *, segments):
        """The stages that run for a case; ``segments`` says whether it has an outline or a target organ."""
        return tuple(stage for stage in self.stages if stage != "segment" or segments)

    def model_path(self):
        """The detector model file these settings use."""
        from ..detect.model_files import default_model_path

        return Path(self.model) if self.model else Path(default_model_path())


def process_case(image, output_folder, settings, *, outline=None, target_organ=None, progress=None, command=None):
    """Run the chain on one case and write its outputs into ``output_folder``.

    Parameters
    ----------
    image : str or Path
        The case's volume file or DICOM series folder.
    output_folder : Path
        An existing folder; files of :data:`~clinicalimaging.pipeline.case_outputs.OUTPUT_NAMES`
        there are replaced.
    settings : ChainSettings
    outline : str or Path, optional
        The lesion's outline (``.mrk.json``).
    target_organ : str, optional
        Segment this organ (a class of the detector, any case) from its detected box
        instead of a lesion from an outline
        (:func:`~clinicalimaging.pipeline.chain.segment_target_organ`); the segment is
        named after the organ, the file keeps its name. Not with ``outline``; needs
        the detection stage.
    progress : callable, optional
        ``progress(fraction, message)``; may raise :class:`~clinicalimaging.Cancelled`.
    command : list of str, optional
        Record the outputs' provenance under this command (a cohort task has no command
        line of its own); default the current recording, if any.

    Returns
    -------
    summary : dict
        What ``summary.json`` holds; ``"target_organ"`` is the organ in the model's
        spelling, or None.
    outputs : dict of str to Path
        What each written output holds to its path.

    Raises
    ------
    InputError
        A wrong input, parameter or output, a target organ the model does not know or
        the volume does not show; nothing is written then.
    """
    from .. import mrml
    from .chain import organ_segment_parameters

    if target_organ is not None:  # the summary and provenance record the parameters the organ is segmented with
        settings = dataclasses.replace(settings, segment=organ_segment_parameters(settings.segment))
    stages = settings.stages_for(segments=outline is not None or target_organ is not None)
    outputs = output_paths(Path(output_folder), stages)
    model = settings.model_path() if "detect" in stages else None
    inputs = [path for path in (image, outline, model) if path is not None]
    mrml.check_outputs(inputs, [(path, output_kind(path)) for path in outputs.values()])
    recording = provenance.recording(command, inputs) if command else contextlib.nullcontext()
    with recording, mrml.case_scene():
        for parameters in (settings.enhance, settings.segment, settings.detect):
            provenance.note_parameters(parameters)
        summary = _run_and_write(image, outline, target_organ, settings, stages, model, outputs, progress)
    return summary, outputs


def _run_and_write(image, outline, target_organ, settings, stages, model, outputs, progress):
    from .. import mrml
    from .chain import run_case

    detector = loaded_detector(model) if model is not None else None
    report(progress, 0.0, "Reading the inputs")
    input_node = mrml.read_volume(image)
    outline_node = mrml.read_markups(outline) if outline is not None else None
    result = run_case(input_node, outline_node=outline_node, target_organ=target_organ, stages=stages,
                      enhance_parameters=settings.enhance, segment_parameters=settings.segment,
                      detect_parameters=settings.detect, detector=detector, organs=settings.organs,
                      progress=subrange(progress, 0.03, 0.9))
    report(progress, 0.9, "Writing the outputs")
    record = provenance.current()
    summary = {"software": f"clinicalimaging {__version__}",
               "command": None if record is None else record["command"],
               "inputs": record["inputs"] if record is not None else
               [{"path": str(path), "sha256": provenance.sha256(path)} for path in (image, outline, model) if path],
               "parameters": {key: value for key, value in settings.to_dict().items() if key.endswith("Parameters")},
               "model": None if model is None else _model_description(model),
               "stages": list(stages), "target_organ": result.target_organ, **result.figures()}
    with mrml.staged_outputs(outputs.values()) as staged:
        write_case_outputs(result, staged, outputs, summary)
    return summary


def loaded_detector(path):
    """The detector of a model file, loaded once per process and file version.

    A cohort's worker process keeps it between cases; a changed file (new
    modification time) is loaded again.

    Parameters
    ----------
    path : Path

    Returns
    -------
    Detector

    Raises
    ------
    InputError
        The file is missing or is not a model (:func:`~clinicalimaging.detect.model_files.load_detector`).
    """
    try:
        modified = Path(path).stat().st_mtime_ns
    except OSError:
        modified = None  # load_detector says what is wrong with the path
    return _detector_of_version(str(path), modified)


@functools.lru_cache(maxsize=2)
def _detector_of_version(path, modified):
    from ..detect.model_files import load_detector

    return load_detector(path)


def _model_description(path):
    from ..detect.model_files import read_metadata

    metadata = read_metadata(path)
    return {"path": str(path), "name": metadata.get("name", Path(path).name), "sha256": provenance.sha256(path)}
