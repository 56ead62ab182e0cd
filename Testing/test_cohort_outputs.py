"""The cohort's summary.csv and cohort.html: the table read back, the page rendered in a real headless Chromium.

The browser test needs Debian's ``chromium`` on PATH (``.ci/run`` installs it); without it the test fails.
"""

import base64
import csv
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread
from matplotlib.patches import Rectangle

from clinicalimaging.pipeline.cohort_outputs import (COLUMNS, THUMBNAIL_WIDTH, summary_rows, write_cohort_page,
                                                     write_summary_table)

ERROR = "cannot read header <b>size</b> & spacing"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")


def write_report(path):
    """A 1500 x 900 px report figure that is mostly pure red, as the pipeline's report.png."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure = Figure(figsize=(15, 9), dpi=100)
    figure.patches.append(Rectangle((0.1, 0.1), 0.8, 0.8, transform=figure.transFigure, color=(1.0, 0.0, 0.0)))
    figure.savefig(path)


def lesion(volume_ml, longest, perpendicular, mean, sd):
    return {"voxels": 1200, "volume_ml": volume_ml, "longest_diameter_mm": longest,
            "perpendicular_diameter_mm": perpendicular, "diameter_slice": 7, "mean": mean, "sd": sd, "p5": 1.0,
            "p25": 2.0, "median": 3.0, "p75": 4.0, "p95": 5.0, "min": 0.0, "max": 9.0, "unit": "HU"}


def organ(name):
    return {"organ": name, "score": 0.9, "ras_min_mm": [0.0, 0.0, 0.0], "ras_max_mm": [10.0, 10.0, 10.0]}


def make_records(folder):
    """Two succeeded cases (with report.png) and one failed case whose error holds markup characters."""
    for case in ("liver_01", "liver_02"):
        write_report(folder / case / "report.png")
    return [
        {"case": "liver_01", "status": "succeeded", "ran": True, "seconds": 12.345, "error": None,
         "input": "/data/liver_01.nrrd", "folder": "liver_01",
         "summary": {"seconds": {"enhance": 3.1, "detect": 5.0, "segment": 4.2}, "device": "CPU",
                     "organs": [organ("liver"), organ("spleen")],
                     "lesion": lesion(12.3456, 41.234, 22.346, 61.239, 9.876),
                     "cnr": {"original": 1.23456, "enhanced": 2.71828, "ratio": 2.2018}, "target_organ": "liver"}},
        {"case": "liver_02", "status": "succeeded", "ran": False, "seconds": 8.04, "error": None,
         "input": "/data/liver_02.nrrd", "folder": "liver_02",
         "summary": {"seconds": {"segment": 4.0}, "device": None, "organs": [],
                     "lesion": lesion(3.004, 18.0, 9.996, -12.5, 4.0), "cnr": {"original": 0.5},
                     "target_organ": None}},
        {"case": "liver_03", "status": "failed", "ran": True, "seconds": 0.4, "error": ERROR,
         "input": "/data/liver_03.nrrd", "folder": None, "summary": None},
    ]


@pytest.fixture
def cohort(tmp_path):
    """OUTDIR with both outputs written: ``(records, folder)``."""
    records = make_records(tmp_path)
    write_summary_table(records, tmp_path / "summary.csv")
    write_cohort_page(records, tmp_path, tmp_path / "cohort.html", title="Liver & kidney <cohort>")
    return records, tmp_path


class Rows(HTMLParser):
    """The ``<tr class="case ...">`` rows of a page: their attributes, text, images and elements inside."""

    def __init__(self, text):
        super().__init__()
        self.rows, self.title, self._in_title = [], "", False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "title":
            self._in_title = True
        if tag == "tr" and "case" in (attrs.get("class") or "").split():
            self.rows.append({"id": attrs.get("id"), "class": attrs["class"], "text": "", "images": [], "tags": []})
        elif self.rows and tag != "tr":
            self.rows[-1]["tags"].append(tag)
            if tag == "img":
                self.rows[-1]["images"].append(attrs.get("src", ""))

    def handle_endtag(self, tag):
        self._in_title = self._in_title and tag != "title"

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif self.rows:
            self.rows[-1]["text"] += data


def chromium():
    """The chromium executable; the test fails (never skips) without it."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not on PATH: install Debian's chromium package (apt-get install chromium), "
                    "as .ci/run does; the cohort page is checked in a real browser.")
    return executable


def run_chromium(page, profile, *arguments):
    """Run headless Chromium on ``page`` with ``arguments``; its stdout."""
    command = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments, page.as_uri()]
    done = subprocess.run(command, capture_output=True, encoding="utf-8", errors="replace", timeout=180)
    assert done.returncode == 0, f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}"
    return done.stdout


