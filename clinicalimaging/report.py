"""A one-page case report: the lesion's segmentation and the detected organs on axial and coronal slices.

Array level (numpy and matplotlib's object API, no pyplot and no MRML): the caller
passes KJI arrays with their IJK-to-RAS matrix and organ boxes in RAS mm, and saves
the returned figure itself (``figure.savefig``, inside
:func:`clinicalimaging.mrml.staged_outputs` for the package's outputs).
"""

import dataclasses

import numpy as np

from .demo import CT_WINDOW, LESION_COLOUR, orientation_letters
from .errors import InputError

#: Colours of the organ boxes, in the order of the boxes (repeating after the last): distinct from each other,
#: from grey, from the lesion's magenta outline and from the yellow orientation letters.
BOX_COLOURS = ("tab:cyan", "tab:orange", "tab:green", "tab:red", "tab:blue", "tab:olive", "tab:purple", "tab:brown")
#: Percentiles of the original image that bound the grey window of every panel.
WINDOW_PERCENTILES = (1.0, 99.0)
#: Width of the figure in inches, and the height of one row of panels.
FIGURE_WIDTH = 12.0
ROW_HEIGHT = 5.0
_SCALE_BAR_LENGTHS_MM = (5, 10, 20, 50, 100, 200)
# RAS directions of the screen's right and down in each view (radiological convention: the patient's left on the
# screen's right; axial: posterior at the bottom; coronal: inferior at the bottom).
_LEFT, _POSTERIOR, _INFERIOR = np.array([-1.0, 0, 0]), np.array([0, -1.0, 0]), np.array([0, 0, -1.0])
_SCREEN = {"axial": (_LEFT, _POSTERIOR), "coronal": (_LEFT, _INFERIOR)}


@dataclasses.dataclass(frozen=True)
class _View:
    """One slice of a KJI volume as displayed, and where its pixels are in RAS.

    Displayed pixel (row ``y``, column ``x``) is centred at
    ``origin + x * column_step + y * row_step`` (RAS mm).
    """

    name: str
    axis: int  # KJI axis across the slice
    index: int  # voxel index of the slice along that axis
    transpose: bool
    flip_rows: bool
    flip_columns: bool
    origin: np.ndarray
    column_step: np.ndarray
    row_step: np.ndarray

    def section(self, volume):
        """The displayed (rows, columns) array of the slice of a (K, J, I) volume."""
        section = np.take(volume, self.index, axis=self.axis)
        section = section.T if self.transpose else section
        return section[::-1 if self.flip_rows else 1, ::-1 if self.flip_columns else 1]


