"""The batch ledger: fingerprints of a case's inputs, what a re-run skips, records written atomically."""

import datetime
import json
import os

import pytest
import SimpleITK as sitk

from clinicalimaging import provenance
from clinicalimaging.pipeline.cases import Case
from clinicalimaging.pipeline.ledger import Ledger
from test_pipeline_cases import dicom_series

SETTINGS = {"enhance": {"order": 0.5, "iterations": 3}, "detect": True}
VERSION = "1.2.0"


@pytest.fixture
def case(tmp_path):
    """A volume file and its outline."""
    image = tmp_path / "in" / "a.nrrd"
    image.parent.mkdir()
    sitk.WriteImage(sitk.Image(4, 4, 3, sitk.sitkInt16), str(image))
    outline = image.with_name("a.mrk.json")
    outline.write_text('{"markups": []}', encoding="utf-8")
    return Case("a", image, outline=outline)


@pytest.fixture
def ledger(tmp_path):
    return Ledger(tmp_path / "out" / "ledger")


@pytest.fixture
def hashes(monkeypatch):
    """The paths provenance.sha256 is called on, in order."""
    calls = []
    original = provenance.sha256

    def counted(path):
        calls.append(path)
        return original(path)

    monkeypatch.setattr(provenance, "sha256", counted)
    return calls


def succeeded(ledger, case, settings=SETTINGS, version=VERSION):
    """Record the case as succeeded on its fingerprint now; return that fingerprint."""
    fingerprint = ledger.fingerprint(case, settings, version)
    ledger.record(case.case_id, fingerprint, status="succeeded", seconds=1.5, summary={"cnr": 2.0})
    return fingerprint


def decide(ledger, case, settings=SETTINGS, version=VERSION, *, retry_failed=False, folder_exists=True):
    return ledger.decision(case, ledger.fingerprint(case, settings, version), retry_failed=retry_failed,
                           folder_exists=folder_exists)


def change_mtime(path):
    """Move the file's modification time one minute on (file systems' clocks are coarse)."""
    status = path.stat()
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 60 * 10 ** 9))


def test_the_fingerprint_holds_each_input_the_target_organ_settings_and_version(ledger, case):
    organ_case = Case("b", case.image, target_organ="liver")
    fingerprint = ledger.fingerprint(case, SETTINGS, VERSION)
    assert fingerprint["inputs"] == [
        {"path": str(path), "size": path.stat().st_size, "mtime_ns": path.stat().st_mtime_ns,
         "sha256": provenance.sha256(path)} for path in (case.image, case.outline)]
    assert fingerprint["target_organ"] is None
    assert fingerprint["version"] == VERSION
    reordered = {"detect": True, "enhance": {"iterations": 3, "order": 0.5}}
    assert ledger.fingerprint(case, reordered, VERSION)["settings_sha256"] == fingerprint["settings_sha256"] \
        != ledger.fingerprint(case, {**SETTINGS, "detect": False}, VERSION)["settings_sha256"]
    assert ledger.fingerprint(organ_case, SETTINGS, VERSION)["target_organ"] == "liver"
    assert len(ledger.fingerprint(organ_case, SETTINGS, VERSION)["inputs"]) == 1


def test_a_dicom_folder_counts_each_of_its_files_but_hidden_ones(ledger, tmp_path):
    series = dicom_series(tmp_path / "ct")
    (series / ".DS_Store").write_bytes(b"finder")
    files = sorted(path for path in series.iterdir() if not path.name.startswith("."))
    fingerprint = ledger.fingerprint(Case("ct", series), SETTINGS, VERSION)
    assert [item["path"] for item in fingerprint["inputs"]] == [str(path) for path in files]
    assert len(files) == 2
    assert [item["sha256"] for item in fingerprint["inputs"]] == [provenance.sha256(path) for path in files]


def test_a_missing_input_has_no_checksum_and_never_counts_as_done(ledger, case, tmp_path):
    missing = Case("m", tmp_path / "nowhere.nrrd")
    fingerprint = ledger.fingerprint(missing, SETTINGS, VERSION)
    assert fingerprint["inputs"] == [{"path": str(missing.image), "size": None, "mtime_ns": None, "sha256": None}]
    ledger.record("m", fingerprint, status="succeeded")
    assert decide(ledger, missing) == "run"
    ledger.record("m", fingerprint, status="failed", error="not found")
    assert decide(ledger, missing) == "skip-failed"


def test_with_no_record_a_case_runs(ledger, case):
    assert ledger.entry("a") is None
    assert decide(ledger, case) == "run"
    assert not ledger.folder.exists()


def test_a_succeeded_case_is_skipped_while_nothing_changed_and_its_folder_exists(ledger, case):
    succeeded(ledger, case)
    assert decide(ledger, case) == "skip-succeeded"
    assert decide(ledger, case, folder_exists=False) == "run"


def test_an_unchanged_file_is_not_hashed_again(ledger, case, hashes):
    succeeded(ledger, case)
    assert hashes == [case.image, case.outline]
    hashes.clear()
    assert decide(ledger, case) == "skip-succeeded"
    assert hashes == []


