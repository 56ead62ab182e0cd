"""Node-level lesion segmentation: a volume node and an outline markups node in, a segmentation node out."""

import numpy as np

from .. import mrml
from ..errors import InputError
from ..metrics import dice
from .core import segment_lesion
from .parameters import SegmentParameters

#: Node attribute holding the parameters (JSON) a segmentation was made with.
PARAMETERS_ATTRIBUTE = "SelfPacedSegment.parameters"
#: Node attribute holding the most important features of the run (comma-separated, most important first).
FEATURES_ATTRIBUTE = "SelfPacedSegment.importantFeatures"
#: How many of them are kept.
IMPORTANT_FEATURES = 5
#: Name and colour (RGB in [0, 1]) of the output segment.
LESION_SEGMENT, LESION_COLOR = "lesion", (0.9, 0.3, 0.2)
#: The level set smooths with a recursive Gaussian, which needs 4 samples along every axis.


def segment_volume(input_node, points_node, output_segmentation=None, parameters: SegmentParameters = None, *,
                   seeds_node=None, probability_node=None, rough_node=None, progress=None):
    """Segment the lesion outlined by a markups node; write the result (and optional maps) to nodes.

    Parameters
    ----------
    input_node : vtkMRMLScalarVolumeNode
        Never modified. A parent transform is not supported (harden it first).
    points_node : vtkMRMLMarkupsNode
        The outline: a closed curve or point list with at least 3 control points
        on each outlined slice (world coordinates, parent transforms applied).
    output_segmentation : vtkMRMLSegmentationNode, optional
        Receives the segment ``"lesion"`` (other segments are kept); a new node named
        ``<input>_segmentation`` is added to the input's scene when omitted.
    parameters : SegmentParameters or dict, optional
        Defaults to ``SegmentParameters()``.
    seeds_node : vtkMRMLVolumeNode, optional
        Scribbles as a label map: 1 lesion, 2 background, 0 unmarked; any grid
        (resampled onto the input by nearest neighbour). Both classes are needed.
    probability_node : vtkMRMLScalarVolumeNode, optional
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
        Bad nodes, points or seeds; a volume with too few slices (see
        :data:`~.core.MINIMUM_SLICES`).
    """
    if isinstance(parameters, dict):
        parameters = SegmentParameters.from_dict(parameters)
    parameters = parameters or SegmentParameters()
    mrml.check_volume_nodes(input_node, probability_node, rough_node)
    if output_segmentation is not None and not output_segmentation.IsA("vtkMRMLSegmentationNode"):
        raise InputError(f"Output '{output_segmentation.GetName()}' is not a segmentation node; choose or create "
                         "a segmentation.")
    if points_node is None or not points_node.IsA("vtkMRMLMarkupsNode"):
        raise InputError("No outline: select a markups closed curve or point list drawn around the lesion.")
    if input_node.GetTransformNodeID():
        raise InputError(f"Input volume '{input_node.GetName()}' is under a transform; harden the transform "
                         "(Transforms module) before segmenting.")
    image = mrml.array_from_volume(input_node)
    spacing = mrml.spacing_kji(input_node)
    seeds = None if seeds_node is None else _seeds_on_grid(seeds_node, input_node, image.shape)
    result = segment_lesion(image, mrml.points_kji(points_node, input_node), spacing, parameters, seeds=seeds,
                            progress=progress)
    output = mrml.segmentation_from_mask(result.mask, input_node, name=f"{input_node.GetName()}_segmentation",
                                         segment_name=LESION_SEGMENT, color=LESION_COLOR, node=output_segmentation)
    output.SetAttribute(PARAMETERS_ATTRIBUTE, parameters.to_json())
    output.SetAttribute(FEATURES_ATTRIBUTE, ", ".join(name for name, _ in result.feature_importance[:IMPORTANT_FEATURES]))
    for node, array in ((probability_node, result.margin), (rough_node, result.rough_mask)):
        if node is not None:
            mrml.new_volume_like(input_node, array, node=node)
    return output


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
    """The seed label map's values on the input grid (nearest neighbour; values outside the input are dropped)."""
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
