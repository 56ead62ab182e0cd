"""Node-level lesion segmentation on real MRML nodes (slicer-core): geometry, outputs, errors."""

import numpy as np
import pytest

from clinicalimaging import Cancelled, InputError, mrml
from clinicalimaging.metrics import dice
from clinicalimaging.phantom import make_phantom
from clinicalimaging.phantom_nodes import phantom_volume
from clinicalimaging.segment.features import FEATURE_NAMES
from clinicalimaging.segment.nodes import (LESION_COLOR, LESION_SEGMENT, PARAMETERS_ATTRIBUTE, refine_volume,
                                           seed_labels_from_segmentation, segment_volume,
                                           segmentation_results_table, segmentation_statistics)
from clinicalimaging.segment.parameters import SegmentParameters
from outline import lesion_outline


@pytest.fixture(scope="module")
def case():
    """An oblique, anisotropic MR phantom as nodes, and a closed-curve outline of its lesion."""
    phantom = make_phantom("mr", shape=(24, 96, 96), spacing=(2.5, 0.8, 0.8), oblique=True)
    volume, labels = phantom_volume(phantom, name="segment_case")
    points, lesion = lesion_outline(phantom)
    outline = mrml.markups_from_points(points, volume, name="outline")
    yield phantom, volume, outline, points, lesion
    scene = volume.GetScene()
    for node in (volume, labels, outline):
        scene.RemoveNode(node)


@pytest.fixture(scope="module")
def segmented(case):
    """One run with every output, and the input as it was before."""
    phantom, volume, outline, _, _ = case
    before = mrml.array_from_volume(volume), mrml.ijk_to_ras(volume)
    scene = volume.GetScene()
    probability = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "margin")
    rough = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "rough")
    output = segment_volume(volume, outline, None, {"seed": 0}, margin_map_node=probability, rough_node=rough)
    return output, probability, rough, before


def _lesion_labelmap(segmentation, volume):
    labelmap = mrml.labelmap_from_segment(segmentation, LESION_SEGMENT, volume)
    try:
        return mrml.array_from_volume(labelmap), mrml.ijk_to_ras(labelmap)
    finally:
        labelmap.GetScene().RemoveNode(labelmap)


def test_segmentation_lies_on_the_input_grid_and_finds_the_lesion(case, segmented):
    phantom, volume, _, _, lesion = case
    output, probability, rough, (array_before, matrix_before) = segmented
    mask, matrix = _lesion_labelmap(output, volume)
    assert not np.allclose(matrix_before[:3, :3] / np.linalg.norm(matrix_before[:3, :3], axis=0), np.eye(3))
    np.testing.assert_allclose(matrix, matrix_before, atol=1e-9)
    assert dice(mask, lesion) >= 0.85
    # The internal binary labelmap is the input grid itself, not a resampled copy.
    import vtk
    internal = output.GetBinaryLabelmapInternalRepresentation(output.GetSegmentation().GetNthSegmentID(0))
    directions = vtk.vtkMatrix4x4()
    internal.GetImageToWorldMatrix(directions)
    np.testing.assert_allclose(mrml.ijk_to_ras(volume), np.array([[directions.GetElement(r, c) for c in range(4)]
                                                                  for r in range(4)]), atol=1e-9)
    for node in (probability, rough):
        np.testing.assert_allclose(mrml.ijk_to_ras(node), matrix_before, atol=1e-9)
    assert mrml.array_from_volume(probability).dtype == np.float32
    assert dice(mrml.array_from_volume(rough), lesion) > 0.8
    np.testing.assert_array_equal(mrml.array_from_volume(volume), array_before)
    np.testing.assert_array_equal(mrml.ijk_to_ras(volume), matrix_before)


def test_segmentation_is_named_coloured_and_records_its_parameters(case, segmented):
    output = segmented[0]
    segmentation = output.GetSegmentation()
    assert output.GetName() == f"{case[1].GetName()}_segmentation" and segmentation.GetNumberOfSegments() == 1
    segment = segmentation.GetNthSegment(0)
    assert segment.GetName() == LESION_SEGMENT
    np.testing.assert_allclose(segment.GetColor(), LESION_COLOR)
    assert SegmentParameters.from_json(output.GetAttribute(PARAMETERS_ATTRIBUTE)) == SegmentParameters()


def test_statistics_report_volume_intensity_and_dice(case, segmented):
    phantom, volume, _, _, lesion = case
    mask, _ = _lesion_labelmap(segmented[0], volume)
    nodes_before = volume.GetScene().GetNumberOfNodes()
    statistics = segmentation_statistics(segmented[0], volume, reference_mask=lesion)
    assert volume.GetScene().GetNumberOfNodes() == nodes_before
    assert statistics["voxels"] == mask.sum()
    assert statistics["volume_ml"] == pytest.approx(mask.sum() * 2.5 * 0.8 * 0.8 / 1000)
    assert statistics["mean_intensity"] == pytest.approx(phantom.image[mask != 0].mean(), rel=1e-5)
    assert statistics["dice"] == pytest.approx(dice(mask, lesion))
    important = statistics["important_features"].split(", ")
    assert len(important) == 5 and set(important) <= set(FEATURE_NAMES)


