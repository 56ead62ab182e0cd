"""The ``batch`` command on a real Dask LocalCluster: a phantom cohort, failures that stay alone, the ledger, Ctrl-C.

Every run here starts real worker processes; a case of the small phantoms takes a few
seconds. The worker-death tests kill the process that writes a given case: its
temporary folder's name carries the worker's process id
(:func:`clinicalimaging.pipeline.cohort_task.partial_name`).
"""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
import SimpleITK as sitk

from clinicalimaging.pipeline.case_outputs import OUTPUT_NAMES
from clinicalimaging.pipeline.cohort_task import PARTIAL_FOLDER
from cohort_cases import write_dicom_case, write_phantom_case
from test_cli import assert_clean_input_error, run_cli

#: The outputs of a case without organ detection: every one but the organ files.
CASE_FILES = {name for what, name in OUTPUT_NAMES.items() if not what.startswith("organ")}
#: Of a case without an outline: no segmentation either.
UNOUTLINED_FILES = CASE_FILES - {OUTPUT_NAMES["segmentation"]}
#: Chain options that keep the cases short: no detection (the shipped network is tested elsewhere).
FAST = ("--no-detect", "--quiet")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """Six cases as a user's folder holds them: NRRD and NIfTI with outlines, one without, a DICOM series, a corrupt
    file."""
    folder = tmp_path_factory.mktemp("cohort")
    write_phantom_case(folder, "liver_a", seed=1)
    write_phantom_case(folder, "liver_b", seed=2, extension=".nii.gz")
    (folder / "site2").mkdir()
    write_phantom_case(folder / "site2", "liver_c", seed=3)
    write_phantom_case(folder, "no_outline", seed=4, outline=False)
    write_dicom_case(folder / "series_01", seed=5)
    (folder / "corrupt.nii.gz").write_bytes(b"\x1f\x8b this is not a volume")
    return folder


@pytest.fixture(scope="module")
def first_run(cohort, tmp_path_factory):
    """The cohort run once on 2 workers: the completed process and OUTDIR."""
    output = tmp_path_factory.mktemp("batch") / "out"
    result = run_cli("batch", cohort, output, "--workers", 2, *FAST)
    return result, output


def summary_table(output):
    with open(output / "summary.csv", newline="", encoding="utf-8") as stream:
        return {row["case"]: row for row in csv.DictReader(stream)}


def test_every_case_runs_and_the_corrupt_file_fails_alone(first_run, cohort):
    result, output = first_run
    assert result.returncode == 1, result.stderr  # one case failed
    assert result.stderr == "" and result.stdout == ""  # --quiet: nothing but the exit status
    rows = summary_table(output)
    assert set(rows) == {"liver_a", "liver_b", "site2__liver_c", "no_outline", "series_01", "corrupt"}
    assert {case for case, row in rows.items() if row["status"] == "failed"} == {"corrupt"}
    assert "corrupt.nii.gz" in rows["corrupt"]["error"] and "\n" not in rows["corrupt"]["error"]
    assert not (output / "corrupt").exists() and not (output / PARTIAL_FOLDER).exists()
    for case in ("liver_a", "liver_b", "site2__liver_c"):
        assert {path.name for path in (output / case).iterdir()} == CASE_FILES
        summary = json.loads((output / case / "summary.json").read_text())
        assert summary["lesion"]["volume_ml"] > 0 and summary["cnr"]["ratio"] > 0
        assert float(rows[case]["lesion_volume_ml"]) == pytest.approx(summary["lesion"]["volume_ml"], abs=0.01)
    for case in ("no_outline", "series_01"):
        assert {path.name for path in (output / case).iterdir()} == UNOUTLINED_FILES
    assert all(float(row["seconds"]) > 0 for row in rows.values())


