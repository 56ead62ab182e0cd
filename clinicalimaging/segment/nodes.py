"""Node-level lesion segmentation: a volume node and an outline markups node in, a segmentation node out."""

import warnings
from collections import OrderedDict

import numpy as np

from .. import mrml
from ..enhance.core import fractional_enhance
from ..errors import InputError, InputWarning
from ..metrics import dice
from ..progress import subrange
from .core import segment_lesion
from .outline_check import check_outline
from .refine import refine_lesion
from .result import BACKGROUND_SEED, LESION_SEED
from .parameters import SegmentParameters

#: Node attribute holding the parameters (JSON) a segmentation was made with.
PARAMETERS_ATTRIBUTE = "SelfPacedSegment.parameters"
#: Node attribute holding the most important features of the run (comma-separated, most important first).
FEATURES_ATTRIBUTE = "SelfPacedSegment.importantFeatures"
#: How many of them are kept.
IMPORTANT_FEATURES = 5
#: Name and colour (RGB in [0, 1]) of the output segment.
LESION_SEGMENT, LESION_COLOR = "lesion", (0.9, 0.3, 0.2)
#: Segment names of a seed segmentation (Segment Editor scribbles) and the seed label each becomes.
SEED_SEGMENTS = {"lesion": LESION_SEED, "background": BACKGROUND_SEED}
#: Share of the progress taken by the enhancement when the input is enhanced first.
ENHANCE_PROGRESS_SHARE = 0.2
#: Segmentations of this Python session that scribbles can refine (:func:`refine_volume`), the newest last.
KEPT_RESULTS = 4
_results = OrderedDict()


def segment_volume(input_node, outline_node, output_segmentation=None, parameters: SegmentParameters = None, *,
                   enhance_first=False, seeds_node=None, margin_map_node=None, rough_node=None, progress=None):
    """Segment the lesion outlined by a markups node; write the result (and optional maps) to nodes.

    Parameters
    ----------
    input_node : vtkMRMLScalarVolumeNode
        Never modified. A parent transform is not supported (harden it first).
    outline_node : vtkMRMLMarkupsNode
        The outline: a closed curve, open curve or point list with at least 3
        control points on each outlined slice (world coordinates, parent transforms
        applied). It is checked first (:mod:`.outline_check`): points outside the
        volume or off its slices are refused, and an outline hard to tell from its
        surroundings, in the background or whose mirror image (x and y negated: the
        other coordinate system) fits far better gives an
        :class:`~clinicalimaging.errors.InputWarning` once the segmentation is done.
    output_segmentation : vtkMRMLSegmentationNode, optional
        Receives the segment ``"lesion"`` (other segments are kept); a new node named
        ``<input>_segmentation`` is added to the input's scene when omitted.
    parameters : SegmentParameters or dict, optional
        Defaults to ``SegmentParameters()``.
    enhance_first : bool
        Segment a Fractional Enhance copy of the input (default
        :class:`~clinicalimaging.enhance.EnhanceParameters`) instead of the input
        itself; the copy is an array, no node is made. The enhancement takes the first
        :data:`ENHANCE_PROGRESS_SHARE` of the progress.
    seeds_node : vtkMRMLLabelMapVolumeNode or vtkMRMLSegmentationNode, optional
        Scribbles. A label map (any grid; resampled onto the input by nearest
        neighbour): 1 lesion, 2 background, 0 unmarked. A segmentation: segments
        named ``"lesion"`` and ``"background"`` (:func:`seed_labels_from_segmentation`).
        Both classes are needed.
    margin_map_node : vtkMRMLScalarVolumeNode, optional
        Receives the classifier's signed margin (float32; positive = lesion, see
        :attr:`~clinicalimaging.segment.core.SegmentResult.margin`).
    rough_node : vtkMRMLVolumeNode, optional
        Receives the rough level-set segmentation (0/1), e.g. a label map node.
    progress : callable, optional
        ``progress(fraction, message)``; may raise :class:`~clinicalimaging.Cancelled`.

    Returns
    -------
    vtkMRMLSegmentationNode
        The lesion imported exactly on the input's grid (geometry equal, oblique
        and anisotropic included), with the parameters as JSON in the attribute
        :data:`PARAMETERS_ATTRIBUTE`. Nothing is written to any node unless the
        whole computation succeeds, so an error or a cancel leaves every node as
        it was.

    Raises
    ------
    InputError
        Bad nodes, outline or seeds; a volume with too few slices (see
        :data:`~.core.MINIMUM_SLICES`). Messages name slices by the input file's
        slice index (and a DICOM series' instance number,
        :class:`SliceNames`), as do the progress messages. When the
        segmentation fails on an outline that looked misplaced, the message says
        that first.

    Warns
    -----
    InputWarning
        The outline looks misplaced (see ``outline_node``); the result is written.
    """
    if isinstance(parameters, dict):
        parameters = SegmentParameters.from_dict(parameters)
    parameters = parameters or SegmentParameters()
    mrml.check_volume_nodes(input_node, margin_map_node, rough_node)
    if output_segmentation is not None and not output_segmentation.IsA("vtkMRMLSegmentationNode"):
        raise InputError(f"Output '{output_segmentation.GetName()}' is not a segmentation node; choose or create "
                         "a segmentation.")
    if outline_node is None or not outline_node.IsA("vtkMRMLMarkupsNode"):
        raise InputError("No outline: select a markups closed curve or point list drawn around the lesion.")
    if input_node.GetTransformNodeID():
        raise InputError(f"Input volume '{input_node.GetName()}' is under a transform; harden the transform "
                         "(Transforms module) before segmenting.")
    mrml.check_outline_node(outline_node)
    image = mrml.array_from_volume(input_node)
    spacing = mrml.spacing_kji(input_node)
    slice_names = SliceNames(input_node)
    outline = mrml.points_kji(outline_node, input_node)
    findings = check_outline(image, outline, spacing, mrml.ijk_to_ras(input_node), slice_name=slice_names,
                             coordinate_system=outline_node.GetAttribute(mrml.COORDINATE_SYSTEM_ATTRIBUTE))
    seeds = None if seeds_node is None else _seeds_on_grid(seeds_node, input_node, image.shape)
    if enhance_first:
        image = fractional_enhance(image, spacing, progress=subrange(progress, 0.0, ENHANCE_PROGRESS_SHARE)).enhanced
        progress = subrange(progress, ENHANCE_PROGRESS_SHARE, 1.0)
    try:
        result = segment_lesion(image, outline, spacing, parameters, seeds=seeds, slice_name=slice_names,
                                progress=progress)
    except InputError as error:
        if not findings:
            raise
        raise InputError(f"{' '.join(findings)} The segmentation failed: {error}") from None
    output = _write_result(result, input_node, output_segmentation, parameters, margin_map_node, rough_node)
    for message in findings:
        warnings.warn(message, InputWarning, stacklevel=2)
    return output


