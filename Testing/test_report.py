"""The case report figure: lesion outline, organ boxes, orientation and scale, checked on the rendered pixels."""

import re

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb

from clinicalimaging.demo import LESION_COLOUR
from clinicalimaging.detect.detections import OrganBox
from clinicalimaging.errors import InputError
from clinicalimaging.phantom import LABEL_NAMES, make_phantom
from clinicalimaging.report import BOX_COLOURS, case_report_figure

SHAPE, SPACING = (16, 64, 64), (2.5, 0.8, 0.8)
ORGANS = ("liver", "spleen")
LABELS = {name: value for value, name in LABEL_NAMES.items()}


def organ_box(phantom, organ, score):
    """The RAS box (mm) around the voxels of one of the phantom's organs, voxel edges included."""
    where = np.argwhere(phantom.labels == LABELS[organ])
    low, high = where.min(axis=0) - 0.5, where.max(axis=0) + 0.5  # KJI voxel edges
    corners = np.array([[i, j, k, 1.0] for i in (low[2], high[2]) for j in (low[1], high[1])
                        for k in (low[0], high[0])])
    ras = (phantom.ijk_to_ras @ corners.T)[:3].T
    return OrganBox(organ=organ, score=score, ras_min=tuple(ras.min(axis=0)), ras_max=tuple(ras.max(axis=0)))


def render(figure):
    """The figure's RGB pixels, (rows, columns, 3) uint8, row 0 at the top."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def colour_pixels(pixels, colour, tolerance):
    """(row, column) of the pixels within ``tolerance`` (0-255, every channel) of a matplotlib colour."""
    target = np.round(np.array(to_rgb(colour)) * 255)
    return np.argwhere(np.all(np.abs(pixels.astype(int) - target) <= tolerance, axis=-1))


def in_panel(points, axis, height):
    """The (row, column) points inside an axes' area on the canvas."""
    box = axis.get_window_extent()
    rows, columns = points[:, 0], points[:, 1]
    return points[(columns >= box.x0) & (columns <= box.x1) & (rows >= height - box.y1) & (rows <= height - box.y0)]


def on_canvas(axis, x, y, height):
    """(row, column) on the canvas of data point (x, y) of an axes."""
    column, row_from_bottom = axis.transData.transform((x, y))
    return np.array([height - row_from_bottom, column])


def panels(figure):
    return [axis for axis in figure.axes if axis.images]


def panel_texts(axis):
    return {text.get_text() for text in axis.texts}


@pytest.fixture(scope="module")
def phantom():
    return make_phantom("ct", shape=SHAPE, spacing=SPACING)


@pytest.fixture(scope="module")
def report(phantom):
    """The report of the phantom with an enhanced image and two organ boxes, and its pixels."""
    boxes = [organ_box(phantom, organ, score) for organ, score in zip(ORGANS, (0.93, 0.81))]
    figure = case_report_figure(phantom.image, phantom.labels == phantom.lesion_label, phantom.ijk_to_ras,
                                enhanced=phantom.image + 10, boxes=boxes, title="Phantom case", unit="HU")
    return figure, boxes, render(figure)


def test_lesion_outline_surrounds_the_lesion_in_the_axial_panel(phantom, report):
    figure, _, pixels = report
    axial = panels(figure)[0]
    assert axial.get_title().startswith("Original: axial")
    # The phantom's i runs to the patient's left and j to the back: the axial panel shows i as x and j as y.
    k, j, i = np.argwhere(phantom.labels == phantom.lesion_label).mean(axis=0)
    centre = on_canvas(axial, i, j, pixels.shape[0])
    outline = in_panel(colour_pixels(pixels, LESION_COLOUR, 40), axial, pixels.shape[0])
    assert len(outline) > 30
    assert np.linalg.norm(outline.mean(axis=0) - centre) < 10
    assert outline[:, 1].min() < centre[1] < outline[:, 1].max()
    assert outline[:, 0].min() < centre[0] < outline[:, 0].max()
    assert centre[1] < np.mean(axial.get_window_extent().intervalx)  # the liver's lesion: patient's right, left


