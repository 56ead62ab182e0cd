"""The strength sweep: every method's curve of (edge sharpness ratio, CNR ratio), read off at sharpness gains."""

import math

import numpy as np
import pytest

from clinicalimaging.enhance.baselines import curvature_anisotropic_diffusion
from clinicalimaging.enhance.sweep import (SWEEPS, SweepPoint, format_sweep, read_off, sweep_enhancements, sweep_figure,
                                          sweep_table)
from clinicalimaging.errors import InputError
from clinicalimaging.phantom import make_phantom


@pytest.fixture(scope="module")
def curves():
    phantom = make_phantom("mr", shape=(8, 64, 64))
    methods = ("unsharp mask", "curvature anisotropic diffusion", "FractionalEnhance (default)")
    return sweep_enhancements(phantom.image, phantom.labels == phantom.lesion_label, phantom.spacing,
                              methods=methods)


def test_every_curve_starts_at_the_original_and_has_one_point_per_strength(curves):
    for name, curve in curves.items():
        assert curve[0] == SweepPoint(0.0, 1.0, 1.0, 1.0)
        assert [point.strength for point in curve[1:]] == list(SWEEPS[name].strengths)
        assert all(math.isfinite(value) for point in curve for value in point)


def test_sharpening_trades_cnr_for_sharpness_and_diffusion_the_other_way(curves):
    _, sharpness, cnr, _ = map(np.array, zip(*curves["unsharp mask"]))
    assert np.all(np.diff(sharpness) > 0) and np.all(np.diff(cnr) < 0)
    _, sharpness, cnr, _ = map(np.array, zip(*curves["curvature anisotropic diffusion"]))
    assert sharpness[-1] < 1.0 < cnr[-1]


def test_read_off_interpolates_between_the_bracketing_runs_and_says_never():
    curve = [SweepPoint(0.0, 1.0, 1.0, 1.0), SweepPoint(1.0, 1.2, 0.9, 1.0), SweepPoint(2.0, 1.4, 0.7, 1.0)]
    assert read_off(curve, 0.3) == pytest.approx(0.8)
    assert read_off(curve, 0.1) == pytest.approx(0.95)
    assert math.isnan(read_off(curve, 0.5))
    rows = sweep_table({"unsharp mask": curve})
    assert rows[0]["cnr_at_+25%"] == pytest.approx(0.85) and rows[0]["max_sharpness_gain"] == pytest.approx(0.4)
    assert "never" in format_sweep({"unsharp mask": curve[:2]})


def test_the_figure_draws_one_line_per_method_and_the_original(curves):
    figure = sweep_figure(curves, title="phantom")
    lines = [line for line in figure.axes[0].get_lines() if len(line.get_xdata()) > 1 or line.get_label() ==
             "original"]
    labels = [line.get_label() for line in lines if not line.get_label().startswith("_")]
    assert len(labels) == len(curves) + 1 and labels[-1] == "original"


def test_unknown_methods_and_bad_iterations_are_refused():
    phantom = make_phantom("ct", shape=(8, 48, 48))
    with pytest.raises(InputError, match="Unknown method"):
        sweep_enhancements(phantom.image, phantom.labels == phantom.lesion_label, phantom.spacing,
                           methods=["sharpest"])
    with pytest.raises(InputError, match="iterations"):
        curvature_anisotropic_diffusion(phantom.image, phantom.spacing, iterations=0)


def test_diffusion_on_a_box_equals_the_whole_volume_there():
    phantom = make_phantom("ct", shape=(8, 48, 48))
    box = (slice(1, 4), slice(10, 30), slice(12, 40))
    whole = curvature_anisotropic_diffusion(phantom.image, phantom.spacing, iterations=3)
    np.testing.assert_allclose(curvature_anisotropic_diffusion(phantom.image, phantom.spacing, iterations=3,
                                                               region=box), whole[box], rtol=1e-5, atol=1e-4)
