"""The enhancement commands: ``enhance`` and ``evaluate-enhancement``.

::

    clinicalimaging enhance INPUT OUTPUT [--order-map FILE] [--fractal-map FILE] [options]
    clinicalimaging evaluate-enhancement IMAGE LABEL [--label-value N] [--sweep [--plot OUT.png]]
        [--ring-range LOW HIGH | --whole-ring] [--table OUT.csv] [options]
"""

from pathlib import Path

from ..cli_options import finite_number, reference_lesion_mask, stage_parameters_from_arguments, stage_parser
from ..errors import InputError
from ..progress import report, subrange
from .parameters import EnhanceParameters


def add_commands(commands, common, evaluation):
    """Add ``enhance`` and ``evaluate-enhancement`` to the main parser's subcommands.

    Parameters
    ----------
    commands : argparse subparsers action
    common : argparse.ArgumentParser
        Parent parser with ``--quiet``, ``--debug``, ``--progress-lines``.
    evaluation : argparse.ArgumentParser
        Parent parser of the evaluate commands: IMAGE, LABEL, ``--label-value``, ``--table``.
    """
    stage = stage_parser(EnhanceParameters, "enhancement options")
    enhance = commands.add_parser(
        "enhance", parents=[common, stage],
        help="Enhance a volume with the variable-order fractional differential filter.",
        description="Enhance a volume with the variable-order fractional differential filter. The output keeps "
                    "the input's geometry, data type and units (clipped to the input's intensity range), and its "
                    "compression: an uncompressed NRRD or MetaImage gives uncompressed outputs.")
    enhance.add_argument("input", metavar="INPUT", help="Input volume: .nrrd, .nhdr, .nii, .nii.gz, .mha file, "
                                                        "or a folder holding one DICOM series.")
    enhance.add_argument("output", metavar="OUTPUT", help="Enhanced volume: .nrrd, .nii, .nii.gz or .mha.")
    enhance.add_argument("--order-map", metavar="FILE",
                         help="Also write the per-voxel fractional order (float32; default: not written).")
    enhance.add_argument("--fractal-map", metavar="FILE",
                         help="Also write the local fractal dimension (float32; default: not written).")
    enhance.set_defaults(run=_run_enhance)

    evaluate = commands.add_parser(
        "evaluate-enhancement", parents=[common, evaluation, stage],
        help="Compare the enhancement with baselines on a lesion: CNR, background noise, edge sharpness.",
        description="Compare the original, each baseline (constant order 0.5, CLAHE, unsharp mask, Laplacian "
                    "sharpening), paper mode and the chosen mode on a lesion given by a label map, and print "
                    "the table.")
    evaluate.add_argument("--sweep", action="store_true",
                          help="Run every method over its strength instead (unsharp amount; Laplacian, Tiansi and "
                               "CLAHE blends; curvature anisotropic diffusion; both fractional modes) and print each "
                               "curve of (edge sharpness ratio, CNR ratio) and the CNR ratio read off at +25 %% and "
                               "+40 %% sharpness; runs that keep less than half the lesion's contrast are marked "
                               "'contrast lost' and left off the curves; --table then holds the read-off table.")
    evaluate.add_argument("--plot", metavar="OUT.png",
                          help="With --sweep: also draw the curves in a PNG (default: not drawn).")
    ring = evaluate.add_mutually_exclusive_group()
    ring.add_argument("--ring-range", type=finite_number, nargs=2, metavar=("LOW", "HIGH"),
                      help="Measure the background ring only where the original's grey value lies in LOW..HIGH "
                           "(default: -150 250, soft tissue without air, fat and bone, on a CT in HU, recognised by "
                           "air: values at or below -900; the whole ring where the image is no such CT or the window "
                           "leaves less than half the ring). The ring used is printed first.")
    ring.add_argument("--whole-ring", action="store_true",
                      help="Measure the whole background ring, also on a CT.")
    evaluate.set_defaults(run=_run_evaluate_enhancement)


