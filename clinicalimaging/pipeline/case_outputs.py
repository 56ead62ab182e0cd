"""The outputs of one case, in one folder under stable names: volumes, organs, segmentation, report, scene, summary.

:data:`OUTPUT_NAMES` is the contract with users and with the cohort layer: the same
names in a ``pipeline`` output folder and in every case folder of a ``batch`` run.
"""

import json

#: Output file names in a case's folder, by what they hold.
OUTPUT_NAMES = {"enhanced volume": "enhanced.nrrd", "fractional-order map": "order_map.nrrd",
                "organ ROIs": "organs.mrk.json", "organ table": "organs.csv", "segmentation": "lesion.seg.nrrd",
                "report": "report.png", "scene": "scene.mrb", "summary": "summary.json"}


def output_paths(folder, stages):
    """The output paths of the stages that run.

    Parameters
    ----------
    folder : Path
        The case's folder.
    stages : iterable of str
        The stages that run (:data:`~clinicalimaging.pipeline.chain.STAGES`).

    Returns
    -------
    dict of str to Path
        What each output holds (a key of :data:`OUTPUT_NAMES`) to its path.
    """
    stages = set(stages)
    wanted = {"summary", "report", "scene"}
    if "enhance" in stages:
        wanted |= {"enhanced volume", "fractional-order map"}
    if "detect" in stages:
        wanted |= {"organ ROIs", "organ table"}
    if "segment" in stages:
        wanted.add("segmentation")
    return {what: folder / name for what, name in OUTPUT_NAMES.items() if what in wanted}


def output_kind(path):
    """The output kind of :func:`~clinicalimaging.mrml.check_output_path` for a file of :data:`OUTPUT_NAMES`."""
    for ending, kind in ((".seg.nrrd", "segmentation"), (".mrk.json", "markups"), (".nrrd", "volume"),
                         (".csv", "table"), (".png", "figure"), (".mrb", "bundle"), (".json", "record")):
        if path.name.endswith(ending):
            return kind
    raise ValueError(f"no output kind for '{path.name}'")


def write_case_outputs(result, staged, outputs, summary):
    """Write each output of a case into its staged path.

    Parameters
    ----------
    result : CaseResult
        The chain's nodes and figures (:func:`~clinicalimaging.pipeline.chain.run_case`).
    staged : dict of Path to Path
        Final path to the path to write now (:func:`~clinicalimaging.mrml.staged_outputs`).
    outputs : dict of str to Path
        :func:`output_paths` of the stages that ran.
    summary : dict
        The case's summary, written as JSON.
    """
    from .. import mrml
    from ..detect.nodes_output import detection_table
    from ..report import case_report_figure

    image = mrml.voxels_of_volume(result.input_node)
    if "enhanced volume" in outputs:
        mrml.write_volume(result.enhanced_node, staged[outputs["enhanced volume"]])
        mrml.write_volume(result.order_map_node, staged[outputs["fractional-order map"]])
    if "organ ROIs" in outputs:
        mrml.write_markups_list(result.roi_nodes, staged[outputs["organ ROIs"]])
        mrml.write_table(detection_table(result.boxes, scene=result.input_node.GetScene()),
                         staged[outputs["organ table"]])
    if "segmentation" in outputs and result.segmentation_node is not None:
        mrml.write_segmentation(result.segmentation_node, staged[outputs["segmentation"]])
    mask = result.lesion_mask if result.lesion_mask is not None else image.astype(bool) & False
    figure = case_report_figure(image, mask, mrml.ijk_to_ras(result.input_node),
                                enhanced=None if result.enhanced_node is None else
                                mrml.voxels_of_volume(result.enhanced_node),
                                boxes=result.boxes, title=result.input_node.GetName(), unit=result.unit,
                                structure=summary.get("target_organ") or "lesion")
    figure.savefig(staged[outputs["report"]])
    scene = result.input_node.GetScene()
    selection = scene.GetNodeByID("vtkMRMLSelectionNodeSingleton")
    if selection is not None:  # what Slicer shows first: the enhanced volume, else the input
        selection.SetActiveVolumeID((result.enhanced_node or result.input_node).GetID())
    mrml.write_scene_bundle(scene, staged[outputs["scene"]])
    staged[outputs["summary"]].write_text(json.dumps(summary, indent=2), encoding="utf-8")


def key_figures(summary):
    """One line of the figures a reader looks for first: organs found, the lesion's (or target organ's) size, CNR,
    seconds per stage."""
    parts = [f"{len(summary['organs'])} organs found"] if "detect" in summary["seconds"] else []
    lesion = summary["lesion"]
    if lesion is not None:
        parts.append(f"{summary.get('target_organ') or 'lesion'} {lesion['volume_ml']:.2f} mL, "
                     f"{lesion['longest_diameter_mm']:.1f} x "
                     f"{lesion['perpendicular_diameter_mm']:.1f} mm")
        cnr = summary["cnr"]
        if cnr.get("ratio") is not None:
            parts.append(f"CNR {cnr['original']:.2f} -> {cnr['enhanced']:.2f} (x{cnr['ratio']:.2f})")
    parts.append("seconds: " + ", ".join(f"{stage} {value:.1f}" for stage, value in summary["seconds"].items()))
    return "; ".join(parts)
