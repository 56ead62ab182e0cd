"""The built-in example's figure: input, enhanced volume and both maps on the axial slice through the lesion.

:func:`demo_figure` is what ``clinicalimaging demo`` (:mod:`clinicalimaging.demo_chain`)
writes beside the chain's outputs, and the extension's screenshot. Its display
conventions (the CT window, the lesion's colour, the orientation letters) are shared
with the case report (:mod:`clinicalimaging.report`).
"""

import numpy as np

#: Size of the figure in inches and its resolution: a PNG of 1300 x 1100 px.
FIGURE_SIZE = (13.0, 11.0)
FIGURE_DPI = 100
#: Grey window (width, level) of the CT panels in HU: the usual abdominal soft-tissue window.
CT_WINDOW = (400.0, 50.0)
#: Grey-value quantity and unit of each phantom kind.
UNITS = {"ct": ("CT number", "HU"), "mr": ("signal", "a.u.")}
#: Outline colour of the lesion: distinct from grey, from coolwarm and from viridis.
LESION_COLOUR = "magenta"
_SCALE_BAR_LENGTHS_MM = (5, 10, 20, 50, 100, 200)
# Anatomical letter of the positive and the negative direction of each RAS axis.
_LETTERS = (("R", "L"), ("A", "P"), ("S", "I"))


def demo_figure(image, enhanced, order_map, fractal_dimension_map, lesion_mask, ijk_to_ras, *, kind, lesion_label,
                parameters):
    """The demo's figure: input, enhanced, order map and fractal dimension on the axial slice through the lesion.

    Every panel shows the same slice as Slicer shows an axial slice
    (radiological convention: the patient's right on the left, anterior at the
    top), with orientation letters at the edges, a scale bar in mm and the
    lesion outlined. Input and enhanced share one grey window, stated on their
    grey bars in the image's unit; the maps have colour bars with their units.

    Parameters
    ----------
    image, enhanced : ndarray, shape (K, J, I)
        Input and enhanced volume.
    order_map, fractal_dimension_map : ndarray, shape (K, J, I)
        Fractional order and local fractal dimension of each voxel.
    lesion_mask : ndarray, shape (K, J, I)
        Non-zero inside the lesion; picks the slice (the lesion's centre).
    ijk_to_ras : ndarray, shape (4, 4)
        IJK-to-RAS matrix of the volume in mm: spacing, orientation and the
        slice's position. The K axis is taken as the axial one.
    kind : {"ct", "mr"}
        Phantom kind: picks the grey window (:data:`CT_WINDOW` for CT, the
        1st to 99th percentile for MR) and the unit (:data:`UNITS`).
    lesion_label : int
        Label value of the lesion, named in the legend.
    parameters : EnhanceParameters
        What was done, for the title.

    Returns
    -------
    matplotlib.figure.Figure
        Not yet saved; :data:`FIGURE_SIZE` inches.
    """
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.figure import Figure  # no pyplot: no global backend, safe inside Slicer
    from matplotlib.lines import Line2D

    k = int(round(np.argwhere(lesion_mask).mean(axis=0)[0]))
    view, (right, down), (column_mm, row_mm) = _radiological_view(ijk_to_ras)
    quantity, unit = UNITS[kind]
    width, level = CT_WINDOW if kind == "ct" else _percentile_window(image)
    grey_bar = f"{quantity} ({unit}); window {width:.3g} / level {level:.3g} {unit}"
    orders = view(order_map[k])
    order_norm = TwoSlopeNorm(0.0, min(orders.min(), -1e-3), max(orders.max(), 1e-3))
    panels = [
        (image, "Input", "gray", {"vmin": level - width / 2, "vmax": level + width / 2}, grey_bar),
        (enhanced, f"Enhanced ({parameters.mode} mode, strength {parameters.strength:g})", "gray",
         {"vmin": level - width / 2, "vmax": level + width / 2}, grey_bar),
        (order_map, "Fractional order (blue: smoothing, red: sharpening)", "coolwarm", {"norm": order_norm},
         "fractional order (unitless)"),
        (fractal_dimension_map, "Local fractal dimension", "viridis", {}, "fractal dimension (unitless)"),
    ]
    position_s = (ijk_to_ras @ [0.0, 0.0, k, 1.0])[2]
    figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
    figure.suptitle(f"{kind.upper()} phantom (synthetic abdomen): variable-order fractional enhancement, "
                    f"{parameters.mode} mode, strength {parameters.strength:g}\n"
                    f"Axial slice {k} (file slice index, 0 to {image.shape[0] - 1}; S {position_s:.1f} mm) through the "
                    "lesion: input, result, and the order and fractal-dimension maps that steered it", fontsize=13)
    outline = view(lesion_mask[k] > 0)
    for axis, (volume, title, colormap, scaling, bar_label) in zip(figure.subplots(2, 2).ravel(), panels):
        shown = axis.imshow(view(volume[k]), cmap=colormap, aspect=row_mm / column_mm, interpolation="nearest",
                            **scaling)
        axis.contour(outline, levels=[0.5], colors=LESION_COLOUR, linewidths=1.0)
        axis.set_title(title, fontsize=12)
        axis.set_xticks([])
        axis.set_yticks([])
        orientation_letters(axis, right, down)
        _scale_bar(axis, column_mm, outline.shape[1])
        figure.colorbar(shown, ax=axis, shrink=0.85, label=bar_label)
    figure.legend(handles=[Line2D([], [], color=LESION_COLOUR, label=f"lesion, label {lesion_label}")],
                  loc="outside lower center", fontsize=12, frameon=False)
    return figure