def case_report_figure(image, mask, ijk_to_ras, *, enhanced=None, boxes=(), title="", unit="", structure="lesion"):
    """A report figure of one case: lesion outline and organ boxes on axial and coronal slices through the lesion.

    Columns: the axial slice (the volume's K slice) and the coronal slice (the slice
    across the voxel axis closest to the patient's anterior direction, a J slice for
    an axial volume) through the lesion's centroid, or through the volume's centre
    when the mask is empty. Rows: the original image and, when given, the enhanced
    one. Panels are shown as a radiologist reads them (the patient's right on the
    screen's left, anterior at the top of the axial and superior at the top of the
    coronal view) in their physical aspect ratio, with the patient's directions
    lettered at the edges and a scale bar in mm. The lesion is outlined in
    :data:`~clinicalimaging.demo.LESION_COLOUR`; each organ box cut by a slice's
    plane is drawn there as its cross-section, in a colour of :data:`BOX_COLOURS`,
    labelled with the organ and its score. All panels share one grey window, stated on
    the grey bar: on a CT in HU the soft-tissue window of the demo
    (:data:`~clinicalimaging.demo.CT_WINDOW`), otherwise the
    :data:`WINDOW_PERCENTILES` of the original image.

    Parameters
    ----------
    image : ndarray, shape (K, J, I)
        Original volume.
    mask : ndarray, shape (K, J, I)
        Lesion segmentation: non-zero inside the lesion.
    ijk_to_ras : array_like, shape (4, 4)
        IJK-to-RAS matrix of the volume in mm (spacing, orientation, origin).
    enhanced : ndarray, shape (K, J, I), optional
        Enhanced volume, on the same grid; adds a second row of panels.
    boxes : sequence of OrganBox
        Organ boxes (:class:`clinicalimaging.detect.detections.OrganBox`, or any
        object with ``organ``, ``score``, ``ras_min`` and ``ras_max``), aligned with
        the RAS axes, corners in RAS mm.
    title : str
        First line of the figure's title, e.g. the case's name.
    unit : str
        Unit of the grey values (e.g. ``"HU"``), written on the grey bar.
    structure : str
        What the mask is, as the title and legend name it: ``"lesion"``, or an organ
        segmented from its box (e.g. ``"liver"``).

    Returns
    -------
    matplotlib.figure.Figure
        Not yet saved; :data:`FIGURE_WIDTH` inches wide, :data:`ROW_HEIGHT` inches high per row.

    Raises
    ------
    InputError
        Arrays that are not 3-D volumes of one shape, or a matrix that is not 4 x 4.
    """
    from matplotlib.figure import Figure  # no pyplot: no global backend, safe inside Slicer

    image, mask, ijk_to_ras = np.asarray(image), np.asarray(mask) != 0, np.asarray(ijk_to_ras, dtype=np.float64)
    _check_inputs(image, mask, enhanced, ijk_to_ras)
    centre = np.argwhere(mask).mean(axis=0) if mask.any() else (np.array(image.shape) - 1) / 2
    views = [_make_view(name, ijk_to_ras, image.shape, axis, int(round(centre[axis])))
             for name, axis in (("axial", 0), ("coronal", _coronal_axis(ijk_to_ras)))]
    rows = [("Original", image)] + ([("Enhanced", np.asarray(enhanced))] if enhanced is not None else [])
    window, source = _grey_window(image, unit)
    coloured = [(box, BOX_COLOURS[number % len(BOX_COLOURS)]) for number, box in enumerate(boxes)]
    figure = Figure(figsize=(FIGURE_WIDTH, ROW_HEIGHT * len(rows) + 1.5), layout="constrained")
    figure.suptitle(_title(title, mask, centre, ijk_to_ras, structure), fontsize=13)
    axes = figure.subplots(len(rows), 2, squeeze=False)
    cut = set()
    for row_axes, (row_name, volume) in zip(axes, rows):
        for axis, view in zip(row_axes, views):
            shown = _draw_panel(axis, view, volume, mask, window, f"{row_name}: {_view_title(view, image.shape)}")
            for number, (box, colour) in enumerate(coloured):
                if _draw_box(axis, view, box, colour):
                    cut.add(number)
    quantity = f"grey level ({unit})" if unit else "grey level"
    figure.colorbar(shown, ax=axes.ravel().tolist(), shrink=0.6,
                    label=f"{quantity}; window {window[0]:.4g} to {window[1]:.4g} {unit}".rstrip() + f"\n({source})")
    _legend(figure, mask.any(), coloured, cut, structure)
    return figure



def _grey_window(image, unit):
    """(low, high) grey values of the panels and where they come from, in words."""
    if unit == "HU":
        width, level = CT_WINDOW
        return (level - width / 2, level + width / 2), f"soft-tissue window, width {width:g} HU at {level:g} HU"
    low, high = (float(value) for value in np.percentile(image, WINDOW_PERCENTILES))
    return (low, high), f"percentiles {WINDOW_PERCENTILES[0]:g} to {WINDOW_PERCENTILES[1]:g} of the original image"

