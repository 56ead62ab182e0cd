"""Stage parameters on the command line: options that do not apply, renamed fields, option names in messages."""

import json

import pytest

from clinicalimaging import InputError
from clinicalimaging.cli import build_parser, main
from clinicalimaging.cli_options import parameters_from_arguments
from clinicalimaging.enhance.parameters import EnhanceParameters
from clinicalimaging.parameters import ParameterError
from clinicalimaging.segment.parameters import SegmentParameters
from test_cli import phantom_file

# Options that have no effect with the others: (arguments, option refused, what the message says about the mode).
NOT_APPLICABLE = {
    "fixed threshold low, automatic thresholds": (["--fractal-dimension-low", "1.2"], "--fractal-dimension-low",
                                                  "automatic thresholds"),
    "fixed threshold high, automatic thresholds": (["--automatic-thresholds", "--fractal-dimension-high", "2.6"],
                                                   "--fractal-dimension-high", "--no-automatic-thresholds"),
    "order at low dimension, paper mode": (["--mode", "paper", "--order-at-low-dimension", "0.3"],
                                           "--order-at-low-dimension", "paper mode"),
    "order at high dimension, paper mode": (["--mode", "paper", "--order-at-high-dimension", "0.1"],
                                            "--order-at-high-dimension", "--mode adaptive"),
    "automatic thresholds, paper mode": (["--mode", "paper", "--no-automatic-thresholds"], "--automatic-thresholds",
                                         "paper mode"),
}


def _main(capsys, *arguments):
    status = main([str(argument) for argument in arguments])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("case", list(NOT_APPLICABLE))
def test_cli_refuses_an_option_that_does_not_apply(tmp_path, capsys, case):
    arguments, option, mode = NOT_APPLICABLE[case]
    source = phantom_file(tmp_path / "in.nrrd")

    status, out, err = _main(capsys, "enhance", source, tmp_path / "out.nrrd", "--quiet", *arguments)

    assert status == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("clinicalimaging: error: " + option)
    assert "does not apply" in err and mode in err and "_" not in err.split("(")[0]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.nrrd"]


@pytest.mark.parametrize("arguments", [["--mode", "adaptive", "--order-at-high-dimension", "-0.2"],
                                       ["--no-automatic-thresholds", "--fractal-dimension-low", "1.4"],
                                       ["--mode", "paper", "--fractal-dimension-high", "2.2", "--strength", "0.5"]])
def test_cli_options_that_apply_are_accepted(arguments):
    parsed = build_parser().parse_args(["enhance", "a.nrrd", "b.nrrd", *arguments])
    from clinicalimaging.cli_options import stage_parameters_from_arguments

    assert isinstance(stage_parameters_from_arguments(EnhanceParameters, parsed), EnhanceParameters)


def test_cli_parameter_file_values_count_as_given_unless_they_are_the_defaults(tmp_path, capsys):
    source = phantom_file(tmp_path / "in.nrrd")
    saved, refused = tmp_path / "saved.json", tmp_path / "refused.json"
    saved.write_text(EnhanceParameters(mode="paper", strength=0.5).to_json())  # every field, as to_json writes
    refused.write_text(json.dumps({"mode": "paper", "order_at_high_dimension": 0.1}))

    accepted = _main(capsys, "enhance", source, tmp_path / "out.nrrd", "--parameters", saved, "--quiet")
    status, _, err = _main(capsys, "enhance", source, tmp_path / "other.nrrd", "--parameters", refused, "--quiet")
    overridden = _main(capsys, "enhance", source, tmp_path / "last.nrrd", "--parameters", refused, "--mode",
                       "adaptive", "--quiet")

    assert accepted[0] == 0, accepted
    assert status == 2 and err.startswith(f"clinicalimaging: error: Parameter file '{refused}': "
                                          "order_at_high_dimension does not apply in paper mode")
    assert overridden[0] == 0, overridden  # the command line's --mode wins, and then the file's order applies