def test_a_dicom_series_is_one_case_with_its_geometry(first_run, cohort):
    _, output = first_run
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(cohort / "series_01")))
    series = reader.Execute()
    enhanced = sitk.ReadImage(str(output / "series_01" / OUTPUT_NAMES["enhanced volume"]))
    assert enhanced.GetSize() == series.GetSize()
    assert enhanced.GetOrigin() == pytest.approx(series.GetOrigin(), abs=1e-4)
    assert enhanced.GetSpacing() == pytest.approx(series.GetSpacing(), abs=1e-5)


def test_a_rerun_keeps_finished_cases_and_reruns_a_changed_one(first_run, cohort, tmp_path):
    _, output = first_run
    kept = {case: (output / case / "summary.json").stat().st_mtime_ns for case in ("liver_a", "series_01")}

    again = run_cli("batch", cohort, output, "--workers", 2, "--no-detect")

    assert again.returncode == 1, again.stderr  # the corrupt case's failure is kept
    assert "6 cases: 5 succeeded, 1 failed (6 kept from an earlier run)" in again.stdout
    assert "--retry-failed" in again.stdout
    assert all((output / case / "summary.json").stat().st_mtime_ns == mtime for case, mtime in kept.items())
    assert {row["ran"] for row in summary_table(output).values()} == {"no"}


def test_retry_failed_runs_only_the_failures(first_run, cohort):
    _, output = first_run

    again = run_cli("batch", cohort, output, "--workers", 1, "--retry-failed", *FAST)

    assert again.returncode == 1
    ran = {case for case, row in summary_table(output).items() if row["ran"] == "yes"}
    assert ran == {"corrupt"}


def test_a_changed_parameter_reruns_the_cases(cohort, tmp_path):
    single = tmp_path / "single"
    single.mkdir()
    for name in ("liver_a.nrrd", "liver_a.mrk.json"):
        (single / name).write_bytes((cohort / name).read_bytes())
    output = tmp_path / "out"
    assert run_cli("batch", single, output, "--workers", 1, *FAST).returncode == 0
    before = json.loads((output / "liver_a" / "summary.json").read_text())

    changed = run_cli("batch", single, output, "--workers", 1, "--strength", 0.5, *FAST)

    assert changed.returncode == 0, changed.stderr
    after = json.loads((output / "liver_a" / "summary.json").read_text())
    assert before["parameters"]["EnhanceParameters"]["strength"] != 0.5
    assert after["parameters"]["EnhanceParameters"]["strength"] == 0.5
    assert after["cnr"]["enhanced"] != before["cnr"]["enhanced"]
    assert summary_table(output)["liver_a"]["ran"] == "yes"


def test_a_manifest_lists_the_cases_and_a_missing_image_fails_alone(cohort, tmp_path):
    manifest = tmp_path / "cases.csv"
    manifest.write_text("case,image,outline\n"
                        "first,liver_a.nrrd,liver_a.mrk.json\n"
                        "gone,missing.nrrd,\n", encoding="utf-8")
    output = tmp_path / "out"

    result = run_cli("batch", cohort, output, "--manifest", manifest, "--workers", 1, "--no-detect")

    assert result.returncode == 1, result.stderr
    rows = summary_table(output)
    assert list(rows) == ["first", "gone"]
    assert rows["first"]["status"] == "succeeded" and float(rows["first"]["lesion_volume_ml"]) > 0
    assert rows["gone"]["status"] == "failed" and "missing.nrrd" in rows["gone"]["error"]
    assert "failed: gone:" in result.stdout


@pytest.mark.parametrize("mistake", [
    ("--workers", "0"), ("--workers", "2", "--scheduler", "tcp://127.0.0.1:1"), ("--memory-limit", "lots"),
    ("--memory-limit", "10MB"), ("--target-organ", "liver", "--no-detect"), ("--model", "no-such-model.keras"),
])
def test_bad_arguments_are_one_line_and_exit_2(cohort, tmp_path, mistake):
    output = tmp_path / "out"
    result = run_cli("batch", cohort, output, *mistake)
    assert result.returncode == 2, result.stderr
    if mistake[0] != "--workers":  # argparse's own usage errors print the usage line too
        assert_clean_input_error(result)
    assert not output.exists()


