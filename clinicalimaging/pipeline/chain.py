"""The per-case chain at node level: enhance, find the organs, segment the lesion or an organ, measure.

One case is one volume node in one MRML scene. Every stage is the module's own
node-level function (:func:`~clinicalimaging.enhance.nodes.enhance_volume`,
:func:`~clinicalimaging.detect.nodes.find_organ_boxes`,
:func:`~clinicalimaging.segment.nodes.segment_volume`), so the chain gives exactly
what each module gives alone. The lesion is segmented on the original volume, as
``clinicalimaging segment`` does; the enhanced volume is for reading and for the
contrast-to-noise figures.

Instead of a lesion from its outline, a target organ can be segmented from its
detected box (:func:`segment_target_organ`). The box says where the organ is and how
large, not where its border runs, and the segmentation takes its outline for the
structure's border (its level set's statistics, the through-plane rule and the
background competition do). An ellipse in the box's middle given as the outline makes
it segment little more than that ellipse (Dice 0.002 for the test phantom's liver);
outline points on the organ's cross-sections, found inside the box on its central and
quartile slices (:func:`organ_seed_points`), give it the input it is built for (Dice
0.96 from the test detector's box).
"""

import dataclasses
import difflib
import itertools
import time
from typing import Optional

import numpy as np
from scipy import ndimage

from .. import mrml
from ..enhance.order_map import holds_air_in_hu
from ..enhance.parameters import EnhanceParameters
from ..detect.parameters import DetectParameters
from ..errors import InputError
from ..measurements import lesion_measurements
from ..metrics import contrast_to_noise_ratio, lesion_regions, measured_box
from ..progress import report, subrange
from ..segment.parameters import SegmentParameters

#: The chain's stages, in order; each can be switched off.
STAGES = ("enhance", "detect", "segment")
#: A target organ's segmentation is clipped to its detected box grown by this margin (mm) on every side: the
#: detector's boxes lie within a few mm of the organ's extent (4 mm at most on the test phantoms).
ORGAN_BOX_MARGIN_MM = 5.0
#: The core of the organ's cross-section on a seed slice: the ellipse inscribed in this central share of the box's
#: in-plane extent, which a compact organ filling its box covers.
ORGAN_CORE_SHARE = 0.55
#: Seed slices: the box's central slice and the slices this share of its half-height above and below it (the
#: quartiles of its height), so that the through-plane rule of the segmentation follows the organ's taper.
ORGAN_SEED_SPREAD = 0.5
#: Outline points per seed slice, one every 15 degrees around the cross-section.
ORGAN_OUTLINE_POINTS = 24
#: Gaussian smoothing (px) of a seed slice before its competition, which sums intensity steps: noise adds to them.
ORGAN_SEED_SMOOTHING_PX = 1.0


@dataclasses.dataclass
class CaseResult:
    """The nodes and figures of one case.

    Attributes
    ----------
    input_node : vtkMRMLScalarVolumeNode
    enhanced_node, order_map_node : vtkMRMLScalarVolumeNode or None
        Without the enhancement stage, None.
    segmentation_node : vtkMRMLSegmentationNode or None
        Segment ``"lesion"``, or for a target organ a segment named after the organ;
        without an outline or target organ, or without the segmentation stage, None.
    lesion_mask : ndarray of uint8, shape (K, J, I), or None
        The segmented lesion, or the target organ.
    target_organ : str or None
        The target organ, in the model's spelling.
    seed_node : vtkMRMLMarkupsNode or None
        For a target organ, the outline points it was segmented from (:func:`organ_seed_points`).
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
    target_organ: Optional[str] = None
    seed_node: Optional[object] = None

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


def run_case(input_node, *, outline_node=None, target_organ=None, stages=STAGES, enhance_parameters=None,
             segment_parameters=None, detect_parameters=None, detector=None, organs=None, progress=None):
    """Run the chain on one volume node.

    Parameters
    ----------
    input_node : vtkMRMLScalarVolumeNode
        The case; never modified.
    outline_node : vtkMRMLMarkupsNode, optional
        The lesion's outline; without it (and without ``target_organ``) nothing is segmented.
    target_organ : str, optional
        Segment this organ, a class of the detector (any case), from its detected box
        instead of a lesion from an outline (:func:`segment_target_organ`); it is
        detected even when ``organs`` leaves it out. Needs the ``"detect"`` and
        ``"segment"`` stages.
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
        An unknown stage, detection without a detector, a target organ with an
        outline, without detection or segmentation, unknown to the detector or not
        found in the volume, or any stage's input error. Every check on the
        arguments comes before the first stage runs.
    """
    stages = tuple(stages)
    unknown = sorted(set(stages) - set(STAGES))
    if unknown:
        raise InputError(f"Unknown stage(s): {', '.join(unknown)}; the stages are {', '.join(STAGES)}.")
    if "detect" in stages and detector is None:
        raise InputError("Organ detection needs a detector: load one with load_detector(path), or leave out the "
                         "'detect' stage.")
    if target_organ is not None:
        target_organ = _checked_target_organ(target_organ, outline_node, stages, detector)
        organs = _with_organ(organs, target_organ, detector.class_names)
    mrml.check_volume_nodes(input_node)
    minimum = float(mrml.voxels_of_volume(input_node).min())
    result = CaseResult(input_node=input_node, unit="HU" if holds_air_in_hu(minimum) else "",
                        target_organ=target_organ)
    scene = input_node.GetScene()
    shares = _progress_shares(stages, outline_node is not None or target_organ is not None)
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
    if "segment" in stages and target_organ is not None:
        started = time.perf_counter()
        box = _target_box(result.boxes, target_organ, input_node, detect_parameters)
        result.segmentation_node, result.lesion_mask, result.seed_node = segment_target_organ(
            input_node, box, segment_parameters, progress=subrange(progress, done, done + shares["segment"]))
        result.seconds["segment"] = time.perf_counter() - started
    elif "segment" in stages and outline_node is not None:
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


def _checked_target_organ(target_organ, outline_node, stages, detector):
    """The target organ in the detector's spelling, after the checks of :func:`run_case`."""
    if outline_node is not None:
        raise InputError("Give either a lesion outline or a target organ, not both: the outline segments the "
                         "lesion, the target organ segments the whole organ from its detected box.")
    if "detect" not in stages:
        raise InputError(f"Target organ '{target_organ}' is segmented from its detected box, so it needs the organ "
                         "detection: leave detection on (drop --no-detect), or segment a lesion from its outline.")
    if "segment" not in stages:
        raise InputError(f"Target organ '{target_organ}' needs the 'segment' stage; add it, or give no target organ.")
    return target_organ_name(target_organ, detector.class_names)


