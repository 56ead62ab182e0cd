"""Images where label maps belong and label maps where images belong: the likely mistake is said, not analysed."""

import numpy as np
import pytest

from clinicalimaging import InputError, mrml
from clinicalimaging.phantom import make_phantom
from test_cli import assert_clean_input_error, run_cli, write_image


def _case(folder, *, label_shift_mm=0.0, label_dtype=np.uint8):
    """An MR phantom image and its organ label map (the label moved ``label_shift_mm`` along the slices)."""
    phantom = make_phantom("mr", shape=(16, 48, 48), spacing=(2.5, 0.8, 0.8))
    image = write_image(folder / "image.nrrd", phantom.image.astype(np.float32))
    labels = write_image(folder / "labels.nrrd", phantom.labels.astype(label_dtype),
                         origin=(0.0, 0.0, label_shift_mm))
    return image, labels, phantom


def test_a_label_map_given_as_the_image_is_refused(tmp_path):
    _, labels, _ = _case(tmp_path)
    int_labels = write_image(tmp_path / "labels16.nrrd", (mrml.array_from_volume(mrml.read_volume(labels)) * 3)
                             .astype(np.int16))

    for source in (labels, int_labels):
        result = run_cli("enhance", source, tmp_path / "out.nrrd")
        assert_clean_input_error(result)
        assert "looks like a label map, not an image" in result.stderr
    assert not (tmp_path / "out.nrrd").exists()


def test_swapped_image_and_label_map_are_named_as_swapped(tmp_path):
    image, labels, phantom = _case(tmp_path)

    result = run_cli("evaluate-enhancement", labels, image, "--label-value", phantom.lesion_label)

    assert_clean_input_error(result)
    assert "swap them" in result.stderr


def test_an_image_given_as_the_label_map_is_refused(tmp_path):
    image, _, _ = _case(tmp_path)

    result = run_cli("evaluate-segmentation", image, image)

    assert_clean_input_error(result)
    assert "looks like an image" in result.stderr and "swap" not in result.stderr


def _shifted_labels(folder, name, phantom, inside):
    """The phantom's labels moved along x so that about ``inside`` (a fraction) of the lesion stays in the image.

    Label columns ``0 .. m-1`` land on the image's last ``m`` columns; the rest lie beyond it.
    """
    per_column = (phantom.labels == phantom.lesion_label).sum(axis=(0, 1))
    fractions = np.cumsum(per_column) / per_column.sum()  # lesion fraction in label columns 0 .. m-1, m = 1, 2, ...
    kept = int(np.argmin(np.abs(fractions - inside))) + 1
    width = phantom.labels.shape[2]
    write_image(folder / name, phantom.labels.astype(np.uint8), origin=(0.8 * (width - kept), 0.0, 0.0))
    return folder / name, fractions[kept - 1]


def test_a_label_map_of_another_scan_is_refused_and_one_partly_outside_is_said(tmp_path):
    image, _, phantom = _case(tmp_path)
    far, far_inside = _shifted_labels(tmp_path, "far.nrrd", phantom, 0.25)
    near, near_inside = _shifted_labels(tmp_path, "near.nrrd", phantom, 0.75)
    assert 0 < far_inside < 0.5 and 0.5 < near_inside < 0.9

    refused = run_cli("evaluate-enhancement", image, far, "--label-value", phantom.lesion_label)
    said = run_cli("evaluate-enhancement", image, near, "--label-value", phantom.lesion_label)

    assert_clean_input_error(refused)
    assert "another scan" in refused.stderr
    assert said.returncode == 0, said.stderr
    warnings = [line for line in said.stderr.splitlines() if line.startswith("clinicalimaging: warning:")]
    assert len(warnings) == 1 and "lies inside image" in warnings[0]


def test_node_level_stages_refuse_a_label_map_node(tmp_path):
    from clinicalimaging.enhance.nodes import enhance_volume

    _, labels, _ = _case(tmp_path)
    node = mrml.read_volume(labels, labelmap=True)
    with pytest.raises(InputError, match="looks like a label map"):
        enhance_volume(node, None, {})


def test_detection_commands_refuse_swapped_image_and_labels_before_loading_the_model(tmp_path):
    image, labels, _ = _case(tmp_path)
    names = tmp_path / "names.json"
    names.write_text('{"1": "liver", "2": "spleen"}', encoding="utf-8")

    evaluated = run_cli("evaluate-detection", labels, image, "--label-names", names, "--organs", "liver")
    trained = run_cli("train-detector", "--images", labels, "--labels", image, "--label-names", names,
                      "--organs", "liver", "--out", tmp_path / "model.keras", "--epochs", "1")

    for result in (evaluated, trained):
        assert_clean_input_error(result)
        assert "swap them" in result.stderr
    assert not (tmp_path / "model.keras").exists()