def refine_volume(input_node, output_segmentation, seeds_node, *, margin_map_node=None, progress=None):
    """Refine a segmentation made by :func:`segment_volume` in this session with scribbles, in about a second.

    The rough surface and the features already computed are re-used
    (:func:`clinicalimaging.segment.refine.refine_lesion`); the output segment
    ``"lesion"`` (and the margin map, if given) are updated.

    Parameters
    ----------
    input_node : vtkMRMLScalarVolumeNode
        The volume the segmentation was made from.
    output_segmentation : vtkMRMLSegmentationNode
        A segmentation :func:`segment_volume` wrote in this Python session (the last
        :data:`KEPT_RESULTS` are kept).
    seeds_node : vtkMRMLLabelMapVolumeNode or vtkMRMLSegmentationNode
        All the scribbles so far, as in :func:`segment_volume`.
    margin_map_node : vtkMRMLScalarVolumeNode, optional
    progress : callable, optional

    Returns
    -------
    vtkMRMLSegmentationNode
        ``output_segmentation``, updated.

    Raises
    ------
    InputError
        No segmentation of this session to refine for these nodes, or bad seeds.
    """
    mrml.check_volume_nodes(input_node, margin_map_node)
    if seeds_node is None:
        raise InputError("Refining needs scribbles: select a segmentation with 'lesion' and 'background' segments.")
    kept = None if output_segmentation is None else _results.get(_result_key(output_segmentation))
    if kept is None or kept[0] != input_node.GetID():
        raise InputError("There is no segmentation of this volume to refine in this session: Apply first, then "
                         "add scribbles and refine.")
    seeds = _seeds_on_grid(seeds_node, input_node, mrml.array_from_volume(input_node).shape)
    result = refine_lesion(kept[1], seeds, progress=progress)
    return _write_result(result, input_node, output_segmentation, result.state.parameters, margin_map_node, None)