def target_organ_name(name, class_names):
    """The model's spelling of an organ name given in any case.

    Parameters
    ----------
    name : str
        E.g. ``"Liver"``.
    class_names : sequence of str
        The detector's organs (:attr:`~clinicalimaging.detect.model_files.Detector.class_names`).

    Returns
    -------
    str
        The class name that equals ``name`` ignoring case.

    Raises
    ------
    InputError
        No class matches; the message lists the model's organs (and the closest name).
    """
    folded = {organ.casefold(): organ for organ in class_names}
    given = str(name).strip().casefold()
    if given in folded:
        return folded[given]
    close = difflib.get_close_matches(given, list(folded), n=1, cutoff=0.5)
    hint = f" Did you mean '{folded[close[0]]}'?" if close else ""
    raise InputError(f"Unknown target organ '{name}'.{hint} The model's organs (in any case): "
                     f"{', '.join(class_names)}.")


def _with_organ(organs, organ, class_names):
    """The organs to detect: those asked for (default all), and the target organ among them."""
    from ..detect.organs import select_organs

    wanted = select_organs(organs, class_names)
    return wanted if organ in wanted else [*wanted, organ]


def _target_box(boxes, organ, input_node, detect_parameters):
    """The detected box of the target organ (the best-scoring one); an error when the detector found none."""
    found = [box for box in boxes if box.organ == organ]
    if found:
        return max(found, key=lambda box: box.score)
    threshold = (detect_parameters or DetectParameters()).score_threshold
    others = ", ".join(box.organ for box in boxes) or "no organ at all"
    raise InputError(f"The detector found no {organ} in '{input_node.GetName()}' (score threshold {threshold:g}; "
                     f"it found {others}), so there is nothing to segment. Check that the volume holds the "
                     "organ, lower --score-threshold, or segment a lesion from its outline instead.")