def _run_enhance(arguments, progress):
    """The enhanced volume and maps, written; the text for stdout (or None), as every command's run returns."""
    from .. import mrml
    from .nodes import enhance_volume

    parameters = stage_parameters_from_arguments(EnhanceParameters, arguments)
    outputs = {"enhanced volume": arguments.output, "fractional-order map": arguments.order_map,
               "fractal-dimension map": arguments.fractal_map}
    outputs = {what: Path(path) for what, path in outputs.items() if path is not None}
    mrml.check_outputs([arguments.input], [(path, "volume") for path in outputs.values()])
    report(progress, 0.0, "Reading the input")
    input_node = mrml.read_volume(arguments.input, display=False)  # file to file: no views, no window/level
    scene = input_node.GetScene()
    maps = {what: scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", scene.GenerateUniqueName(what))
            for what in ("fractional-order map", "fractal-dimension map") if what in outputs}
    output_node = enhance_volume(input_node, None, parameters, progress=subrange(progress, 0.05, 0.9),
                                 order_map_node=maps.get("fractional-order map"),
                                 fractal_map_node=maps.get("fractal-dimension map"))
    nodes = {"enhanced volume": output_node, **maps}
    report(progress, 0.9, "Writing the outputs")
    compress = mrml.file_is_compressed(arguments.input) is not False  # as the input; DICOM in: compressed out
    with mrml.staged_outputs(outputs.values()) as staged:
        for what, path in outputs.items():
            mrml.write_volume(nodes[what], staged[path], compress=compress)
    return None if arguments.quiet else "\n".join(f"{what}: {path}" for what, path in outputs.items())


def _run_evaluate_enhancement(arguments, progress):
    """The background ring used, then the comparison table (or with ``--sweep`` the strength sweep), as text."""
    from .. import mrml
    from .compare import compare_enhancements, default_ring_range, format_table
    from .sweep import format_sweep, sweep_enhancements, sweep_figure, sweep_table

    parameters = stage_parameters_from_arguments(EnhanceParameters, arguments)
    if arguments.plot is not None and not arguments.sweep:
        raise InputError("--plot draws the strength sweep: add --sweep, or leave --plot out.")
    outputs = [(path, kind) for path, kind in ((arguments.table, "table"), (arguments.plot, "figure"))
               if path is not None]
    mrml.check_outputs([arguments.image, arguments.label], outputs)
    report(progress, 0.0, "Reading the image and the label map")
    image_node = mrml.read_volume(arguments.image)
    label_node = mrml.read_volume(arguments.label, labelmap=True)
    lesion_mask = reference_lesion_mask(arguments, image_node, label_node)
    image, spacing = mrml.array_from_volume(image_node), mrml.spacing_kji(image_node)
    if arguments.whole_ring:
        ring_range, ring = None, "whole (--whole-ring)"
    elif arguments.ring_range is not None:
        ring_range = tuple(arguments.ring_range)
        ring = "{:g}..{:g} (--ring-range)".format(*ring_range)
    else:
        ring_range, ring = default_ring_range(image, lesion_mask, spacing)
        ring += "; --whole-ring for all of it" if ring_range else "; --ring-range LOW HIGH limits it"
    ring_label = "whole" if ring_range is None else "{:g}..{:g}".format(*ring_range)
    if arguments.sweep:
        curves = sweep_enhancements(image, lesion_mask, spacing, parameters=parameters, ring_range=ring_range,
                                    progress=subrange(progress, 0.05, 1.0))
        rows, text, name = sweep_table(curves), format_sweep(curves), "enhancement sweep"
    else:
        rows = compare_enhancements(image, lesion_mask, spacing, parameters=parameters, ring_range=ring_range,
                                    progress=subrange(progress, 0.05, 1.0))
        text, name = format_table(rows), "enhancement comparison"
    if outputs:
        with mrml.staged_outputs([path for path, _ in outputs]) as staged:
            if arguments.table is not None:
                mrml.write_table(mrml.table_from_rows([{**row, "background_ring": ring_label} for row in rows],
                                                      name=name), staged[Path(arguments.table)])
            if arguments.plot is not None:
                sweep_figure(curves, title=f"{Path(arguments.image).name}, background ring: {ring_label}").savefig(
                    staged[Path(arguments.plot)])
    return f"background ring: {ring}\n{text}"
