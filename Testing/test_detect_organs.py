"""Organ classes: colours, left/right pairs, label-name files and organ selection."""

import json

import numpy as np
import pytest

from clinicalimaging import InputError
from clinicalimaging.detect.organs import (DEFAULT_ORGANS, PHANTOM_NAMES, mirror_swaps, organ_colour,
                                           read_label_names, select_organs)
from clinicalimaging.phantom import LABEL_NAMES
from clinicalimaging.preprocess import augment_labels


def test_default_organs_have_distinct_fixed_colours_and_pairs_share_a_hue():
    import colorsys

    colours = [organ_colour(name) for name in DEFAULT_ORGANS]
    assert len(set(colours)) == len(DEFAULT_ORGANS) == 22
    assert all(0.0 <= channel <= 1.0 for colour in colours for channel in colour)
    for stem in ("kidney", "autochthon", "iliopsoas"):
        left, right = (colorsys.rgb_to_hsv(*organ_colour(f"{stem}_{side}"))[0] for side in ("left", "right"))
        assert abs(left - right) < 0.05
    red, green, blue = organ_colour("aorta")
    assert red > 0.7 and green < 0.3 and blue < 0.3
    red, green, blue = organ_colour("inferior_vena_cava")
    assert blue > 0.7 and red < 0.3


def test_other_names_get_a_stable_hashed_colour():
    colour = organ_colour("duodenum")
    assert colour == organ_colour("duodenum") != organ_colour("colon")
    assert all(0.0 <= channel <= 1.0 for channel in colour)
    assert colour not in {organ_colour(name) for name in DEFAULT_ORGANS}


def test_phantom_names_map_only_to_default_organs():
    assert set(PHANTOM_NAMES) <= set(LABEL_NAMES.values())
    assert set(PHANTOM_NAMES.values()) <= set(DEFAULT_ORGANS)
    assert not {"spine", "body", "lesion"} & set(PHANTOM_NAMES)


def test_mirror_swaps_pairs_left_and_right_for_augment_labels():
    assert mirror_swaps(DEFAULT_ORGANS) == {2: 3, 11: 12, 13: 14}
    assert mirror_swaps(DEFAULT_ORGANS, offset=1) == {3: 4, 12: 13, 14: 15}
    assert mirror_swaps({7: "rib_left_1", 9: "rib_right_1", 4: "kidney_left", 1: "liver"}) == {7: 9}
    labels = np.array([[[1, 3, 4, 0]]])  # liver, kidney_left, kidney_right (values = index + 1)
    mirrored = augment_labels(labels, (0, True), mirror_swaps=mirror_swaps(DEFAULT_ORGANS, offset=1))
    np.testing.assert_array_equal(mirrored, [[[0, 3, 4, 1]]])  # mirrored columns, kidneys swapped back


def write(tmp_path, content):
    path = tmp_path / "names.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_flat_and_per_file_label_name_files_are_read(tmp_path):
    assert read_label_names(write(tmp_path, {"2": "kidney_right", "1": "spleen"})) == {1: "spleen",
                                                                                      2: "kidney_right"}
    path = write(tmp_path, {"organs.nii.gz": {"1": "spleen"}, "vertebrae.nii.gz": {"1": "vertebrae_L1"}})
    assert read_label_names(path, labels_file="/data/case1/vertebrae.nii.gz") == {1: "vertebrae_L1"}
    with pytest.raises(InputError, match="no entry for the label map 'ribs.nii.gz'.*organs.nii.gz, vertebrae.nii.gz"):
        read_label_names(path, labels_file="ribs.nii.gz")
    with pytest.raises(InputError, match="several label maps"):
        read_label_names(path)
    assert read_label_names(write(tmp_path, {"a.nrrd": {"3": "liver"}})) == {3: "liver"}


@pytest.mark.parametrize("content, message", [
    ("{\"1\": \"spleen\",", "not valid JSON"),
    ({"one": "spleen"}, "key 'one' is not a label value"),
    ({"1.5": "spleen"}, "not a label value"),
    ({"0": "background"}, "0 is the background"),
    ({"1": "liver", "2": "liver"}, "same name.*liver"),
    ("{\"1\": \"liver\", \"1\": \"spleen\"}", "key '1' twice"),
    ({"1": ""}, "empty name"),
    ([1, 2], "JSON object"),
    ({"1": "liver", "b.nii": {"1": "x"}}, "mixes"),
])
def test_bad_label_name_files_raise_input_error(tmp_path, content, message):
    with pytest.raises(InputError, match=message):
        read_label_names(write(tmp_path, content))


def test_a_missing_label_name_file_is_named(tmp_path):
    with pytest.raises(InputError, match="missing.json' does not exist"):
        read_label_names(tmp_path / "missing.json")


def test_select_organs():
    assert select_organs(None, DEFAULT_ORGANS) == list(DEFAULT_ORGANS)
    assert select_organs("all", ["liver", "spleen"]) == ["liver", "spleen"]
    assert select_organs(" spleen, liver ,spleen", DEFAULT_ORGANS) == ["spleen", "liver"]
    assert select_organs(["aorta"], DEFAULT_ORGANS) == ["aorta"]
    with pytest.raises(InputError, match="Unknown organ 'kidney_lft'. Did you mean 'kidney_left'.*Available organs: "
                                         "liver, spleen"):
        select_organs("liver,kidney_lft", DEFAULT_ORGANS)
    with pytest.raises(InputError, match="Unknown organ 'brain'\\. Available"):
        select_organs("brain", ["liver", "spleen"])
    with pytest.raises(InputError, match="No organ was chosen"):
        select_organs(" , ", DEFAULT_ORGANS)
