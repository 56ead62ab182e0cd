"""What a batch run has done, case by case, so that a re-run does only what is left.

The ledger is a folder (``OUTDIR/ledger``) with one JSON record per case,
``<case_id>.json``: the case's fingerprint (its input files with their size,
modification time and SHA-256, its target organ, a checksum of the run's settings and
the software version), whether it succeeded or failed, how long it took, the error and
a summary. A re-run skips the cases that succeeded on the same inputs, settings and
version (and whose output folder is still there), re-runs those whose input, parameters
or software changed, and skips the cases that failed on the same fingerprint unless
asked to retry them.

Checksums are not computed again for a file whose path, size and modification time are
those of its record. Records are written atomically (a temporary file in the same
folder, then :func:`os.replace`), so a run stopped at any moment leaves each record
whole, old or new; a record that cannot be read counts as none.
"""

import datetime
import hashlib
import json
import os
import uuid
from pathlib import Path

from .. import provenance

#: What :meth:`Ledger.record` accepts as a case's status.
STATUSES = ("succeeded", "failed")


class Ledger:
    """The records of a cohort's cases in a folder, one JSON file per case.

    Parameters
    ----------
    folder : str or Path
        The ledger's folder (``OUTDIR/ledger``); created on the first record.
    """

    def __init__(self, folder):
        self.folder = Path(folder)

    def path(self, case_id):
        """The file of the case's record.

        Parameters
        ----------
        case_id : str

        Returns
        -------
        Path
        """
        return self.folder / f"{case_id}.json"

    def fingerprint(self, case, settings, version):
        """What a case's result depends on.

        Parameters
        ----------
        case : Case
        settings : dict
            The run's settings (JSON-serialisable) that change a case's result.
        version : str
            The software version.

        Returns
        -------
        dict
            ``inputs``: one ``{"path", "size", "mtime_ns", "sha256"}`` per input file (the
            image, or each file of a DICOM folder except hidden ones, in name order; then
            the outline); a missing or unreadable file has ``None`` for what cannot be
            known. The SHA-256 is taken from the case's record when path, size and
            ``mtime_ns`` are unchanged, else computed. ``target_organ``;
            ``settings_sha256``: SHA-256 of ``json.dumps(settings, sort_keys=True)``;
            ``version``.

        Raises
        ------
        TypeError
            ``settings`` is not JSON-serialisable.
        """
        record = self.entry(case.case_id)
        known = {item.get("path"): item for item in record["fingerprint"]["inputs"]} if record else {}
        files = _folder_files(case.image) if case.image.is_dir() else [case.image]
        if case.outline is not None:
            files.append(case.outline)
        settings_text = json.dumps(settings, sort_keys=True)
        return {"inputs": [_input(file, known.get(str(file))) for file in files], "target_organ": case.target_organ,
                "settings_sha256": hashlib.sha256(settings_text.encode("utf-8")).hexdigest(), "version": version}

    def entry(self, case_id):
        """The case's record as stored, or None when there is none or it cannot be read.

        Parameters
        ----------
        case_id : str

        Returns
        -------
        dict or None
            ``case_id``, ``status``, ``fingerprint``, ``seconds``, ``error``, ``summary``,
            ``recorded_at`` (UTC, ISO 8601).
        """
        try:
            record = json.loads(self.path(case_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return record if _well_formed(record) else None

    def decision(self, case, fingerprint, *, retry_failed=False, folder_exists):
        """Whether to run a case, from its record.

        Parameters
        ----------
        case : Case
        fingerprint : dict
            The case's fingerprint now (:meth:`fingerprint`).
        retry_failed : bool
            Run a case that failed before on the same fingerprint.
        folder_exists : bool
            Whether the case's output folder exists.

        Returns
        -------
        {"run", "skip-succeeded", "skip-failed"}
            ``skip-succeeded`` when the case succeeded before on the same inputs (paths and
            SHA-256, none missing), target organ, settings and version and its output folder
            exists; ``skip-failed`` when it failed before on the same and ``retry_failed``
            is false; else ``run``.
        """
        record = self.entry(case.case_id)
        if record is None or _compared(record["fingerprint"]) != _compared(fingerprint):
            return "run"
        if record["status"] == "succeeded":
            complete = all(item.get("sha256") is not None for item in fingerprint["inputs"])
            return "skip-succeeded" if folder_exists and complete else "run"
        return "run" if retry_failed else "skip-failed"

    def record(self, case_id, fingerprint, *, status, seconds=None, error=None, summary=None):
        """Store a case's outcome, replacing its earlier record atomically.

        Parameters
        ----------
        case_id : str
        fingerprint : dict
            The fingerprint the case ran on (:meth:`fingerprint`).
        status : {"succeeded", "failed"}
        seconds : float, optional
            How long the case took.
        error : str or Exception, optional
            Why it failed; stored as one line.
        summary : dict, optional
            The case's key figures (JSON-serialisable).

        Raises
        ------
        ValueError
            Unknown ``status``.
        OSError
            The record cannot be written (it is then left as it was).
        """
        if status not in STATUSES:
            raise ValueError(f"Unknown status '{status}'; use one of {', '.join(STATUSES)}.")
        content = {"case_id": case_id, "status": status, "fingerprint": fingerprint,
                   "seconds": None if seconds is None else round(float(seconds), 3),
                   "error": None if error is None else " ".join(str(error).split()), "summary": summary,
                   "recorded_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        self.folder.mkdir(parents=True, exist_ok=True)
        _write_atomically(self.path(case_id), json.dumps(content, indent=2))


def _folder_files(folder):
    """The files directly in ``folder`` but hidden ones, in name order (a DICOM series' files)."""
    return sorted(path for path in folder.iterdir() if path.is_file() and not path.name.startswith("."))


def _input(path, known):
    """The fingerprint of one input file; its SHA-256 from ``known`` (its earlier entry) when unchanged."""
    try:
        status = path.stat()
    except OSError:
        return {"path": str(path), "size": None, "mtime_ns": None, "sha256": None}
    unchanged = (known is not None and known.get("size") == status.st_size
                 and known.get("mtime_ns") == status.st_mtime_ns and known.get("sha256"))
    if unchanged:
        digest = known["sha256"]
    else:
        try:
            digest = provenance.sha256(path)
        except OSError:
            digest = None
    return {"path": str(path), "size": status.st_size, "mtime_ns": status.st_mtime_ns, "sha256": digest}


def _compared(fingerprint):
    """What decides whether a result still holds: inputs' paths and SHA-256, target organ, settings, version."""
    return ([(item.get("path"), item.get("sha256")) for item in fingerprint["inputs"]],
            fingerprint.get("target_organ"), fingerprint.get("settings_sha256"), fingerprint.get("version"))


def _well_formed(record):
    """Whether a stored record has the shape :meth:`Ledger.record` writes (else it counts as none)."""
    if not isinstance(record, dict) or record.get("status") not in STATUSES:
        return False
    fingerprint = record.get("fingerprint")
    return (isinstance(fingerprint, dict) and isinstance(fingerprint.get("inputs"), list)
            and all(isinstance(item, dict) for item in fingerprint["inputs"]))


def _write_atomically(path, text):
    """Write ``text`` to ``path`` through a hidden temporary file beside it, then :func:`os.replace`."""
    staged = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(staged, "x", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(staged, path)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