def _radiological_view(ijk_to_ras):
    """How to show a (J, I) slice as Slicer shows an axial slice, from the volume's directions.

    Returns ``view`` (a function of a (J, I) array: the displayed array, transposed
    and flipped as needed so that the screen's x points to the patient's left and
    its y, downwards, to the back), the RAS directions of the screen's right and
    down in the displayed array, and the displayed column and row spacing in mm.
    """
    axes = np.asarray(ijk_to_ras, dtype=np.float64)[:3, :2]
    spacing = np.linalg.norm(axes, axis=0)
    directions = axes / spacing  # columns: RAS direction of +i and +j
    # Screen right should be L (-R) and screen down P (-A).
    transpose = abs(directions[0, 1]) + abs(directions[1, 0]) > abs(directions[0, 0]) + abs(directions[1, 1])
    order = (1, 0) if transpose else (0, 1)  # array axis (i = 0, j = 1) shown as columns, as rows
    right, down = directions[:, order[0]], directions[:, order[1]]
    flip_columns, flip_rows = right[0] > 0, down[1] > 0

    def view(section):
        shown = section.T if transpose else section
        return shown[::-1 if flip_rows else 1, ::-1 if flip_columns else 1]

    return view, (-right if flip_columns else right, -down if flip_rows else down), \
        (spacing[order[0]], spacing[order[1]])


def _letter(direction):
    """Anatomical letter(s) of a RAS direction: its dominant axis, and a second one when nearly as strong."""
    strength = np.abs(direction)
    axes = [axis for axis in np.argsort(-strength)[:2] if strength[axis] >= 0.5 * strength.max()]
    return "".join(_LETTERS[axis][0 if direction[axis] > 0 else 1] for axis in axes)


def orientation_letters(axis, right, down):
    """Letters of the patient's directions at the middle of each edge of a panel."""
    from matplotlib import patheffects

    style = {"transform": axis.transAxes, "color": "yellow", "fontsize": 13, "fontweight": "bold",
             "path_effects": [patheffects.withStroke(linewidth=3, foreground="black")]}
    axis.text(0.99, 0.5, _letter(right), ha="right", va="center", **style)
    axis.text(0.01, 0.5, _letter(-right), ha="left", va="center", **style)
    axis.text(0.5, 0.01, _letter(down), ha="center", va="bottom", **style)
    axis.text(0.5, 0.99, _letter(-down), ha="center", va="top", **style)


def _scale_bar(axis, column_mm, columns):
    """A bar of a round length in mm, at most a quarter of the panel's width, at its lower left."""
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    fitting = [length for length in _SCALE_BAR_LENGTHS_MM if length <= 0.25 * columns * column_mm]
    length = fitting[-1] if fitting else _SCALE_BAR_LENGTHS_MM[0]
    bar = AnchoredSizeBar(axis.transData, length / column_mm, f"{length} mm", "lower left", pad=0.3, borderpad=0.6,
                          color="white", frameon=True, size_vertical=0.5, fontproperties={"size": 11})
    bar.patch.set(facecolor="black", alpha=0.6, edgecolor="none")
    axis.add_artist(bar)


def _percentile_window(image):
    """(width, level) covering the 1st to 99th percentile of the image."""
    low, high = np.percentile(image, [1, 99])
    return float(high - low), float((high + low) / 2)