def test_each_organ_box_is_drawn_in_its_colour_where_the_organ_is(phantom, report):
    figure, boxes, pixels = report
    axial = panels(figure)[0]
    for box, colour in zip(boxes, BOX_COLOURS):
        drawn = in_panel(colour_pixels(pixels, colour, 10), axial, pixels.shape[0])
        assert len(drawn) > 50, box.organ
        where = np.argwhere(phantom.labels == LABELS[box.organ])
        low, high = where.min(axis=0) - 0.5, where.max(axis=0) + 0.5  # KJI voxel edges
        for i, j in ((low[2], low[1]), (high[2], low[1]), (high[2], high[1]), (low[2], high[1])):
            corner = on_canvas(axial, i, j, pixels.shape[0])
            assert np.abs(drawn - corner).max(axis=1).min() <= 3, (box.organ, i, j)
        assert f"{box.organ} {box.score:.2f}" in panel_texts(axial)
    assert len(BOX_COLOURS) == len(set(BOX_COLOURS)) and LESION_COLOUR not in BOX_COLOURS


def test_panels_state_orientation_scale_window_and_what_they_show(report):
    figure, boxes, _ = report
    shown = panels(figure)
    assert [axis.get_title().split(",")[0] for axis in shown] == ["Original: axial", "Original: coronal",
                                                                  "Enhanced: axial", "Enhanced: coronal"]
    for axis in shown:
        letters = {"R", "L", "A", "P"} if "axial" in axis.get_title() else {"R", "L", "S", "I"}
        assert letters <= panel_texts(axis)
        assert any(re.fullmatch(r"\d+ mm", text) for text in panel_texts(axis))
    # Radiological convention: the patient's right on the screen's left.
    axial = {text.get_text(): text.get_position() for text in shown[0].texts}
    assert axial["R"][0] < axial["L"][0] and axial["A"][1] > axial["P"][1]
    coronal = {text.get_text(): text.get_position() for text in shown[1].texts}
    assert coronal["S"][1] > coronal["I"][1]
    assert "Phantom case" in figure.get_suptitle() and "lesion's centroid" in figure.get_suptitle()
    bar = [axis for axis in figure.axes if axis.get_ylabel().startswith("grey level (HU); window")]
    assert len(bar) == 1 and "soft-tissue window, width 400 HU at 50 HU" in bar[0].get_ylabel()  # a CT in HU
    legend = [text.get_text() for text in figure.legends[0].get_texts()]
    assert legend == ["lesion outline (segmentation)", "liver box, score 0.93", "spleen box, score 0.81"]


def test_an_organ_segmented_from_its_box_is_named_in_title_and_legend(phantom):
    figure = case_report_figure(phantom.image, phantom.labels == 2, phantom.ijk_to_ras, structure="liver")
    assert "liver's centroid" in figure.get_suptitle() and "liver volume" in figure.get_suptitle()
    assert "lesion" not in figure.get_suptitle()
    assert [text.get_text() for text in figure.legends[0].get_texts()] == ["liver outline (segmentation)"]


def test_without_enhanced_image_two_panels(phantom):
    figure = case_report_figure(phantom.image, phantom.labels == phantom.lesion_label, phantom.ijk_to_ras)
    assert [axis.get_title().split(",")[0] for axis in panels(figure)] == ["Original: axial", "Original: coronal"]


def test_empty_mask_shows_the_image_centre_and_says_so(phantom):
    figure = case_report_figure(phantom.image, np.zeros(SHAPE, bool), phantom.ijk_to_ras)
    assert "no lesion segmented" in figure.get_suptitle()
    assert panels(figure)[0].get_title().startswith(f"Original: axial, slice k = {round((SHAPE[0] - 1) / 2)} ")
    assert not any(axis.collections for axis in panels(figure))  # no outline drawn


def test_oblique_volume_renders_with_outline_and_boxes():
    phantom = make_phantom("ct", shape=SHAPE, spacing=SPACING, oblique=True)
    box = organ_box(phantom, "liver", 0.9)
    figure = case_report_figure(phantom.image, phantom.labels == phantom.lesion_label, phantom.ijk_to_ras,
                                enhanced=phantom.image, boxes=[box], unit="HU")
    pixels = render(figure)
    assert len(panels(figure)) == 4
    assert len(colour_pixels(pixels, LESION_COLOUR, 40)) > 30 and len(colour_pixels(pixels, BOX_COLOURS[0], 10)) > 50


def test_mismatched_shapes_are_refused(phantom):
    with pytest.raises(InputError, match="mask must have the image's shape"):
        case_report_figure(phantom.image, phantom.labels[1:], phantom.ijk_to_ras)
