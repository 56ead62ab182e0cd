"""Runs that wipe out the lesion's contrast: marked, left off the curves, and kept off the plot's readable range."""

import math

import numpy as np
import pytest
import SimpleITK as sitk
from matplotlib.image import imread

from clinicalimaging.enhance.compare import CONTRAST_KEPT, CT_RING_RANGE, MeasuredLesion
from clinicalimaging.enhance.sweep import (PLOT_MAX_SHARPNESS, SWEEPS, Sweep, SweepPoint, format_sweep, read_off,
                                          sweep_enhancements, sweep_figure, sweep_table)
from clinicalimaging.phantom import make_phantom

#: Weights of the flattening method: the lesion keeps 1 - weight of its contrast.
FLATTENING = (0.25, 0.45, 0.6, 0.9, 0.999)


@pytest.fixture(scope="module")
def flattened():
    """A sweep of a method that pulls the lesion towards its ring's mean, next to the unsharp mask."""
    phantom = make_phantom("mr", shape=(8, 64, 64))
    lesion = phantom.labels == phantom.lesion_label
    measured = MeasuredLesion.of(phantom.image, lesion, phantom.spacing)
    ring_mean = measured.volume[measured.box][measured.regions.background].mean()

    def flatten(volume, spacing, weights, box, parameters, progress):
        results = []
        for weight in weights:
            enhanced = volume[box].astype(np.float64)
            enhanced[lesion[box]] += weight * (ring_mean - enhanced[lesion[box]])
            results.append(enhanced)
        return results

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(SWEEPS, "flattening", Sweep("weight", FLATTENING, flatten))
        curves = sweep_enhancements(phantom.image, lesion, phantom.spacing, methods=["flattening", "unsharp mask"])
        yield curves, format_sweep(curves), sweep_table(curves)


def test_runs_below_half_the_contrast_are_flagged_with_their_contrast(flattened):
    curves, _, _ = flattened
    curve = curves["flattening"]
    assert [point.contrast for point in curve[1:]] == pytest.approx([1 - weight for weight in FLATTENING], abs=1e-6)
    assert [point.contrast_lost for point in curve] == [False, False, False, True, True, True]
    assert max(point.sharpness for point in curve) > 10 * PLOT_MAX_SHARPNESS  # a run that would squash the plot
    assert not any(point.contrast_lost for point in curves["unsharp mask"])


def test_the_table_leaves_lost_runs_out_of_the_read_off_and_the_largest_gain_and_counts_them(flattened):
    curves, text, table = flattened
    row = next(row for row in table if row["method"] == "flattening")
    kept = [point.sharpness for point in curves["flattening"] if not point.contrast_lost]
    assert row["max_sharpness_gain"] == pytest.approx(max(kept) - 1.0) and row["contrast_lost_runs"] == 3
    lines = text.splitlines()
    assert "contrast lost" in lines[0]
    assert next(line for line in lines if line.startswith("flattening")).split()[-3:] == ["3", "of", "5"]
    curve_line = next(line for line in lines if line.startswith("  flattening"))
    assert curve_line.count("contrast lost") == 3
    assert f"less than {CONTRAST_KEPT:.0%} of the original's lesion contrast" in text


def test_read_off_never_interpolates_towards_a_contrast_lost_run():
    curve = [SweepPoint(0.0, 1.0, 1.0, 1.0), SweepPoint(1.0, 1.1, 0.95, 0.9), SweepPoint(2.0, 40.0, 0.02, 0.05)]
    assert math.isnan(read_off(curve, 0.25))
    inverted = [*curve[:2], SweepPoint(2.0, 1.5, 0.8, -0.9)]  # as large a contrast, of the other sign
    assert inverted[2].contrast_lost and math.isnan(read_off(inverted, 0.25))
    assert read_off([*curve[:2], SweepPoint(2.0, 1.5, 0.8, 0.6)], 0.25) == pytest.approx(0.89375)


def test_the_plot_stays_on_the_readable_range_and_says_what_it_leaves_out(flattened, tmp_path):
    curves, _, _ = flattened
    figure = sweep_figure(curves, title="flattening")
    axes = figure.axes[0]
    left, right = axes.get_xlim()
    assert left < 1.0 < 1.4 < right <= 1.1 * PLOT_MAX_SHARPNESS
    bottom, top = axes.get_ylim()
    assert bottom < 1.0 < top < 1.5
    line = next(line for line in axes.get_lines() if line.get_label().startswith("flattening"))
    drawn = np.asarray(line.get_xdata(), dtype=float)
    assert np.isnan(drawn).tolist() == [point.contrast_lost for point in curves["flattening"]]
    assert any(text.get_text().startswith("contrast lost") for text in axes.get_legend().get_texts())
    beyond = sum(point.sharpness > right for curve in curves.values() for point in curve)
    assert beyond and f"{beyond} run(s) beyond" in axes.get_xlabel() and "3 contrast-lost run(s)" in axes.get_xlabel()

    path = tmp_path / "sweep.png"
    figure.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and imread(path).shape[:2] == (720, 960)


def test_the_ct_livers_tiansi_run_that_reached_5447x_is_lost_and_off_the_plot(shared_data):
    image = sitk.ReadImage(str(shared_data / "abdomen_ct.nii.gz"))
    organs = sitk.GetArrayFromImage(sitk.ReadImage(str(shared_data / "abdomen_ct_organs.nii.gz")))
    curves = sweep_enhancements(sitk.GetArrayFromImage(image), organs == 5, image.GetSpacing()[::-1],
                                methods=["Tiansi ν=0.5 (blended)"], ring_range=CT_RING_RANGE)
    worst = max(curves["Tiansi ν=0.5 (blended)"], key=lambda point: point.sharpness)
    assert worst.sharpness > 1000 and worst.contrast_lost
    assert sweep_figure(curves).axes[0].get_xlim()[1] <= 1.1 * PLOT_MAX_SHARPNESS