def test_summary_table_reads_back_with_its_columns_rounding_and_empty_cells(cohort):
    records, folder = cohort
    with open(folder / "summary.csv", newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        rows = list(reader)
    assert tuple(reader.fieldnames) == COLUMNS
    assert [row["case"] for row in rows] == ["liver_01", "liver_02", "liver_03"]
    first, second, failed = rows
    assert first == {"case": "liver_01", "status": "succeeded", "ran": "yes", "seconds": "12.3", "error": "",
                     "input": "/data/liver_01.nrrd", "cnr_original": "1.235", "cnr_enhanced": "2.718",
                     "cnr_ratio": "2.202", "lesion_volume_ml": "12.35", "longest_diameter_mm": "41.23",
                     "perpendicular_diameter_mm": "22.35", "lesion_mean": "61.24", "lesion_sd": "9.88", "unit": "HU",
                     "organs_found": "2", "organs": "liver;spleen", "folder": "liver_01"}
    # Not run now, no enhancement (no enhanced CNR, no ratio), no detection (no organ count).
    assert (second["ran"], second["cnr_original"], second["cnr_enhanced"], second["cnr_ratio"]) == ("no", "0.5", "", "")
    assert (second["lesion_volume_ml"], second["perpendicular_diameter_mm"]) == ("3.0", "10.0")
    assert (second["organs_found"], second["organs"], second["lesion_mean"]) == ("", "", "-12.5")
    assert failed["status"] == "failed" and failed["error"] == ERROR and failed["seconds"] == "0.4"
    assert all(failed[column] == "" for column in COLUMNS[6:])
    assert summary_rows(records)[2]["cnr_original"] == ""


def test_cohort_page_in_headless_chromium(cohort, tmp_path_factory):
    records, folder = cohort
    page = folder / "cohort.html"
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"https?://", text), "the page must be self-contained"
    assert "<script" not in text.lower()

    dom = Rows(run_chromium(page, tmp_path_factory.mktemp("profile"), "--dump-dom"))
    assert dom.title == "Liver & kidney <cohort>"
    assert [(row["id"], row["class"]) for row in dom.rows] == [
        ("case-liver_01", "case succeeded"), ("case-liver_02", "case succeeded"), ("case-liver_03", "case failed")]
    first, second, failed = dom.rows
    assert "succeeded" in first["text"] and "failed" in failed["text"]
    assert ERROR in failed["text"] and "b" not in failed["tags"], "the error must show as text, not markup"
    assert not failed["images"] and "no report" in failed["text"]
    for row in (first, second):
        assert len(row["images"]) == 1 and row["images"][0].startswith("data:image/png;base64,")
    assert "1.235 → 2.718 (×2.202)" in first["text"] and "12.35 mL" in first["text"]
    assert "41.23 × 22.35 mm" in first["text"]
    assert "2: liver, spleen" in first["text"] and "from an earlier run" in second["text"]
    assert "3 cases: 2 succeeded, 1 failed" in text

    screenshot = tmp_path_factory.mktemp("shot") / "page.png"
    run_chromium(page, tmp_path_factory.mktemp("profile"), f"--screenshot={screenshot}", "--window-size=1400,1200")
    pixels = imread(screenshot)[..., :3]
    red = (pixels[..., 0] > 0.9) & (pixels[..., 1] < 0.1) & (pixels[..., 2] < 0.1)
    thumbnail_red = THUMBNAIL_WIDTH * (THUMBNAIL_WIDTH * 900 // 1500) * 0.8 * 0.8  # one thumbnail's red pixels
    assert red.sum() > 1.5 * thumbnail_red, f"only {red.sum()} red pixels on screen: the thumbnails did not decode"


def test_thumbnails_are_small_pngs_of_the_report(cohort):
    _, folder = cohort
    rows = Rows((folder / "cohort.html").read_text(encoding="utf-8")).rows
    for row in rows[:2]:
        data = base64.b64decode(row["images"][0].removeprefix("data:image/png;base64,"))
        image = imread(io.BytesIO(data))
        assert image.shape[:2] == (THUMBNAIL_WIDTH * 900 // 1500, THUMBNAIL_WIDTH)
        assert np.allclose(image[image.shape[0] // 2, image.shape[1] // 2, :3], (1.0, 0.0, 0.0))
        assert len(data) < (folder / row["id"].removeprefix("case-") / "report.png").stat().st_size


def test_a_missing_or_unreadable_report_gives_a_placeholder(tmp_path):
    records = make_records(tmp_path)
    (tmp_path / "liver_01" / "report.png").unlink()
    (tmp_path / "liver_02" / "report.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    write_cohort_page(records, tmp_path, tmp_path / "cohort.html")
    first, second, _ = Rows((tmp_path / "cohort.html").read_text(encoding="utf-8")).rows
    assert not first["images"] and "report.png missing" in first["text"]
    assert not second["images"] and "report.png unreadable" in second["text"]


@pytest.mark.parametrize("name", ["summary.csv", "cohort.html"])
def test_a_write_failing_midway_keeps_the_old_file_and_leaves_no_temporary_file(cohort, monkeypatch, name):
    records, folder = cohort
    old = (folder / name).read_bytes()
    before = sorted(path.name for path in folder.iterdir())

    def half_then_fail(self, text, *args, **kwargs):
        with open(self, "w", encoding="utf-8") as file:
            file.write(text[:len(text) // 2])
        raise OSError("No space left on device")

    monkeypatch.setattr(Path, "write_text", half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        if name == "summary.csv":
            write_summary_table(records[:1], folder / name)
        else:
            write_cohort_page(records[:1], folder, folder / name)
    assert (folder / name).read_bytes() == old
    assert sorted(path.name for path in folder.iterdir()) == before
