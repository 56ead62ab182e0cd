"""The cohort's two outputs: ``summary.csv`` (one row per case) and ``cohort.html`` (one page to look through).

Both are made from the case records of a ``batch`` run, in case order: one dict per case with
``case`` (its id and folder name), ``status`` (``"succeeded"`` or ``"failed"``), ``ran``
(False when the result was taken from an earlier run's ledger), ``seconds`` (the case's wall
time, or None), ``error`` (a one-line reason, or None), ``input`` (the input file), ``folder``
(the case's folder relative to OUTDIR, None when it failed) and ``summary`` (the content of its
``summary.json``, None when it failed). Each file is written all or nothing
(:func:`clinicalimaging.mrml.staged_outputs`): an interrupt or a failed write leaves the
previous file, if any, as it was.
"""

import base64
import csv
import html
import io
import os
from pathlib import Path
from urllib.parse import quote

from .. import mrml
from .case_outputs import OUTPUT_NAMES

#: The columns of ``summary.csv``, in order.
COLUMNS = ("case", "status", "ran", "seconds", "error", "input", "cnr_original", "cnr_enhanced", "cnr_ratio",
           "lesion_volume_ml", "longest_diameter_mm", "perpendicular_diameter_mm", "lesion_mean", "lesion_sd", "unit",
           "organs_found", "organs", "folder")
#: Width in pixels of the report thumbnails on the cohort page.
THUMBNAIL_WIDTH = 360
#: Decimals kept for each number column.
_DECIMALS = {"seconds": 1, "cnr_original": 3, "cnr_enhanced": 3, "cnr_ratio": 3, "lesion_volume_ml": 2,
             "longest_diameter_mm": 2, "perpendicular_diameter_mm": 2, "lesion_mean": 2, "lesion_sd": 2}
_STYLE = """\
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; }
th, td { border: 1px solid #bbb; padding: 0.4em 0.7em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
.status { font-weight: bold; white-space: nowrap; }
.succeeded .status { color: #17692b; background: #e3f4e6; }
.failed .status { color: #a4161a; background: #fbe4e4; }
.error { color: #a4161a; font-family: ui-monospace, monospace; white-space: pre-wrap; }
.placeholder { color: #777; font-style: italic; }
.note { color: #666; font-size: smaller; font-weight: normal; }"""


def summary_rows(records):
    """One flat row per case record: the columns of :data:`COLUMNS`.

    Parameters
    ----------
    records : list of dict
        The case records of a ``batch`` run (see the module docstring).

    Returns
    -------
    list of dict
        Per record, every column of :data:`COLUMNS`: strings, numbers rounded to a
        few decimals (3 for CNR, 2 for mL, mm and intensities, 1 for seconds), and
        ``""`` where a figure is absent (a failed case, no lesion, no enhancement;
        ``organs_found`` when the organs were not detected). ``ran`` is ``"yes"`` or
        ``"no"``; ``organs`` joins the organ names with ``";"``.
    """
    return [_row(record) for record in records]


def _row(record):
    """The :data:`COLUMNS` of one case record."""
    summary = record["summary"] or {}
    cnr = summary.get("cnr") or {}
    lesion = summary.get("lesion") or {}
    organs = [organ["organ"] for organ in summary.get("organs") or ()]
    detected = "detect" in summary.get("seconds", {})
    numbers = {"seconds": record["seconds"], "cnr_original": cnr.get("original"), "cnr_enhanced": cnr.get("enhanced"),
               "cnr_ratio": cnr.get("ratio"), "lesion_volume_ml": lesion.get("volume_ml"),
               "longest_diameter_mm": lesion.get("longest_diameter_mm"),
               "perpendicular_diameter_mm": lesion.get("perpendicular_diameter_mm"),
               "lesion_mean": lesion.get("mean"), "lesion_sd": lesion.get("sd")}
    row = {"case": record["case"], "status": record["status"], "ran": "yes" if record["ran"] else "no",
           "error": record["error"] or "", "input": record["input"] or "", "unit": lesion.get("unit", ""),
           "organs_found": len(organs) if detected else "", "organs": ";".join(organs),
           "folder": record["folder"] or "",
           **{key: "" if value is None else round(float(value), _DECIMALS[key]) for key, value in numbers.items()}}
    return {column: row[column] for column in COLUMNS}


def write_summary_table(records, path):
    """Write the cohort's table, one row per case (:func:`summary_rows`), as CSV.

    Parameters
    ----------
    records : list of dict
        The case records of a ``batch`` run (see the module docstring).
    path : str or Path
        The ``.csv`` file (OUTDIR/summary.csv); its folder must exist. Written all or
        nothing.
    """
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(summary_rows(records))
    _write_all_or_nothing(path, text.getvalue())