def segment_target_organ(input_node, box, parameters=None, *, margin_mm=ORGAN_BOX_MARGIN_MM, progress=None):
    """Segment an organ from its detected box with the lesion segmentation, without an outline.

    The outline points come from the box (:func:`organ_seed_points`) and go to
    :func:`~clinicalimaging.segment.nodes.segment_volume` as a point-list node, which
    stays in the scene (``"<organ> seed outline"``) to show what the segmentation
    started from. The rough step's speed ``"auto"`` takes the region model
    (:func:`organ_segment_parameters`). The result is clipped to the box grown by
    ``margin_mm``; its segment is named and coloured after the organ.

    Parameters
    ----------
    input_node : vtkMRMLScalarVolumeNode
        Never modified.
    box : OrganBox
        The organ's detected box (RAS mm), e.g. of
        :func:`~clinicalimaging.detect.nodes.find_organ_boxes` on ``input_node``.
    parameters : SegmentParameters, optional
    margin_mm : float
        How far the segmentation may reach beyond the box on every side.
    progress : callable, optional

    Returns
    -------
    segmentation_node : vtkMRMLSegmentationNode
        One segment named ``box.organ``.
    mask : ndarray of uint8, shape (K, J, I)
        The segment on the input's grid.
    seed_node : vtkMRMLMarkupsFiducialNode
        The outline points.

    Raises
    ------
    InputError
        The box misses the volume, or the segmentation inside the box is empty; the
        input errors of :func:`~clinicalimaging.segment.nodes.segment_volume`.
    """
    from ..detect.organs import organ_colour
    from ..segment.nodes import LESION_SEGMENT, segment_volume

    image, ijk_to_ras = mrml.array_from_volume(input_node), mrml.ijk_to_ras(input_node)
    points = organ_seed_points(image, ijk_to_ras, box, margin_mm=margin_mm)
    seed_node = mrml.markups_from_points(points, input_node, name=f"{box.organ} seed outline", closed=False)
    segmentation = segment_volume(input_node, seed_node, None, organ_segment_parameters(parameters),
                                  progress=progress)
    segmented = mrml.segment_mask(segmentation, LESION_SEGMENT, input_node, allow_empty=True).astype(bool)
    block, inside = _box_voxels(ijk_to_ras, image.shape, box, margin_mm)
    mask = np.zeros(image.shape, np.uint8)
    mask[block] = segmented[block] & inside
    if not mask.any():
        raise InputError(f"The segmentation of {box.organ} inside its detected box came out empty; check the box "
                         "(organs.csv) and the volume, or segment from an outline instead.")
    if np.count_nonzero(mask) != np.count_nonzero(segmented):
        mrml.segmentation_from_mask(mask, input_node, segment_name=LESION_SEGMENT, node=segmentation)
    segments = segmentation.GetSegmentation()
    segment = segments.GetSegment(segments.GetSegmentIdBySegmentName(LESION_SEGMENT))
    segment.SetName(box.organ)
    segment.SetColor(*organ_colour(box.organ))
    return segmentation, mask, seed_node


def organ_segment_parameters(parameters=None):
    """The segmentation's parameters for an organ: the rough step's ``"auto"`` speed becomes the region model.

    An organ is a structure of several tissues (parenchyma, vessels, any lesion in
    it), what the region model is for; the threshold speed, which ``"auto"`` takes
    when most of the outline's voxels fall in one intensity range, is widened by a
    lesion inside the organ's cross-section and leaks into tissue of the body wall
    (test phantom's liver: Dice about 0.8 against 0.96). An explicit ``"threshold"``
    is kept.

    Parameters
    ----------
    parameters : SegmentParameters, optional
        Default ``SegmentParameters()``.

    Returns
    -------
    SegmentParameters
    """
    parameters = parameters or SegmentParameters()
    if parameters.rough_model != "auto":
        return parameters
    return dataclasses.replace(parameters, rough_model="region")


def organ_seed_points(image, ijk_to_ras, box, *, margin_mm=ORGAN_BOX_MARGIN_MM):
    """Outline points of an organ's cross-sections inside its detected box, as a reader would click them.

    The segmentation takes its outline for the structure's border on the outlined
    slices, so the points must lie on the organ's border, not merely inside it. On
    the box's central slice (the volume's slices, axial on an axial scan) and on the
    slices at the quartiles of its height (:data:`ORGAN_SEED_SPREAD`):

    1. the core: the ellipse inscribed in the central :data:`ORGAN_CORE_SHARE` of the
       box's cross-section, which a compact organ filling its box covers;
    2. a seeded competition (:func:`~clinicalimaging.segment.competition.seeded_competition`,
       "Grow from seeds" as a shortest path over intensity steps) on the slice smoothed
       by :data:`ORGAN_SEED_SMOOTHING_PX`, between the core and the pixels just
       outside the box grown by ``margin_mm``: the organ's cross-section is what the
       core reaches more cheaply, its border where the intensity steps;
    3. an opening (thin bridges to neighbours cut), holes filled (a lesion in the
       organ belongs to it), the parts that hold the core;
    4. :data:`ORGAN_OUTLINE_POINTS` points where rays from its centroid leave it
       (:func:`~clinicalimaging.segment.evaluation.simulate_outline`).

    Parameters
    ----------
    image : (K, J, I) ndarray
    ijk_to_ras : (4, 4) array_like
        Voxel indices (i, j, k, 1) to RAS mm; any orientation.
    box : OrganBox
        ``organ``, ``ras_min`` and ``ras_max`` (RAS mm, aligned with the RAS axes).
    margin_mm : float
        The box grows by this on every side before the competition's background.

    Returns
    -------
    ndarray of float64, shape (N, 3)
        Continuous voxel coordinates (k, j, i), slice by slice, each slice's points in
        drawing order.

    Raises
    ------
    InputError
        The box holds no voxel of the volume.
    """
    from ..segment.evaluation import simulate_outline

    ijk_to_ras = np.asarray(ijk_to_ras, dtype=np.float64)
    block, inside, coordinates = _box_voxels(ijk_to_ras, np.shape(image), box, margin_mm, normalised=True)
    through = int(np.argmax(np.abs(ijk_to_ras[:3, 2])))  # the RAS axis closest to the volume's slice axis K
    in_plane = [axis for axis in range(3) if axis != through]
    core = (np.linalg.norm(coordinates[..., in_plane], axis=-1) <= ORGAN_CORE_SHARE) \
        & (np.abs(coordinates[..., through]) <= 1.0)
    cored = np.flatnonzero(core.any(axis=(1, 2)))
    if not cored.size:
        raise InputError(f"The detected box of {box.organ} holds no voxel of the volume; check the box "
                         "(organs.csv) against the volume.")
    centre, reach = (cored[0] + cored[-1]) / 2, ORGAN_SEED_SPREAD * (cored[-1] - cored[0]) / 2
    slices = sorted({int(round(k)) for k in (centre - reach, centre, centre + reach)} & set(cored.tolist()))
    points = []
    for k in slices:
        section = _cross_section(image[block][k], core[k], inside[k])
        outline = simulate_outline(section, count=ORGAN_OUTLINE_POINTS)
        outline[:, 0] = k
        points.append(outline)
    return np.concatenate(points) + [piece.start for piece in block]