def test_cancel_leaves_every_output_node_as_it_was(case):
    _, volume, outline, _, _ = case
    scene = volume.GetScene()
    output = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "kept")
    probability = mrml.new_volume_like(volume, np.full(mrml.array_from_volume(volume).shape, 5, np.float32))
    with pytest.raises(Cancelled):
        segment_volume(volume, outline, output, margin_map_node=probability,
                       progress=lambda fraction, message: fraction < 0.2)
    assert output.GetSegmentation().GetNumberOfSegments() == 0 and output.GetAttribute(PARAMETERS_ATTRIBUTE) is None
    assert np.all(mrml.array_from_volume(probability) == 5)


def test_seeds_from_a_label_map_on_another_grid(case):
    phantom, volume, outline, points, lesion = case
    k = int(round(points[0, 0]))
    inside = np.argwhere(lesion[k])[len(np.argwhere(lesion[k])) // 2]
    seeds = np.zeros(lesion.shape, np.uint8)
    seeds[k, inside[0], inside[1]] = 1
    seeds[k, 10:12, 10:12] = 2  # far background, inside the image
    # The seeds' own grid: a crop of the input's grid, so nearest-neighbour resampling puts them back exactly.
    start = np.array([k - 2, 5, 5])
    crop = seeds[start[0]:k + 3, start[1]:80, start[2]:80]
    matrix = mrml.ijk_to_ras(volume) @ np.vstack([np.c_[np.eye(3), start[::-1]], [0, 0, 0, 1]])
    seeds_node = mrml.volume_from_array(crop, ijk_to_ras=matrix, scene=volume.GetScene(), name="seeds",
                                        labelmap=True)
    probability = volume.GetScene().AddNewNodeByClass("vtkMRMLScalarVolumeNode", "margin")
    output = segment_volume(volume, outline, seeds_node=seeds_node, margin_map_node=probability)
    mask, _ = _lesion_labelmap(output, volume)
    assert mask[k, inside[0], inside[1]] == 1
    assert mrml.array_from_volume(probability)[k, 10, 10] < 0
    assert dice(mask, lesion) >= 0.8


def _markups(volume, points):
    return mrml.markups_from_points(np.asarray(points, float), volume, name="bad outline")


def test_bad_nodes_raise_input_error_and_leave_outputs_alone(case):
    phantom, volume, outline, points, _ = case
    scene = volume.GetScene()
    output = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "untouched")
    with pytest.raises(InputError, match="No outline"):
        segment_volume(volume, None, output)
    with pytest.raises(InputError, match="at least 3 points"):
        segment_volume(volume, _markups(volume, points[:2]), output)
    with pytest.raises(InputError, match="outside the image"):
        segment_volume(volume, _markups(volume, points + [0, 200, 0]), output)
    with pytest.raises(InputError, match="output is the input"):
        segment_volume(volume, outline, margin_map_node=volume)
    one_class = mrml.new_volume_like(volume, np.pad(np.ones((1, 1, 1), np.uint8), ((3, 20), (40, 55), (40, 55))),
                                     labelmap=True)
    with pytest.raises(InputError, match="both classes"):
        segment_volume(volume, outline, output, seeds_node=one_class)
    transform = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode")
    moved = mrml.new_volume_like(volume, mrml.array_from_volume(volume))
    moved.SetAndObserveTransformNodeID(transform.GetID())
    with pytest.raises(InputError, match="harden"):
        segment_volume(moved, outline, output)
    assert output.GetSegmentation().GetNumberOfSegments() == 0


def test_an_roi_box_is_not_taken_for_an_outline(case):
    _, volume, _, _, _ = case
    box = volume.GetScene().AddNewNodeByClass("vtkMRMLMarkupsROINode", "liver")
    box.SetRadiusXYZ(20.0, 15.0, 30.0)
    with pytest.raises(InputError, match="Markups 'liver' holds an ROI box .*, not an outline. An outline is"):
        segment_volume(volume, box)
    volume.GetScene().RemoveNode(box)


def test_a_single_slice_is_rejected_with_a_clear_error(case):
    phantom, volume, _, points, _ = case
    k = int(round(points[0, 0]))
    matrix = mrml.ijk_to_ras(volume) @ np.vstack([np.c_[np.eye(3), [0, 0, k]], [0, 0, 0, 1]])
    single = mrml.volume_from_array(phantom.image[k:k + 1], ijk_to_ras=matrix, scene=volume.GetScene())
    outline = _markups(single, points * [0, 1, 1])
    with pytest.raises(InputError, match="1 slice.*at least 4"):
        segment_volume(single, outline)


def _scribbles(volume, lesion, k, *, overlap=False, names=("lesion", "background")):
    """A seed segmentation: the lesion, and its largest slice outside the lesion as background."""
    background = np.zeros(lesion.shape, bool)
    background[k] = ~lesion[k] | overlap
    seeds = mrml.segmentation_from_mask(lesion, volume, name="scribbles", segment_name=names[0])
    mrml.segmentation_from_mask(background, volume, segment_name=names[1], node=seeds)
    return seeds