def write_cohort_page(records, output_folder, path, *, title="Cohort"):
    """Write the cohort's page: one self-contained HTML file, a table row per case.

    The page needs no network and runs no script: each succeeded case's report figure
    is inlined as a PNG thumbnail :data:`THUMBNAIL_WIDTH` pixels wide (a ``data:`` URI,
    linking to the full figure), beside its figures (CNR original and enhanced, the
    lesion's volume and diameters, the organs found, seconds); a failed case shows its
    error. Each row is ``<tr id="case-ID" class="case succeeded">`` (or ``failed``).
    A report figure that is missing or cannot be read gets a placeholder text.

    Parameters
    ----------
    records : list of dict
        The case records of a ``batch`` run (see the module docstring).
    output_folder : str or Path
        OUTDIR, which holds each case's folder with its ``report.png``.
    path : str or Path
        The ``.html`` file (OUTDIR/cohort.html); its folder must exist. Written all or
        nothing.
    title : str
        The page's title and heading.
    """
    path = Path(path)
    succeeded = sum(record["status"] == "succeeded" for record in records)
    count = (f"{len(records)} case{'' if len(records) == 1 else 's'}: {succeeded} succeeded, "
             f"{len(records) - succeeded} failed")
    rows = []
    for record, row in zip(records, summary_rows(records)):
        report = None if record["folder"] is None else Path(output_folder) / record["folder"] / OUTPUT_NAMES["report"]
        rows.append(_case_row(record, row, _report_cell(report, path.parent, record["case"])))
    headers = "".join(f"<th>{header}</th>" for header in
                      ("Case", "Status", "Report", "CNR original → enhanced", "Lesion", "Organs found", "Seconds"))
    page = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        # Enforced by the browser: nothing is fetched and no script runs, whatever a case's text holds.
        """<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; """
        """style-src 'unsafe-inline'">""",
        f"<title>{html.escape(title)}</title>", f"<style>\n{_STYLE}\n</style>", "</head>", "<body>",
        f"<h1>{html.escape(title)}</h1>", f'<p class="count">{count}</p>', "<table>",
        f"<thead><tr>{headers}</tr></thead>", "<tbody>", *rows, "</tbody>", "</table>", "</body>", "</html>", ""]
    _write_all_or_nothing(path, "\n".join(page))


def _case_row(record, row, report_cell):
    """The ``<tr>`` of one case: its id, status, report cell, figures or error, seconds."""
    case = html.escape(record["case"])
    status = record["status"]
    note = "" if record["ran"] else '<div class="note">from an earlier run</div>'
    mark = "✓" if status == "succeeded" else "✗"
    cells = [f"<td>{case}</td>", f'<td class="status">{mark} {html.escape(status)}{note}</td>', report_cell]
    if status == "succeeded":
        cells += [f"<td>{_cnr_text(row)}</td>", f"<td>{_lesion_text(row)}</td>", f"<td>{_organs_text(row)}</td>"]
    else:
        cells.append(f'<td class="error" colspan="3">{html.escape(record["error"] or "no reason given")}</td>')
    stages = (record["summary"] or {}).get("seconds", {})
    breakdown = "<br>".join(f"{html.escape(stage)} {value:.1f}" for stage, value in stages.items())
    cells.append(f"<td>{_number(row, 'seconds')}" + (f'<div class="note">{breakdown}</div>' if breakdown else "")
                 + "</td>")
    return f'<tr id="case-{case}" class="case {html.escape(status)}">{"".join(cells)}</tr>'


def _number(row, key):
    """A figure of a row as text, with the decimals it was rounded to; a dash when absent."""
    return "—" if row[key] == "" else f"{row[key]:.{_DECIMALS[key]}f}"


def _cnr_text(row):
    """CNR original → enhanced (× ratio), as far as measured."""
    if row["cnr_original"] == "":
        return "—"
    text = _number(row, "cnr_original")
    if row["cnr_enhanced"] != "":
        text += f" → {_number(row, 'cnr_enhanced')}"
    if row["cnr_ratio"] != "":
        text += f" (×{_number(row, 'cnr_ratio')})"
    return text


def _lesion_text(row):
    """The lesion's volume and its two diameters."""
    if row["lesion_volume_ml"] == "":
        return "—"
    return (f"{_number(row, 'lesion_volume_ml')} mL<br>{_number(row, 'longest_diameter_mm')} × "
            f"{_number(row, 'perpendicular_diameter_mm')} mm")


def _organs_text(row):
    """How many organs were found, and which."""
    if row["organs_found"] == "":
        return '<span class="placeholder">not detected</span>'
    names = html.escape(row["organs"].replace(";", ", "))
    return f"{row['organs_found']}" + (f": {names}" if names else "")


def _report_cell(report, page_folder, case):
    """The ``<td>`` with the thumbnail of ``report`` linking to it, or a placeholder text."""
    if report is None:
        return '<td class="placeholder">no report</td>'
    if not report.is_file():
        return f'<td class="placeholder">{html.escape(report.name)} missing</td>'
    thumbnail = _thumbnail(report)
    if thumbnail is None:
        return f'<td class="placeholder">{html.escape(report.name)} unreadable</td>'
    data, width, height = thumbnail
    link = quote(Path(os.path.relpath(report, page_folder)).as_posix())
    return (f'<td><a href="{html.escape(link)}"><img src="data:image/png;base64,{data}" width="{width}" '
            f'height="{height}" alt="report of {html.escape(case)}"></a></td>')


def _thumbnail(png):
    """``png`` shrunk to :data:`THUMBNAIL_WIDTH` pixels wide: (base64 PNG, width, height); None when unreadable."""
    from PIL import Image  # Pillow: a dependency of matplotlib

    try:
        with Image.open(png) as image:
            image.thumbnail((THUMBNAIL_WIDTH, image.height))
            buffer = io.BytesIO()
            image.save(buffer, format="PNG", optimize=True)
    except OSError:  # not a PNG, truncated, unreadable
        return None
    return base64.b64encode(buffer.getvalue()).decode("ascii"), image.width, image.height


def _write_all_or_nothing(path, text):
    """Write ``text`` to ``path`` (UTF-8, newlines as given) through a staged file that replaces it at the end."""
    path = Path(path)
    with mrml.staged_outputs([path]) as staged:
        staged[path].write_text(text, encoding="utf-8", newline="")