def _cross_section(plane, core, inside):
    """The organ's region on one slice: the competition of step 2 of :func:`organ_seed_points`, cleaned (step 3)."""
    from ..segment.competition import seeded_competition
    from ..segment.result import BACKGROUND_SEED, LESION_SEED

    smoothed = ndimage.gaussian_filter(np.asarray(plane, np.float32), ORGAN_SEED_SMOOTHING_PX)
    seeds = np.pad(np.where(inside, 0, BACKGROUND_SEED).astype(np.uint8), 1, constant_values=BACKGROUND_SEED)
    seeds[1:-1, 1:-1][core] = LESION_SEED
    won = seeded_competition(np.pad(smoothed, 1, mode="edge")[np.newaxis], seeds[np.newaxis])[0, 1:-1, 1:-1]
    region = ndimage.binary_fill_holes(ndimage.binary_opening((won == LESION_SEED) & inside) | core)
    parts, _ = ndimage.label(region)
    return np.isin(parts, np.unique(parts[core]))


def _box_voxels(ijk_to_ras, shape, box, margin_mm, *, normalised=False):
    """The voxels of a RAS box grown by ``margin_mm``.

    Returns
    -------
    block : tuple of 3 slices
        The voxels that bound the grown box (clipped to the volume).
    inside : ndarray of bool, the block's shape
        Voxels whose centre lies in the grown box.
    coordinates : ndarray of float, the block's shape + (3,)
        With ``normalised``: each voxel centre's RAS position relative to the box,
        -1 and 1 on its faces (without the margin).
    """
    ijk_to_ras = np.asarray(ijk_to_ras, dtype=np.float64)
    low = np.asarray(box.ras_min, dtype=np.float64) - margin_mm
    high = np.asarray(box.ras_max, dtype=np.float64) + margin_mm
    corners = np.array(list(itertools.product(*zip(low, high))))
    kji = (np.linalg.inv(ijk_to_ras) @ np.c_[corners, np.ones(len(corners))].T)[2::-1].T
    start = np.clip(np.floor(kji.min(axis=0)).astype(int), 0, shape)
    stop = np.clip(np.ceil(kji.max(axis=0)).astype(int) + 1, start, shape)
    block = tuple(slice(int(begin), int(end)) for begin, end in zip(start, stop))
    k, j, i = np.meshgrid(*(np.arange(piece.start, piece.stop) for piece in block), indexing="ij", sparse=True)
    ras = sum(index[..., np.newaxis] * ijk_to_ras[:3, column] for column, index in enumerate((i, j, k))) \
        + ijk_to_ras[:3, 3]
    inside = np.all((ras >= low) & (ras <= high), axis=-1)
    if not normalised:
        return block, inside
    centre = (np.asarray(box.ras_min) + np.asarray(box.ras_max)) / 2
    half = np.maximum((np.asarray(box.ras_max) - np.asarray(box.ras_min)) / 2, 1e-6)
    return block, inside, (ras - centre) / half


#: Rough shares of a chain's time, for the progress bar.
_WEIGHTS = {"enhance": 1.0, "detect": 2.0, "segment": 2.0}


def _progress_shares(stages, segments):
    running = [stage for stage in stages if stage != "segment" or segments]
    total = sum(_WEIGHTS[stage] for stage in running) or 1.0
    return {stage: _WEIGHTS[stage] / total if stage in running else 0.0 for stage in STAGES}