def test_a_touched_file_is_hashed_again_and_with_the_same_content_still_skipped(ledger, case, hashes):
    first = succeeded(ledger, case)
    hashes.clear()
    change_mtime(case.image)
    fingerprint = ledger.fingerprint(case, SETTINGS, VERSION)
    assert hashes == [case.image]
    assert fingerprint["inputs"][0]["sha256"] == first["inputs"][0]["sha256"]
    assert fingerprint["inputs"][0]["mtime_ns"] != first["inputs"][0]["mtime_ns"]
    assert ledger.decision(case, fingerprint, folder_exists=True) == "skip-succeeded"


@pytest.mark.parametrize("which", ["image", "outline"])
def test_a_file_with_new_content_of_the_same_size_runs_again(ledger, case, which):
    succeeded(ledger, case)
    path = getattr(case, which)
    content = bytearray(path.read_bytes())
    content[-1] ^= 0xFF
    path.write_bytes(bytes(content))
    change_mtime(path)
    assert decide(ledger, case) == "run"


def test_another_input_path_runs_again(ledger, case, tmp_path):
    succeeded(ledger, case)
    moved = tmp_path / "in" / "moved.nrrd"
    moved.write_bytes(case.image.read_bytes())
    assert decide(ledger, Case("a", moved, outline=case.outline)) == "run"
    assert decide(ledger, Case("a", case.image)) == "run"


def test_a_changed_setting_target_organ_or_version_runs_again(ledger, case):
    succeeded(ledger, case)
    assert decide(ledger, case, {**SETTINGS, "enhance": {"order": 0.6, "iterations": 3}}) == "run"
    assert decide(ledger, case, version="1.3.0") == "run"
    organ_case = Case("a", case.image, target_organ="liver")
    succeeded(ledger, organ_case)
    assert decide(ledger, organ_case) == "skip-succeeded"
    assert decide(ledger, Case("a", case.image, target_organ="spleen")) == "run"


def test_a_failed_case_is_skipped_unless_failures_are_retried_or_its_fingerprint_changed(ledger, case):
    fingerprint = ledger.fingerprint(case, SETTINGS, VERSION)
    ledger.record("a", fingerprint, status="failed", seconds=0.25, error="Segmentation failed:\n  empty outline")
    assert decide(ledger, case) == "skip-failed"
    assert decide(ledger, case, folder_exists=False) == "skip-failed"
    assert decide(ledger, case, retry_failed=True) == "run"
    assert decide(ledger, case, version="1.3.0") == "run"


def test_a_record_holds_the_outcome_and_when_it_was_recorded(ledger, case):
    fingerprint = ledger.fingerprint(case, SETTINGS, VERSION)
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    ledger.record("a", fingerprint, status="failed", seconds=2.0004, error=ValueError("no\nlesion   here"))
    record = ledger.entry("a")
    assert json.loads(ledger.path("a").read_text(encoding="utf-8")) == record
    assert ledger.path("a") == ledger.folder / "a.json"
    recorded_at = datetime.datetime.fromisoformat(record.pop("recorded_at"))
    assert recorded_at.utcoffset() == datetime.timedelta(0)
    assert before <= recorded_at <= datetime.datetime.now(datetime.timezone.utc)
    assert record == {"case_id": "a", "status": "failed", "fingerprint": fingerprint, "seconds": 2.0,
                      "error": "no lesion here", "summary": None}
    ledger.record("a", fingerprint, status="succeeded", summary={"volume_ml": 1.25})
    assert ledger.entry("a")["summary"] == {"volume_ml": 1.25}
    assert ledger.entry("a")["error"] is None and ledger.entry("a")["seconds"] is None


def test_an_unknown_status_is_refused(ledger, case):
    with pytest.raises(ValueError, match="'done'.*succeeded, failed"):
        ledger.record("a", ledger.fingerprint(case, SETTINGS, VERSION), status="done")
    assert ledger.entry("a") is None


def test_records_are_written_atomically_without_temporary_files_left(ledger, case, monkeypatch):
    succeeded(ledger, case)
    succeeded(ledger, Case("b", case.image))
    assert sorted(path.name for path in ledger.folder.iterdir()) == ["a.json", "b.json"]
    kept = ledger.path("a").read_bytes()

    def interrupted(source, target):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ledger.record("a", ledger.fingerprint(case, SETTINGS, VERSION), status="failed", error="stopped")
    assert ledger.path("a").read_bytes() == kept
    assert sorted(path.name for path in ledger.folder.iterdir()) == ["a.json", "b.json"]


@pytest.mark.parametrize("content", ['{"status": "succeeded", "fingerp', "[1, 2]", '{"status": "succeeded"}',
                                     '{"status": "done", "fingerprint": {"inputs": []}}',
                                     '{"status": "failed", "fingerprint": {"inputs": ["a.nrrd"]}}', "\udcff"])
def test_a_corrupt_record_counts_as_none(ledger, case, hashes, content):
    succeeded(ledger, case)
    ledger.path("a").write_text(content, encoding="utf-8", errors="surrogateescape")
    hashes.clear()
    assert ledger.entry("a") is None
    assert decide(ledger, case) == "run"
    assert hashes == [case.image, case.outline]
