"""Every output of a command records what made it: version, command, parameters, the inputs' checksums."""

import hashlib
import json

import numpy as np
import SimpleITK as sitk

from clinicalimaging import __version__, mrml
from clinicalimaging.phantom import make_phantom
from test_cli import phantom_file, run_cli, write_image


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _header_fields(path):
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    reader.ReadImageInformation()
    return {key.removeprefix("clinicalimaging_"): reader.GetMetaData(key) for key in reader.GetMetaDataKeys()
            if key.startswith("clinicalimaging_")}


def _check(record, source, *arguments):
    assert record["version"] == f"clinicalimaging {__version__}"
    assert all(str(argument) in record["command"] for argument in arguments)
    inputs = record["inputs"] if isinstance(record["inputs"], list) else json.loads(record["inputs"])
    assert inputs[0] == {"path": str(source), "sha256": _sha256(source)}


def test_enhance_outputs_record_version_command_parameters_and_input_checksum(tmp_path):
    source = phantom_file(tmp_path / "in.nii.gz")
    outputs = [tmp_path / name for name in ("enhanced.nrrd", "order.mha", "fd.nii.gz")]

    result = run_cli("enhance", source, outputs[0], "--order-map", outputs[1], "--fractal-map", outputs[2],
                     "--strength", "0.7", "--quiet")

    assert result.returncode == 0, result.stderr
    for path in outputs[:2]:  # NRRD and MetaImage: fields of the header, read back by ITK
        fields = _header_fields(path)
        _check(fields, source, "--strength", "0.7")
        assert json.loads(fields["parameters"])["EnhanceParameters"]["strength"] == 0.7
        assert mrml.array_from_volume(mrml.read_volume(path)).shape == (8, 48, 48)  # still a readable volume
    sidecar = json.loads((tmp_path / "fd.nii.gz.provenance.json").read_text(encoding="utf-8"))
    _check(sidecar, source, "--fractal-map")
    assert sidecar["parameters"]["EnhanceParameters"]["strength"] == 0.7
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        ["in.nii.gz", "enhanced.nrrd", "order.mha", "fd.nii.gz", "fd.nii.gz.provenance.json"])


def test_segmentation_table_and_outline_record_their_provenance(tmp_path):
    phantom = make_phantom("mr", shape=(10, 64, 64), spacing=(2.5, 0.8, 0.8))
    image = write_image(tmp_path / "image.nrrd", phantom.image.astype(np.float32))
    labels = write_image(tmp_path / "labels.nrrd", phantom.labels.astype(np.uint8))
    outline = tmp_path / "outline.mrk.json"
    assert run_cli("evaluate-segmentation", image, labels, "--label-value", phantom.lesion_label,
                   "--outline-out", outline, "--quiet").returncode == 0

    result = run_cli("segment", image, tmp_path / "lesion.seg.nrrd", "--outline", outline,
                     "--table", tmp_path / "results.csv", "--quiet")

    assert result.returncode == 0, result.stderr
    _check(json.loads(outline.read_text(encoding="utf-8"))["clinicalimaging"], image, "--outline-out")
    assert mrml.read_markups(outline).GetNumberOfControlPoints() > 3  # Slicer's reader ignores the extra key
    fields = _header_fields(tmp_path / "lesion.seg.nrrd")
    _check(fields, image, "--outline")
    assert [entry["path"] for entry in json.loads(fields["inputs"])] == [str(image), str(outline)]
    assert mrml.read_segmentation(tmp_path / "lesion.seg.nrrd").GetSegmentation().GetNumberOfSegments() == 1
    _check(json.loads((tmp_path / "results.csv.provenance.json").read_text(encoding="utf-8")), image, "--table")
    assert "volume_ml" in (tmp_path / "results.csv").read_text(encoding="utf-8").splitlines()[0]  # the table as before


def test_a_replaced_output_is_reported_and_python_writes_carry_no_record(tmp_path):
    source = phantom_file(tmp_path / "in.nrrd")
    output = tmp_path / "out.nii.gz"

    first = run_cli("enhance", source, output)
    second = run_cli("enhance", source, output)

    assert "replaced existing" not in first.stdout
    assert f"replaced existing file(s): {output}, {output}.provenance.json" in second.stdout
    mrml.write_volume(mrml.read_volume(source), tmp_path / "python.nrrd")
    assert _header_fields(tmp_path / "python.nrrd") == {}
    assert not (tmp_path / "python.nrrd.provenance.json").exists()
