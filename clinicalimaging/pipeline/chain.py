"""The per-case chain at node level: enhance, find the organs, segment the lesion, measure.

One case is one volume node in one MRML scene. Every stage is the module's own
node-level function (:func:`~clinicalimaging.enhance.nodes.enhance_volume`,
:func:`~clinicalimaging.detect.nodes.find_organ_boxes`,
:func:`~clinicalimaging.segment.nodes.segment_volume`), so the chain gives exactly
what each module gives alone. The lesion is segmented on the original volume, as
``clinicalimaging segment`` does; the enhanced volume is for reading and for the
contrast-to-noise figures.
"""

import dataclasses
import time
from typing import Optional

import numpy as np

from .. import mrml
from ..enhance.order_map import holds_air_in_hu
from ..enhance.parameters import EnhanceParameters
from ..errors import InputError
from ..measurements import lesion_measurements
from ..metrics import contrast_to_noise_ratio, lesion_regions, measured_box
from ..progress import report, subrange
from ..segment.parameters import SegmentParameters

#: The chain's stages, in order; each can be switched off.
STAGES = ("enhance", "detect", "segment")


@dataclasses.dataclass
class CaseResult:
    """The nodes and figures of one case.

    Attributes
    ----------
    input_node : vtkMRMLScalarVolumeNode
    enhanced_node, order_map_node : vtkMRMLScalarVolumeNode or None
        Without the enhancement stage, None.
    segmentation_node : vtkMRMLSegmentationNode or None
        Segment ``"lesion"``; without an outline or the segmentation stage, None.
    lesion_mask : ndarray of uint8, shape (K, J, I), or None
    boxes : list of OrganBox
        Organs found (RAS mm); empty without the detection stage.
    roi_nodes : list of vtkMRMLMarkupsROINode
    device : str or None
        What ran the detector.
    seconds : dict of str to float
        Wall time of each stage that ran.
    unit : str
        The voxels' unit: ``"HU"`` for a CT in Hounsfield units, else ``""``.
    """

    input_node: object
    enhanced_node: Optional[object] = None
    order_map_node: Optional[object] = None
    segmentation_node: Optional[object] = None
    lesion_mask: Optional[np.ndarray] = None
    boxes: list = dataclasses.field(default_factory=list)
    roi_nodes: list = dataclasses.field(default_factory=list)
    device: Optional[str] = None
    seconds: dict = dataclasses.field(default_factory=dict)
    unit: str = ""

    def figures(self):
        """The case's figures as a JSON-serialisable dict: lesion measurements, CNR, organs, timings."""
        figures = {"seconds": {stage: round(value, 3) for stage, value in self.seconds.items()},
                   "device": self.device,
                   "organs": [{"organ": box.organ, "score": round(float(box.score), 4),
                               "ras_min_mm": [round(float(v), 2) for v in box.ras_min],
                               "ras_max_mm": [round(float(v), 2) for v in box.ras_max]} for box in self.boxes],
                   "lesion": None, "cnr": None}
        if self.lesion_mask is None or not self.lesion_mask.any():
            return figures
        image = mrml.voxels_of_volume(self.input_node)
        figures["lesion"] = lesion_measurements(image, self.lesion_mask, mrml.ijk_to_ras(self.input_node),
                                                unit=self.unit)
        figures["cnr"] = self._contrast_to_noise()
        return figures

    def _contrast_to_noise(self):
        """CNR of the lesion against its background ring, original and enhanced (the paper's eq. 5).

        Measured on the lesion's measured box, which gives the whole image's figures.
        """
        box = measured_box(self.lesion_mask)
        regions = lesion_regions(self.lesion_mask[box], mrml.spacing_kji(self.input_node))  # one ring for both

        def cnr(node):
            return float(contrast_to_noise_ratio(mrml.voxels_of_volume(node)[box], regions.lesion, regions.background))

        original = cnr(self.input_node)
        result = {"original": original}
        if self.enhanced_node is not None:
            enhanced = cnr(self.enhanced_node)
            result.update(enhanced=enhanced, ratio=enhanced / original if original else None)
        return result