def test_parameter_errors_name_fields_in_python_and_options_on_the_command_line(tmp_path, capsys):
    with pytest.raises(ParameterError) as error:
        EnhanceParameters(number_of_terms=40)
    assert str(error.value) == "number_of_terms must be at most 16; got 40."
    assert isinstance(error.value, InputError)
    with pytest.raises(ParameterError, match=r"^order_at_low_dimension does not apply in paper mode.*mode='adaptive'"):
        EnhanceParameters(mode="paper").check_given(["order_at_low_dimension"])
    EnhanceParameters(mode="paper").check_given(["strength", "mask"])  # these always apply

    status, _, err = _main(capsys, "enhance", tmp_path / "in.nrrd", tmp_path / "out.nrrd", "--number-of-terms", 40)
    assert status == 2 and err == "clinicalimaging: error: --number-of-terms must be at most 16; got 40.\n"
    status, _, err = _main(capsys, "enhance", tmp_path / "in.nrrd", tmp_path / "out.nrrd",
                           "--fractal-dimension-low", 2.5, "--fractal-dimension-high", 2.0, "--no-automatic-thresholds")
    assert "--fractal-dimension-low (2.5) must be below --fractal-dimension-high (2.0)" in err


def test_renamed_segment_fields_keep_their_former_names_as_hidden_aliases(tmp_path, capsys):
    assert SegmentParameters.from_dict({"margin_px": 12, "margin_z_mm": 3}) == SegmentParameters(
        roi_padding_px=12, roi_padding_z_mm=3.0)
    assert SegmentParameters.from_json('{"margin_px": 7}').roi_padding_px == 7
    parser = build_parser()
    for flags in (["--margin-px", "9", "--margin-z-mm", "4"], ["--roi-padding-px", "9", "--roi-padding-z-mm", "4"]):
        arguments = parser.parse_args(["segment", "a.nrrd", "b.seg.nrrd", "--outline", "o.mrk.json", *flags])
        assert parameters_from_arguments(SegmentParameters, arguments) == SegmentParameters(roi_padding_px=9,
                                                                                            roi_padding_z_mm=4.0)
    status, out, _ = _main(capsys, "segment", "--help")
    assert status == 0 and "--roi-padding-px" in out and "--margin-px" not in out and "margin-z" not in out


@pytest.mark.parametrize("value", ["nan", "NaN"])
def test_cli_refuses_nan_with_the_option_name(tmp_path, capsys, value):
    source = phantom_file(tmp_path / "in.nrrd")

    status, out, err = _main(capsys, "enhance", source, tmp_path / "out.nrrd", "--quiet", "--strength", value)

    assert status == 2 and out == ""
    assert err.startswith("clinicalimaging: error: --strength must be a finite number") and len(err.splitlines()) == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.nrrd"]


def test_parameter_file_refuses_nan(tmp_path, capsys):
    source = phantom_file(tmp_path / "in.nrrd")
    parameters = tmp_path / "parameters.json"
    parameters.write_text('{"strength": NaN}', encoding="utf-8")  # what json.dumps writes for a NaN

    status, _, err = _main(capsys, "enhance", source, tmp_path / "out.nrrd", "--parameters", parameters)

    assert status == 2 and "strength must be a finite number" in err and parameters.name in err


def test_every_float_parameter_refuses_nan_and_infinity_in_python():
    from clinicalimaging.detect.parameters import DetectParameters, TrainParameters
    from clinicalimaging.parameters import describe

    for stage in (EnhanceParameters, SegmentParameters, DetectParameters, TrainParameters):
        for field in describe(stage):
            if field["type"] is not float:
                continue
            for value in (float("nan"), float("inf"), -float("inf")):
                with pytest.raises(ParameterError, match=field["name"]):
                    stage.from_dict({field["name"]: value})


def test_ring_range_refuses_nan(tmp_path, capsys):
    source = phantom_file(tmp_path / "in.nrrd")

    status, _, err = _main(capsys, "evaluate-enhancement", source, source, "--ring-range", "nan", "250")

    assert status == 2 and "--ring-range: must be a finite number" in err and len(err.splitlines()) == 1