class SliceNames:
    """The names of a volume node's slices as the user sees them in the input file and in every output.

    A left-handed file is read with its k axis reversed and its outputs are written
    back in the file's own voxel order, so messages name the file's slice index
    (:func:`clinicalimaging.mrml.file_slice_index`), never the node's internal ``k``.
    The files of a DICOM series are named and numbered freely, so there the instance
    number (0020,0013) of the slice is named as well.

    Call it with a slice index ``k`` of the node's array: ``names(k)`` is
    ``"slice 16"`` or ``"slice 16 (DICOM instance 9)"``; it is the ``slice_name``
    argument of the array-level functions (e.g. :func:`~.core.segment_lesion`).

    Parameters
    ----------
    volume_node : vtkMRMLVolumeNode
        The input volume; the DICOM headers are read on the first name that needs them.
    """

    def __init__(self, volume_node):
        self._node = volume_node
        self._instances = None
        self._instances_read = False

    def __call__(self, k):
        instance = self.instance(k)
        return f"slice {self.file_index(k)}" + ("" if instance is None else f" (DICOM instance {instance})")

    def file_index(self, k):
        """The slice index in the volume's file of slice ``k`` of the node's array."""
        return mrml.file_slice_index(self._node, int(k))

    def instance(self, k):
        """The DICOM instance number of slice ``k``; None for a volume not read from a DICOM series."""
        if not self._instances_read:
            self._instances, self._instances_read = mrml.slice_instance_numbers(self._node), True
        return None if self._instances is None else self._instances[int(k)]

    def span(self, ks):
        """``"slice 12 (file slice indices)"`` or ``"slices 12 to 17 (file slice indices)"`` for the slices ``ks``.

        For a DICOM series the first and last slice's instance numbers follow:
        ``"slices 12 to 17 (file slice indices; DICOM instances 13 to 18)"``.
        """
        ks = sorted(ks, key=self.file_index)
        first, last = ks[0], ks[-1]
        indices = f"slice {self.file_index(first)}" if self.file_index(first) == self.file_index(last) \
            else f"slices {self.file_index(first)} to {self.file_index(last)}"
        if self.instance(first) is None:
            return f"{indices} (file slice indices)"
        instances = f"instance {self.instance(first)}" if first == last \
            else f"instances {self.instance(first)} to {self.instance(last)}"
        return f"{indices} (file slice indices; DICOM {instances})"

    def listing(self, ks):
        """``"12, 16 (file slice indices)"`` for the slices ``ks``, DICOM instance numbers added for a series."""
        ks = sorted(set(int(k) for k in ks), key=self.file_index)
        text = ", ".join(str(self.file_index(k)) for k in ks)
        if self.instance(ks[0]) is None:
            return f"{text} (file slice indices)"
        return f"{text} (file slice indices; DICOM instances {', '.join(str(self.instance(k)) for k in ks)})"


def _write_result(result, input_node, output_segmentation, parameters, margin_map_node, rough_node):
    """The lesion and the optional maps into their nodes; the result kept for :func:`refine_volume`."""
    output = mrml.segmentation_from_mask(result.mask, input_node, name=f"{input_node.GetName()}_segmentation",
                                         segment_name=LESION_SEGMENT, color=LESION_COLOR, node=output_segmentation)
    output.SetAttribute(PARAMETERS_ATTRIBUTE, parameters.to_json())
    output.SetAttribute(FEATURES_ATTRIBUTE, ", ".join(name for name, _ in result.feature_importance[:IMPORTANT_FEATURES]))
    for node, array in ((margin_map_node, result.margin), (rough_node, result.rough_mask)):
        if node is not None:
            mrml.new_volume_like(input_node, array, node=node)
    key = _result_key(output)
    _results.pop(key, None)
    _results[key] = (input_node.GetID(), result)
    while len(_results) > KEPT_RESULTS:
        _results.popitem(last=False)
    return output


def _result_key(segmentation_node):
    return id(segmentation_node.GetScene()), segmentation_node.GetID()


def seed_labels_from_segmentation(seeds_segmentation, input_node):
    """The scribbles of a segmentation as seed labels on the input volume's grid.

    Parameters
    ----------
    seeds_segmentation : vtkMRMLSegmentationNode
        With segments named ``"lesion"`` and ``"background"`` (Segment Editor
        scribbles); other segments are ignored.
    input_node : vtkMRMLVolumeNode
        Gives the grid.

    Returns
    -------
    ndarray of uint8, shape (K, J, I) of the input
        :data:`~.result.LESION_SEED` (1) in the lesion scribbles,
        :data:`~.result.BACKGROUND_SEED` (2) in the background ones, 0 elsewhere.

    Raises
    ------
    InputError
        A segment name is missing, or the two scribbles overlap.
    """
    segmentation = seeds_segmentation.GetSegmentation()
    missing = [name for name in SEED_SEGMENTS if not segmentation.GetSegmentIdBySegmentName(name)]
    if missing:
        raise InputError(f"Seed segmentation '{seeds_segmentation.GetName()}' has no segment named "
                         f"{' or '.join(repr(name) for name in missing)}. Name the scribble segments 'lesion' and "
                         "'background' in the Segment Editor, or give no seeds.")
    masks = {name: mrml.segment_mask(seeds_segmentation, name, input_node, allow_empty=True) for name in SEED_SEGMENTS}
    if (masks["lesion"] & masks["background"]).any():
        raise InputError(f"The 'lesion' and 'background' scribbles of '{seeds_segmentation.GetName()}' overlap; "
                         "erase the overlap in the Segment Editor.")
    return sum(masks[name] * np.uint8(label) for name, label in SEED_SEGMENTS.items()).astype(np.uint8)