def test_seeds_from_a_segmentation_with_lesion_and_background_segments(case):
    phantom, volume, outline, points, lesion = case
    k = int(round(points[0, 0]))
    seeds = _scribbles(volume, lesion, k)
    labels = seed_labels_from_segmentation(seeds, volume)
    assert labels.dtype == np.uint8 and set(np.unique(labels)) == {0, 1, 2}
    np.testing.assert_array_equal(labels == 1, lesion)
    margin = volume.GetScene().AddNewNodeByClass("vtkMRMLScalarVolumeNode", "margin")
    volumes_before = volume.GetScene().GetNumberOfNodesByClass("vtkMRMLVolumeNode")
    output = segment_volume(volume, outline, seeds_node=seeds, margin_map_node=margin)
    mask, _ = _lesion_labelmap(output, volume)
    assert dice(mask, lesion) >= 0.8
    assert volume.GetScene().GetNumberOfNodesByClass("vtkMRMLVolumeNode") == volumes_before  # no temporary label map


def test_scribbles_refine_a_segmentation_of_this_session_in_place(case):
    phantom, volume, outline, points, lesion = case
    scene = volume.GetScene()
    output = segment_volume(volume, outline, None, {"seed": 0})
    first, _ = _lesion_labelmap(output, volume)
    k = int(round(points[0, 0]))
    margin = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "refined margin")
    refined_node = refine_volume(volume, output, _scribbles(volume, lesion, k), margin_map_node=margin)
    assert refined_node is output
    refined, _ = _lesion_labelmap(output, volume)
    assert not np.array_equal(refined, first)
    assert dice(refined[k], lesion[k]) == 1.0  # the scribbles cover the whole slice, both ways
    assert mrml.array_from_volume(margin).shape == lesion.shape
    other = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "not made here")
    for target in (other, None):
        with pytest.raises(InputError, match="Apply first"):
            refine_volume(volume, target, _scribbles(volume, lesion, k))
    with pytest.raises(InputError, match="scribbles"):
        refine_volume(volume, output, None)


def test_seed_segmentation_errors(case):
    _, volume, outline, points, lesion = case
    k = int(round(points[0, 0]))
    with pytest.raises(InputError, match="no segment named 'background'"):
        seed_labels_from_segmentation(_scribbles(volume, lesion, k, names=("lesion", "outside")), volume)
    with pytest.raises(InputError, match="overlap"):
        seed_labels_from_segmentation(_scribbles(volume, lesion, k, overlap=True), volume)
    with pytest.raises(InputError, match="overlap"):
        segment_volume(volume, outline, seeds_node=_scribbles(volume, lesion, k, overlap=True))


def test_enhance_first_segments_an_enhanced_copy_and_leaves_no_node_behind(case, segmented):
    _, volume, outline, _, lesion = case
    scene = volume.GetScene()
    margin = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "enhanced margin")
    volumes_before = scene.GetNumberOfNodesByClass("vtkMRMLVolumeNode")
    fractions = []
    output = segment_volume(volume, outline, margin_map_node=margin, enhance_first=True,
                            progress=lambda fraction, message: fractions.append(fraction))
    mask, _ = _lesion_labelmap(output, volume)
    assert dice(mask, lesion) >= 0.8
    assert not np.allclose(mrml.array_from_volume(margin), mrml.array_from_volume(segmented[1]))
    assert scene.GetNumberOfNodesByClass("vtkMRMLVolumeNode") == volumes_before  # no enhanced copy left behind
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert any(0.0 < fraction < 0.2 for fraction in fractions)  # the enhancement's share


def test_enhance_first_cancelled_leaves_every_node_as_it_was(case):
    _, volume, outline, _, _ = case
    scene = volume.GetScene()
    nodes_before = scene.GetNumberOfNodes()
    with pytest.raises(Cancelled):  # during the enhancement
        segment_volume(volume, outline, enhance_first=True, progress=lambda fraction, message: fraction < 0.1)
    assert scene.GetNumberOfNodes() == nodes_before


def test_results_table_with_and_without_a_reference(case, segmented):
    phantom, volume, _, _, lesion = case
    reference = mrml.segmentation_from_mask(lesion, volume, name="reference", segment_name="true lesion")
    table = segmentation_results_table(segmented[0], volume, reference_segmentation=reference,
                                       reference_segment="true lesion")
    statistics = segmentation_statistics(segmented[0], volume, reference_mask=lesion)
    assert table.GetNumberOfRows() == 1 and table.GetName() == f"{segmented[0].GetName()} results"
    assert table.GetCellText(0, 0) == segmented[0].GetName() and table.GetCellText(0, 1) == LESION_SEGMENT
    for column in ("volume_ml", "mean_intensity", "voxels", "dice"):
        assert float(table.GetCellText(0, table.GetColumnIndex(column))) == pytest.approx(statistics[column],
                                                                                          rel=1e-5)
    again = segmentation_results_table(segmented[0], volume, table_node=table)
    assert again is table and table.GetColumnIndex("dice") == -1
    with pytest.raises(InputError, match="No reference segment"):
        segmentation_results_table(segmented[0], volume, reference_segmentation=reference)