def run_case(input_node, *, outline_node=None, stages=STAGES, enhance_parameters=None, segment_parameters=None,
             detect_parameters=None, detector=None, organs=None, progress=None):
    """Run the chain on one volume node.

    Parameters
    ----------
    input_node : vtkMRMLScalarVolumeNode
        The case; never modified.
    outline_node : vtkMRMLMarkupsNode, optional
        The lesion's outline; without it the lesion is not segmented.
    stages : iterable of str
        Which of :data:`STAGES` run.
    enhance_parameters, segment_parameters, detect_parameters : Parameters, optional
        Each stage's parameters; defaults when omitted.
    detector : Detector, optional
        A loaded detector (:func:`~clinicalimaging.detect.model_files.load_detector`);
        needed when ``"detect"`` runs, so that a cohort loads it once.
    organs : str or list of str, optional
        The organs to report; default every organ of the detector.
    progress : callable, optional
        ``progress(fraction, message)``; may raise :class:`~clinicalimaging.Cancelled`.

    Returns
    -------
    CaseResult

    Raises
    ------
    InputError
        An unknown stage, detection without a detector, or any stage's input error.
    """
    stages = tuple(stages)
    unknown = sorted(set(stages) - set(STAGES))
    if unknown:
        raise InputError(f"Unknown stage(s): {', '.join(unknown)}; the stages are {', '.join(STAGES)}.")
    if "detect" in stages and detector is None:
        raise InputError("Organ detection needs a detector: load one with load_detector(path), or leave out the "
                         "'detect' stage.")
    mrml.check_volume_nodes(input_node)
    minimum = float(mrml.voxels_of_volume(input_node).min())
    result = CaseResult(input_node=input_node, unit="HU" if holds_air_in_hu(minimum) else "")
    scene = input_node.GetScene()
    shares = _progress_shares(stages, outline_node is not None)
    done = 0.0
    if "enhance" in stages:
        from ..enhance.nodes import enhance_volume

        started = time.perf_counter()
        result.order_map_node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode",
                                                        scene.GenerateUniqueName(f"{input_node.GetName()}_order_map"))
        result.enhanced_node = enhance_volume(input_node, None, enhance_parameters or EnhanceParameters(),
                                              order_map_node=result.order_map_node,
                                              progress=subrange(progress, done, done + shares["enhance"]))
        result.seconds["enhance"] = time.perf_counter() - started
        done += shares["enhance"]
    if "detect" in stages:
        from ..detect.nodes import find_organ_boxes
        from ..detect.nodes_output import roi_nodes_from_boxes

        started = time.perf_counter()
        result.boxes, result.device = find_organ_boxes(input_node, model=detector, organs=organs,
                                                       parameters=detect_parameters,
                                                       progress=subrange(progress, done, done + shares["detect"]))
        result.roi_nodes = roi_nodes_from_boxes(result.boxes, scene=scene)
        result.seconds["detect"] = time.perf_counter() - started
        done += shares["detect"]
    if "segment" in stages and outline_node is not None:
        from ..segment.nodes import LESION_SEGMENT, segment_volume

        started = time.perf_counter()
        result.segmentation_node = segment_volume(
            input_node, outline_node, None, segment_parameters or SegmentParameters(),
            progress=subrange(progress, done, done + shares["segment"]))
        result.lesion_mask = mrml.segment_mask(result.segmentation_node, LESION_SEGMENT, input_node,
                                               allow_empty=True)
        result.seconds["segment"] = time.perf_counter() - started
    report(progress, 1.0, "Chain done")
    return result


#: Rough shares of a chain's time, for the progress bar.
_WEIGHTS = {"enhance": 1.0, "detect": 2.0, "segment": 2.0}


def _progress_shares(stages, segments):
    running = [stage for stage in stages if stage != "segment" or segments]
    total = sum(_WEIGHTS[stage] for stage in running) or 1.0
    return {stage: _WEIGHTS[stage] / total if stage in running else 0.0 for stage in STAGES}