def segmentation_results_table(segmentation_node, input_node, *, reference_segmentation=None,
                               reference_segment=None, table_node=None):
    """A one-row table: volume (mL), voxels, mean intensity and, given a reference, Dice of the segment "lesion".

    Parameters
    ----------
    segmentation_node : vtkMRMLSegmentationNode
        Holds the segment :data:`LESION_SEGMENT`.
    input_node : vtkMRMLScalarVolumeNode
        The segmented volume (grid, spacing, intensities).
    reference_segmentation : vtkMRMLSegmentationNode, optional
        Holds the reference segment for Dice.
    reference_segment : str, optional
        Id or name of the reference segment; needed with a reference segmentation.
    table_node : vtkMRMLTableNode, optional
        Receives the table (its content is replaced); a new node named
        ``<segmentation> results`` is added to the segmentation's scene when omitted.

    Returns
    -------
    vtkMRMLTableNode
        Columns ``segmentation``, ``segment`` and those of
        :func:`segmentation_statistics`.

    Raises
    ------
    InputError
        A reference segmentation without a reference segment, or an unknown segment.
    """
    reference_mask = None
    if reference_segmentation is not None:
        if not reference_segment:
            raise InputError(f"No reference segment: choose the segment of '{reference_segmentation.GetName()}' "
                             "to compare with, or select no reference segmentation.")
        reference_mask = mrml.segment_mask(reference_segmentation, reference_segment, input_node)
    statistics = segmentation_statistics(segmentation_node, input_node, reference_mask=reference_mask)
    row = {"segmentation": segmentation_node.GetName(), "segment": LESION_SEGMENT, **statistics}
    return mrml.table_from_rows([row], name=f"{segmentation_node.GetName()} results",
                                scene=segmentation_node.GetScene(), node=table_node)


def segmentation_statistics(segmentation_node, input_node, *, reference_mask=None, segment=LESION_SEGMENT):
    """Volume, mean intensity and (given a reference) Dice of a segment on the input volume's grid.

    Parameters
    ----------
    segmentation_node : vtkMRMLSegmentationNode
    input_node : vtkMRMLScalarVolumeNode
        The segmented volume (its grid, spacing and intensities).
    reference_mask : (K, J, I) array_like, optional
        A reference segmentation on the input's grid, non-zero inside.
    segment : str
        Segment name or id.

    Returns
    -------
    dict
        ``volume_ml`` (voxel count times voxel volume, mL), ``mean_intensity``
        (input units; NaN for an empty segment), ``voxels``, and ``dice`` when a
        reference is given; ``important_features`` (the run's most important
        features, from the node attribute :data:`FEATURES_ATTRIBUTE`) when present.
    """
    mask = mrml.segment_mask(segmentation_node, segment, input_node, allow_empty=True).astype(bool)
    image = mrml.array_from_volume(input_node)
    statistics = {"voxels": int(mask.sum()),
                  "volume_ml": float(mask.sum() * np.prod(mrml.spacing_kji(input_node)) / 1000.0),
                  "mean_intensity": float(image[mask].mean()) if mask.any() else float("nan")}
    if reference_mask is not None:
        statistics["dice"] = dice(mask, reference_mask)
    if segmentation_node.GetAttribute(FEATURES_ATTRIBUTE):
        statistics["important_features"] = segmentation_node.GetAttribute(FEATURES_ATTRIBUTE)
    return statistics


def _seeds_on_grid(seeds_node, input_node, shape):
    """The seed labels on the input grid, from a segmentation or a label map (see :func:`segment_volume`)."""
    if seeds_node.IsA("vtkMRMLSegmentationNode"):
        return seed_labels_from_segmentation(seeds_node, input_node)
    if seeds_node.GetImageData() is None:
        raise InputError(f"Seed label map '{seeds_node.GetName()}' holds no image; select a label map.")
    seeds = np.zeros(shape, np.int32)
    for value in np.unique(mrml.array_from_volume(seeds_node)):
        if value == 0:
            continue
        try:
            seeds[mrml.label_mask_like(seeds_node, input_node, int(value)) != 0] = int(value)
        except InputError:  # no voxel of this value falls inside the input volume
            continue
    return seeds  # segment_lesion checks the values and that both classes are present