def _legend(figure, has_lesion, coloured, cut, structure):
    """A legend below the panels: the lesion outline (when there is one) and each organ's box, its score, and
    whether any slice cuts it (``cut``: numbers of the boxes drawn)."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=LESION_COLOUR, linewidth=1.5, label=f"{structure} outline (segmentation)")]
    handles = handles if has_lesion else []
    handles += [Line2D([], [], color=colour, linewidth=2, label=f"{box.organ} box, score {box.score:.2f}"
                       + ("" if number in cut else " (outside these slices)"))
                for number, (box, colour) in enumerate(coloured)]
    if handles:
        figure.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), fontsize=11,
                      frameon=False)


def _check_inputs(image, mask, enhanced, ijk_to_ras):
    """Raise InputError unless the volumes are 3-D of one shape and the matrix is 4 x 4."""
    if image.ndim != 3:
        raise InputError(f"The image must be a 3-D volume (K, J, I); got an array of shape {image.shape}.")
    for name, volume in (("mask", mask), ("enhanced image", enhanced)):
        if volume is not None and np.shape(volume) != image.shape:
            raise InputError(f"The {name} must have the image's shape {image.shape}; got {np.shape(volume)}.")
    if ijk_to_ras.shape != (4, 4):
        raise InputError(f"The IJK-to-RAS matrix must be 4 x 4; got shape {ijk_to_ras.shape}.")


def _coronal_axis(ijk_to_ras):
    """The KJI axis whose voxel direction is closest to the patient's anterior (or posterior) direction."""
    directions = ijk_to_ras[:3, :3] / np.linalg.norm(ijk_to_ras[:3, :3], axis=0)  # columns: +i, +j, +k
    return 2 - int(np.argmax(np.abs(directions[1])))


def _make_view(name, ijk_to_ras, shape, axis, index):
    """The view of slice ``index`` across KJI ``axis``, oriented for ``name`` (a key of ``_SCREEN``)."""
    screen_right, screen_down = _SCREEN[name]
    in_plane = [other for other in range(3) if other != axis]  # KJI axes of the section's rows and columns
    steps = {other: ijk_to_ras[:3, 2 - other] for other in in_plane}  # RAS mm per voxel along each axis
    first, second = (steps[other] / np.linalg.norm(steps[other]) for other in in_plane)
    transpose = abs(first @ screen_right) + abs(second @ screen_down) \
        > abs(second @ screen_right) + abs(first @ screen_down)
    row_axis, column_axis = in_plane[::-1] if transpose else in_plane
    flip_rows, flip_columns = steps[row_axis] @ screen_down < 0, steps[column_axis] @ screen_right < 0
    corner = np.zeros(3)  # KJI index of the displayed pixel (0, 0)
    corner[axis] = index
    corner[row_axis] = shape[row_axis] - 1 if flip_rows else 0
    corner[column_axis] = shape[column_axis] - 1 if flip_columns else 0
    return _View(name=name, axis=axis, index=index, transpose=transpose, flip_rows=flip_rows,
                 flip_columns=flip_columns, origin=ijk_to_ras[:3, :3] @ corner[::-1] + ijk_to_ras[:3, 3],
                 column_step=-steps[column_axis] if flip_columns else steps[column_axis],
                 row_step=-steps[row_axis] if flip_rows else steps[row_axis])


def _title(title, mask, centre, ijk_to_ras, structure):
    """The figure's title: the caller's line, then where the slices are and the lesion's volume."""
    centre_ras = ijk_to_ras[:3, :3] @ centre[::-1] + ijk_to_ras[:3, 3]
    where = "(R, A, S) = (" + ", ".join(f"{value:.1f}" for value in centre_ras) + ") mm"
    if mask.any():
        volume_ml = mask.sum() * abs(np.linalg.det(ijk_to_ras[:3, :3])) / 1000
        line = f"Slices through the {structure}'s centroid at {where}; {structure} volume {volume_ml:.2f} mL"
    else:
        line = f"Slices through the image centre at {where}: no {structure} segmented"
    return f"{title}\n{line}" if title else line


def _view_title(view, shape):
    """A panel's title: the view and its slice's file index."""
    return f"{view.name}, slice {'kji'[view.axis]} = {view.index} (0 to {shape[view.axis] - 1})"


