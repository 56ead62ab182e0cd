"""The cases of a cohort: found in a folder (volume files, DICOM series folders, outlines) or read from a manifest."""

import os
from pathlib import Path

import pytest
import SimpleITK as sitk

from clinicalimaging.errors import InputError
from clinicalimaging.pipeline.cases import Case, find_cases, read_manifest
from test_mrml import write_dicom_series


def volume(path):
    """A small int16 volume file at ``path`` (folders created; written under a lower-case name, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    written = path.with_name(path.name.lower())
    sitk.WriteImage(sitk.Image(4, 4, 3, sitk.sitkInt16), str(written))
    written.rename(path)
    return path


def outline(path):
    """A markups file at ``path`` (its content is not read when cases are found)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}", encoding="utf-8")
    return path


def dicom_series(folder, uid="1.2.826.0.1.3680043.2.1125.7.1", prefix="slice"):
    """A real two-slice CT series in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    write_dicom_series(sitk.Image(4, 4, 2, sitk.sitkInt16), folder, series_uid=uid, prefix=prefix)
    return folder


def one_line_error(excinfo):
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_volume_files_of_every_extension_are_cases_with_ids_from_their_paths(tmp_path):
    for name in ("b.nrrd", "sub/c.nhdr", "sub/deeper/d.nii", "e.NII.GZ", "f.mha", "p 1/ct scan (2).nii.gz"):
        volume(tmp_path / name)
    volume(tmp_path / "lesion.seg.nrrd")  # a segmentation, not a case
    (tmp_path / "notes.txt").write_text("not an image", encoding="utf-8")
    cases = find_cases(tmp_path)
    assert [case.case_id for case in cases] == ["b", "e", "f", "p_1__ct_scan__2_", "sub__c", "sub__deeper__d"]
    assert cases[4] == Case("sub__c", tmp_path / "sub" / "c.nhdr")
    assert all(case.image.is_absolute() and case.outline is None and case.target_organ is None for case in cases)
    assert find_cases(tmp_path) == cases


def test_a_relative_folder_gives_absolute_paths(tmp_path, monkeypatch):
    volume(tmp_path / "cohort" / "a.nrrd")
    monkeypatch.chdir(tmp_path)
    assert find_cases("cohort") == [Case("a", tmp_path / "cohort" / "a.nrrd")]


def test_an_outline_beside_a_volume_of_the_same_stem_is_its_outline(tmp_path):
    volume(tmp_path / "a.nii.gz")
    outline(tmp_path / "a.mrk.json")
    volume(tmp_path / "b.nrrd")
    outline(tmp_path / "other.mrk.json")  # no volume of that stem: ignored
    outline(tmp_path / "sub" / "b.mrk.json")  # another folder: not b's outline
    volume(tmp_path / "c.nrrd")
    outline(tmp_path / "C.MRK.JSON")  # the stem differs in case
    volume(tmp_path / "d.nrrd")
    outline(tmp_path / "d.MRK.JSON")
    cases = {case.case_id: case for case in find_cases(tmp_path)}
    assert sorted(cases) == ["a", "b", "c", "d"]
    assert cases["a"].outline == tmp_path / "a.mrk.json"
    assert cases["b"].outline is None and cases["c"].outline is None
    assert cases["d"].outline == tmp_path / "d.MRK.JSON"


def test_a_dicom_series_folder_is_one_case_whatever_its_file_names(tmp_path):
    series = dicom_series(tmp_path / "patient 1" / "ct")
    first = sorted(series.iterdir())[0]
    first.rename(series / "IM0001")  # DICOM files need no extension
    outline(tmp_path / "patient 1" / "ct.mrk.json")
    dicom_series(series / "localizer", uid="1.2.826.0.1.3680043.2.1125.7.2")  # inside a series: not searched
    volume(series / "derived" / "mask.nrrd")  # volume files inside still count
    cases = find_cases(tmp_path)
    assert cases == [Case("patient_1__ct", series, outline=tmp_path / "patient 1" / "ct.mrk.json"),
                     Case("patient_1__ct__derived__mask", series / "derived" / "mask.nrrd")]


def test_a_folder_that_is_itself_a_dicom_series_is_a_case_named_after_it(tmp_path):
    series = dicom_series(tmp_path / "ct-0001")
    assert find_cases(series) == [Case("ct-0001", series)]


def test_a_folder_of_two_dicom_series_is_refused_with_what_to_do(tmp_path):
    mixed = dicom_series(tmp_path / "mixed", uid="1.2.826.0.1.3680043.2.1125.7.1", prefix="a")
    dicom_series(mixed, uid="1.2.826.0.1.3680043.2.1125.7.2", prefix="b")
    volume(tmp_path / "fine.nrrd")
    with pytest.raises(InputError) as excinfo:
        find_cases(tmp_path)
    message = one_line_error(excinfo)
    assert f"'{mixed}'" in message and "2 DICOM series" in message
    assert "own folder" in message and "manifest" in message


def test_files_without_dicom_magic_make_no_series(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "slice.dcm").write_bytes(b"\0" * 128 + b"DICX" + b"\0" * 64)
    volume(tmp_path / "a.nrrd")
    assert [case.case_id for case in find_cases(tmp_path)] == ["a"]


def test_hidden_files_and_folders_are_skipped(tmp_path):
    volume(tmp_path / ".a.nrrd")
    volume(tmp_path / ".cache" / "b.nrrd")
    dicom_series(tmp_path / ".trash" / "ct")
    volume(tmp_path / "c.nrrd")
    assert [case.case_id for case in find_cases(tmp_path)] == ["c"]


def test_the_excluded_subtree_is_skipped(tmp_path):
    volume(tmp_path / "a.nrrd")
    volume(tmp_path / "out" / "a" / "enhanced.nrrd")
    dicom_series(tmp_path / "out" / "b")
    assert [case.case_id for case in find_cases(tmp_path)] == ["a", "out__a__enhanced", "out__b"]
    assert [case.case_id for case in find_cases(tmp_path, exclude=tmp_path / "out")] == ["a"]
    assert [case.case_id for case in find_cases(tmp_path, exclude=tmp_path / "out" / ".." / "out")] == ["a"]


def test_a_link_to_a_folder_above_does_not_loop(tmp_path):
    volume(tmp_path / "sub" / "a.nrrd")
    os.symlink(tmp_path, tmp_path / "sub" / "up")
    assert [case.case_id for case in find_cases(tmp_path)] == ["sub__a"]


@pytest.mark.parametrize("names", [("a.nrrd", "a.nii.gz"), ("a__b.nrrd", "a/b.mha"), ("Ct.nrrd", "ct.nrrd")])
def test_two_inputs_with_one_id_are_refused_naming_both(tmp_path, names):
    for name in names:
        volume(tmp_path / name)
    with pytest.raises(InputError) as excinfo:
        find_cases(tmp_path)
    message = one_line_error(excinfo)
    assert all(f"'{tmp_path / name}'" in message for name in names)
    assert "manifest" in message


@pytest.mark.parametrize("where, problem", [("missing", "does not exist"), ("file.nrrd", "is not a folder"),
                                            ("empty", "holds no case")])
def test_an_input_folder_without_cases_is_refused_with_what_counts(tmp_path, where, problem):
    volume(tmp_path / "file.nrrd")
    (tmp_path / "empty").mkdir()
    outline(tmp_path / "empty" / "a.mrk.json")
    volume(tmp_path / "empty" / "a.seg.nrrd")
    with pytest.raises(InputError) as excinfo:
        find_cases(tmp_path / where)
    message = one_line_error(excinfo)
    assert f"'{tmp_path / where}' {problem}" in message
    assert all(extension in message for extension in (".nrrd", ".nhdr", ".nii", ".nii.gz", ".mha", "DICOM"))


def manifest(folder, text, name="cases.csv"):
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_manifest_lists_its_cases_in_order_with_absolute_paths(tmp_path):
    path = manifest(tmp_path, "\ufeffcase,image,outline,target_organ\n"
                              " p2 , images/p2.nii.gz , p2.mrk.json ,\n"
                              "\n"
                              ",/data/Ct Scan.NRRD,,liver\n"
                              ",../series/p3/,,\n"
                              ",~/p4.mha,,\n")
    assert read_manifest(path) == [
        Case("p2", tmp_path / "images" / "p2.nii.gz", outline=tmp_path / "p2.mrk.json"),
        Case("Ct_Scan", Path("/data/Ct Scan.NRRD"), target_organ="liver"),
        Case("p3", tmp_path.parent / "series" / "p3"),
        Case("p4", Path.home() / "p4.mha")]


def test_manifest_paths_start_from_base_when_given_and_need_only_an_image_column(tmp_path):
    path = manifest(tmp_path, "image\na.nrrd\n")
    assert read_manifest(path, base=tmp_path / "data") == [Case("a", tmp_path / "data" / "a.nrrd")]


@pytest.mark.parametrize("text, expected", [
    ("case,outline\na,a.mrk.json\n", ["line 1", "no 'image' column", "case, image, outline, target_organ"]),
    ("case,image\na,\n", ["line 2", "no image"]),
    ("image\nx/ct.nrrd\ny/ct.nii.gz\n", ["line 3", "'ct'", "also on line 2"]),
    ("case,image\nA,a.nrrd\n\nb,b.nrrd\na,c.nrrd\n", ["line 5", "'a'", "also on line 2"]),
    ("case,image,Sex,age\na,a.nrrd,F,50\n", ["line 1", "'sex', 'age'", "case, image, outline, target_organ"]),
    ("image,outline,target_organ\na.nrrd,a.mrk.json,liver\n", ["line 2", "both an outline and a target organ"]),
    ("case,image\npatient/1,a.nrrd\n", ["line 2", "'patient/1'", "letters, digits"]),
    ("case,image\n..,a.nrrd\n", ["line 2", "'..'", "letters, digits"]),
    ("case,image\n", ["lists no case"]),
    ("case,image\n\n \n", ["lists no case"]),
    ("", ["is empty", "image"]),
    ("image\na.nrrd,b.nrrd\n", ["line 2", "2 values for 1 columns"]),
    ("image,,case\na.nrrd,,a\n", ["line 1", "column 2 has no name"]),
    ("image,Image\na.nrrd,b.nrrd\n", ["line 1", "'image' appears more than once"]),
    ('image\n"a.nrrd\n', ["line 2", "not valid CSV"]),
])
def test_a_wrong_manifest_is_refused_in_one_line_naming_it_the_line_and_the_problem(tmp_path, text, expected):
    path = manifest(tmp_path, text)
    with pytest.raises(InputError) as excinfo:
        read_manifest(path)
    message = one_line_error(excinfo)
    assert f"Manifest '{path}'" in message
    assert all(part in message for part in expected), message


def test_a_manifest_with_trailing_empty_cells_is_read(tmp_path):
    path = manifest(tmp_path, "image,case\na.nrrd,a,,\n")
    assert read_manifest(path) == [Case("a", tmp_path / "a.nrrd")]


@pytest.mark.parametrize("setup, expected", [("missing", "does not exist"), ("latin-1", "not UTF-8")])
def test_an_unreadable_manifest_is_refused(tmp_path, setup, expected):
    path = tmp_path / "cases.csv"
    if setup == "latin-1":
        path.write_bytes("image\nr\xe9sum\xe9.nrrd\n".encode("latin-1"))
    with pytest.raises(InputError) as excinfo:
        read_manifest(path)
    message = one_line_error(excinfo)
    assert f"'{path}'" in message and expected in message
