"""The built-in example: enhance a generated phantom and write everything a user would look at."""

from pathlib import Path

import numpy as np

from .enhance.parameters import EnhanceParameters
from .errors import InputError
from .progress import report, subrange

DEMO_FILES = {
    "input volume": "phantom.nrrd",
    "label map": "phantom_labels.nrrd",
    "enhanced volume": "phantom_enhanced.nrrd",
    "fractional-order map": "phantom_order_map.nrrd",
    "fractal-dimension map": "phantom_fractal_dimension.nrrd",
    "figure": "phantom_enhancement.png",
    "comparison table": "phantom_comparison.csv",
}


def run_demo(output_folder, *, kind="ct", parameters=None, progress=None):
    """Enhance a phantom and write volumes, maps, a figure and the comparison table.

    The phantom (:func:`clinicalimaging.phantom.make_phantom`) is enhanced with
    :func:`clinicalimaging.enhance.nodes.enhance_volume`, and compared with the
    baselines on its lesion (:func:`clinicalimaging.enhance.compare.compare_enhancements`).
    Files are written all or nothing: on any failure no demo file appears, and a
    folder created by this call is removed again.

    Parameters
    ----------
    output_folder : str or Path
        Where to write; created (with its parents) when missing.
    kind : {"ct", "mr"}
        CT-like phantom in HU or MR-like phantom in arbitrary units.
    parameters : EnhanceParameters, optional
        Default: the default (adaptive) mode.
    progress : callable, optional
        ``progress(fraction, message)``, see :mod:`clinicalimaging.progress`.

    Returns
    -------
    dict of str to Path
        What was written (keys of :data:`DEMO_FILES`) and where.
    """
    from .mrml import check_outputs

    output_folder = Path(output_folder)
    if output_folder.exists() and not output_folder.is_dir():
        raise InputError(f"Demo output '{output_folder}' is a file, not a folder. Choose a folder path.")
    paths = {what: output_folder / name for what, name in DEMO_FILES.items()}
    created = not output_folder.exists()
    output_folder.mkdir(parents=True, exist_ok=True)
    try:
        kinds = {"figure": "figure", "comparison table": "table"}
        check_outputs([], [(path, kinds.get(what, "volume")) for what, path in paths.items()])
        _write_demo(paths, kind, parameters or EnhanceParameters(), progress)
    except BaseException:
        if created:
            output_folder.rmdir()
        raise
    report(progress, 1.0, "Done")
    return paths


def _write_demo(paths, kind, parameters, progress):
    from . import mrml
    from .enhance.compare import compare_enhancements
    from .enhance.nodes import enhance_volume
    from .phantom import make_phantom, phantom_volume

    report(progress, 0.0, f"Generating the {kind.upper()} phantom")
    phantom = make_phantom(kind)
    volume_node, label_node = phantom_volume(phantom)
    scene = volume_node.GetScene()
    maps = [scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", scene.GenerateUniqueName(f"phantom {what}"))
            for what in ("fractional-order map", "fractal-dimension map")]
    enhanced_node = enhance_volume(volume_node, None, parameters, order_map_node=maps[0], fractal_map_node=maps[1],
                                   progress=subrange(progress, 0.05, 0.4))
    image = mrml.array_from_volume(volume_node)
    spacing = mrml.spacing_kji(volume_node)
    lesion_mask = (mrml.array_from_volume(label_node) == phantom.lesion_label).astype(np.uint8)
    rows = compare_enhancements(image, lesion_mask, spacing, parameters=parameters,
                                progress=subrange(progress, 0.4, 0.95))
    report(progress, 0.95, "Writing the results")
    volumes = {"input volume": volume_node, "label map": label_node, "enhanced volume": enhanced_node,
               "fractional-order map": maps[0], "fractal-dimension map": maps[1]}
    with mrml.staged_outputs(paths.values()) as staged:
        for what, node in volumes.items():
            mrml.write_volume(node, staged[paths[what]])
        save_figure(image, mrml.array_from_volume(enhanced_node), mrml.array_from_volume(maps[0]),
                    mrml.array_from_volume(maps[1]), lesion_mask, spacing, staged[paths["figure"]])
        mrml.write_table(mrml.table_from_rows(rows, name="phantom comparison"), staged[paths["comparison table"]])


def save_figure(image, enhanced, order_map, fractal_dimension_map, lesion_mask, spacing, path):
    """Save a PNG of the slice through the lesion centre: input, enhanced, order map, fractal dimension.

    Parameters
    ----------
    image, enhanced : ndarray, shape (K, J, I)
        Input and enhanced volume, shown with the same grey window (1st to 99th
        percentile of the input).
    order_map, fractal_dimension_map : ndarray, shape (K, J, I)
        Shown with colour bars.
    lesion_mask : ndarray, shape (K, J, I)
        Non-zero inside the lesion; picks the slice and is outlined on the input.
    spacing : tuple of 3 float
        Voxel spacing in mm (KJI), for the aspect ratio.
    path : str or Path
        ``.png`` file.
    """
    from matplotlib.figure import Figure  # no pyplot: no global backend, safe inside Slicer

    k = int(round(np.argwhere(lesion_mask).mean(axis=0)[0]))
    low, high = np.percentile(image, [1, 99])
    aspect = spacing[1] / spacing[2]
    figure = Figure(figsize=(10, 9), layout="constrained")
    axes = figure.subplots(2, 2)
    panels = [(image, "Input", "gray", (low, high)), (enhanced, "Enhanced", "gray", (low, high)),
              (order_map, "Fractional order", "coolwarm", (None, None)),
              (fractal_dimension_map, "Local fractal dimension", "viridis", (None, None))]
    for axis, (volume, title, colormap, (vmin, vmax)) in zip(axes.ravel(), panels):
        shown = axis.imshow(volume[k], cmap=colormap, vmin=vmin, vmax=vmax, aspect=aspect, interpolation="nearest")
        axis.set_title(f"{title} (slice {k})")
        axis.set_axis_off()
        if colormap != "gray":
            figure.colorbar(shown, ax=axis, shrink=0.8)
    axes[0, 0].contour(lesion_mask[k], levels=[0.5], colors="red", linewidths=0.8)
    figure.savefig(path, dpi=100)