def _draw_panel(axis, view, volume, mask, window, title):
    """Draw one slice with the lesion outline, orientation letters and scale bar; the image artist."""
    column_mm, row_mm = np.linalg.norm(view.column_step), np.linalg.norm(view.row_step)
    section = view.section(volume)
    shown = axis.imshow(section, cmap="gray", vmin=window[0], vmax=window[1], aspect=row_mm / column_mm,
                        interpolation="nearest")
    outline = view.section(mask)
    if outline.any():
        axis.contour(outline.astype(np.float32), levels=[0.5], colors=LESION_COLOUR, linewidths=1.5)
    axis.set_title(title, fontsize=12)
    axis.set_xticks([])
    axis.set_yticks([])
    orientation_letters(axis, view.column_step / column_mm, view.row_step / row_mm)
    _scale_bar(axis, column_mm, section.shape)
    axis.set_xlim(-0.5, section.shape[1] - 0.5)
    axis.set_ylim(section.shape[0] - 0.5, -0.5)
    return shown


def _scale_bar(axis, column_mm, shape):
    """A horizontal bar of a round length in mm, at most a quarter of the panel's width, at its lower left."""
    from matplotlib import patheffects

    rows, columns = shape
    fitting = [length for length in _SCALE_BAR_LENGTHS_MM if length <= 0.25 * columns * column_mm]
    length = fitting[-1] if fitting else _SCALE_BAR_LENGTHS_MM[0]
    start, height = -0.5 + 0.05 * columns, rows - 0.5 - 0.06 * rows
    outline = [patheffects.withStroke(linewidth=4, foreground="black")]
    axis.plot([start, start + length / column_mm], [height, height], color="white", linewidth=3,
              solid_capstyle="butt", path_effects=outline)
    axis.text(start + length / column_mm / 2, height - 0.02 * rows, f"{length} mm", color="white", fontsize=11,
              ha="center", va="bottom", path_effects=outline)


def _draw_box(axis, view, box, colour):
    """Draw the box's cross-section with the slice's plane, labelled; whether the plane cuts the box."""
    from matplotlib import patheffects
    from matplotlib.patches import Polygon

    rows, columns = axis.images[0].get_array().shape
    corners = _box_section(view, box, rows, columns)
    if len(corners) < 3:
        return False
    axis.add_patch(Polygon(corners, closed=True, fill=False, edgecolor=colour, linewidth=2))
    left, top = np.min(corners, axis=0)
    axis.text(left + 0.01 * columns, top + 0.01 * rows, f"{box.organ} {box.score:.2f}", color=colour, fontsize=10,
              ha="left", va="top", clip_on=True, path_effects=[patheffects.withStroke(linewidth=3, foreground="black")])
    return True


def _box_section(view, box, rows, columns):
    """Corners (x, y) in displayed pixels of the box's cut by the view's plane, within the slice; [] when none.

    The cut is the part of the slice's rectangle where every RAS coordinate of
    ``origin + x * column_step + y * row_step`` lies within the box's bounds: the
    rectangle clipped by six half-planes, a rectangle for an axis-aligned volume.
    """
    corners = [np.array(corner) for corner in
               ((-0.5, -0.5), (columns - 0.5, -0.5), (columns - 0.5, rows - 0.5), (-0.5, rows - 0.5))]
    for ras in range(3):
        step = np.array([view.column_step[ras], view.row_step[ras]])
        corners = _clip(corners, step, view.origin[ras] - box.ras_min[ras])
        corners = _clip(corners, -step, box.ras_max[ras] - view.origin[ras])
    return corners


def _clip(polygon, normal, offset):
    """The part of a convex polygon (list of 2-vectors) where ``normal @ point + offset >= 0``."""
    kept = []
    for start, end in zip(polygon, polygon[1:] + polygon[:1]):
        start_value, end_value = normal @ start + offset, normal @ end + offset
        if start_value >= 0:
            kept.append(start)
        if (start_value >= 0) != (end_value >= 0):
            kept.append(start + start_value / (start_value - end_value) * (end - start))
    return kept