def test_outdir_cannot_be_indir_and_indir_must_hold_cases(cohort, tmp_path):
    assert_clean_input_error(run_cli("batch", cohort, cohort, "--no-detect"))
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("batch", empty, tmp_path / "out", "--no-detect")
    assert_clean_input_error(result)
    assert "DICOM" in result.stderr and not (tmp_path / "out").exists()


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:9", "no-port-here"])
def test_an_unreachable_scheduler_is_one_line_and_leaves_no_outdir(cohort, tmp_path, address):
    result = run_cli("batch", cohort, tmp_path / "out", "--scheduler", address, "--no-detect")
    assert_clean_input_error(result)
    assert "scheduler" in result.stderr and not (tmp_path / "out").exists()


def test_a_running_cluster_takes_the_cases_by_its_address(cohort, tmp_path):
    from distributed import LocalCluster

    single = tmp_path / "single"
    single.mkdir()
    for name in ("liver_b.nii.gz", "liver_b.mrk.json"):
        (single / name).write_bytes((cohort / name).read_bytes())
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = run_cli("batch", single, tmp_path / "out", "--scheduler", cluster.scheduler_address, *FAST)
        ran = cluster.scheduler.get_events("all")
    assert result.returncode == 0, result.stderr
    ledger = json.loads((tmp_path / "out" / "ledger" / "liver_b.json").read_text())
    assert ledger["status"] == "succeeded"
    assert {path.name for path in (tmp_path / "out" / "liver_b").iterdir()} == CASE_FILES
    assert any(event.get("action") == "add-client" for _, event in ran), ran  # the command used this cluster


def start_batch(*arguments):
    return subprocess.Popen([sys.executable, "-m", "clinicalimaging", "batch", *map(str, arguments)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding="utf-8")


def writing(output, case=None):
    """``{folder name: worker pid}`` of the cases being written now (of ``case`` only, when given)."""
    partial = output / PARTIAL_FOLDER
    try:
        names = [path.name for path in partial.iterdir()]
    except OSError:
        return {}
    found = {}
    for name in names:
        parts = name.split(".")
        if len(parts) == 3 and (case is None or parts[0] == case):
            found[name] = int(parts[1])
    return found


def wait_for(condition, process, timeout=120):
    """Poll ``condition()`` until it returns something true; fail if the batch process ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    raise AssertionError("timed out")


@pytest.fixture(scope="module")
def longer_cohort(tmp_path_factory):
    """Four cases large enough to be caught mid-way (a few seconds each)."""
    folder = tmp_path_factory.mktemp("longer")
    for index in range(4):
        write_phantom_case(folder, f"case{index}", seed=10 + index, shape=(24, 128, 128))
    return folder


def test_a_killed_worker_fails_its_case_alone_after_one_retry(longer_cohort, tmp_path):
    output = tmp_path / "out"
    process = start_batch(longer_cohort, output, "--workers", 2, "--no-detect")
    first = wait_for(lambda: writing(output, "case0"), process)
    os.kill(next(iter(first.values())), signal.SIGKILL)  # once: the case is given to a worker again
    second = wait_for(lambda: {name: pid for name, pid in writing(output, "case0").items() if name not in first},
                      process)
    os.kill(next(iter(second.values())), signal.SIGKILL)  # twice: the case is reported as lost
    once = wait_for(lambda: writing(output, "case3"), process)
    os.kill(next(iter(once.values())), signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=300)

    assert process.returncode == 1, stderr
    rows = summary_table(output)
    assert rows["case0"]["status"] == "failed"
    assert "died 2 times" in rows["case0"]["error"] and "--memory-limit" in rows["case0"]["error"]
    assert {case: row["status"] for case, row in rows.items() if case != "case0"} == {
        "case1": "succeeded", "case2": "succeeded", "case3": "succeeded"}  # case3 was retried once and finished
    assert not (output / "case0").exists() and not (output / PARTIAL_FOLDER).exists()
    for case in ("case1", "case2", "case3"):
        assert {path.name for path in (output / case).iterdir()} == CASE_FILES
    assert "failed: case0: the worker process running this case died" in stdout


def test_ctrl_c_stops_the_workers_and_keeps_the_finished_cases(longer_cohort, tmp_path):
    output = tmp_path / "out"
    process = start_batch(longer_cohort, output, "--workers", 2, "--no-detect")
    wait_for(lambda: (output / "ledger").is_dir() and len(writing(output)) == 2, process)
    workers = psutil.Process(process.pid).children(recursive=True)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)

    assert process.returncode == 130
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "interrupted" in lines[0] and "Run the same command again" in lines[0], stderr
    assert not (output / PARTIAL_FOLDER).exists()
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive
    finished = [path for path in output.iterdir() if path.is_dir() and path.name.startswith("case")]
    for folder in finished:  # complete, or absent
        assert {path.name for path in folder.iterdir()} == CASE_FILES

    recorded = sorted(path.stem for path in (output / "ledger").glob("*.json"))
    assert recorded and set(recorded) <= {folder.name for folder in finished}

    again = run_cli("batch", longer_cohort, output, "--workers", 2, "--no-detect")

    assert again.returncode == 0, again.stderr
    assert f"({len(recorded)} kept from an earlier run)" in again.stdout  # a folder the ledger missed runs again
    assert {row["status"] for row in summary_table(output).values()} == {"succeeded"}


def test_organs_are_found_and_segmented_per_case_on_the_workers(tiny_detector, tmp_path):
    """The detector on the workers: a manifest's target organ, the cohort's --target-organ for the other case."""
    from test_cli_detect import write_case

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    first, second = write_case(tmp_path / "a"), write_case(tmp_path / "b", seed=701)
    manifest = tmp_path / "cases.csv"
    manifest.write_text(f"case,image,target_organ\nspleen_case,{first['image']},spleen\nother,{second['image']},\n",
                        encoding="utf-8")
    output = tmp_path / "out"

    result = run_cli("batch", tmp_path, output, "--manifest", manifest, "--workers", 1, "--model", tiny_detector[1],
                     "--views", "axial", "--target-organ", "liver")

    assert result.returncode == 0, result.stdout + result.stderr
    for case, organ in (("spleen_case", "spleen"), ("other", "liver")):
        summary = json.loads((output / case / "summary.json").read_text())
        assert summary["target_organ"] == organ and summary["lesion"]["voxels"] > 0
        assert organ in {found["organ"] for found in summary["organs"]}
        sidecar = OUTPUT_NAMES["organ table"] + ".provenance.json"  # a CSV has no header for the provenance
        assert {path.name for path in (output / case).iterdir()} == set(OUTPUT_NAMES.values()) | {sidecar}
    rows = summary_table(output)
    assert all(int(row["organs_found"]) > 0 for row in rows.values())


def test_the_detector_is_loaded_once_per_process_and_again_when_its_file_changes(tiny_detector, tmp_path,
                                                                               monkeypatch):
    from clinicalimaging.detect import model_files
    from clinicalimaging.pipeline import case

    loads = []
    original = model_files.load_detector
    monkeypatch.setattr(model_files, "load_detector", lambda path: loads.append(path) or original(path))
    case._detector_of_version.cache_clear()
    model = tmp_path / "model.keras"
    model.write_bytes(tiny_detector[1].read_bytes())

    first, again = case.loaded_detector(model), case.loaded_detector(model)
    os.utime(model, ns=(time.time_ns(), time.time_ns() + 10**9))  # a retrained model written at the same path
    changed = case.loaded_detector(model)

    assert first is again and changed is not first and len(loads) == 2
    case._detector_of_version.cache_clear()
