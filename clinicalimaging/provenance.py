"""What made an output: software version, command, parameters and the inputs' checksums.

A command-line run records its provenance (:func:`recording`); every file written
while it runs carries it (:func:`attach`):

- NRRD (``.nrrd``, ``.seg.nrrd``): key-value fields of the header,
  ``clinicalimaging_version:=``, ``clinicalimaging_command:=``,
  ``clinicalimaging_parameters:=`` (JSON) and ``clinicalimaging_inputs:=`` (JSON: path
  and SHA-256 of each input);
- MetaImage (``.mha``): the same as header fields ``clinicalimaging_version = ...``;
- markups (``.mrk.json``): a top-level ``"clinicalimaging"`` object, which Slicer's
  reader ignores;
- NIfTI and tables (``.nii``, ``.nii.gz``, ``.csv``, ``.tsv``), formats without room for
  it: a JSON sidecar ``<output>.provenance.json`` beside the output.

Outside a recording (Python calls, the Slicer panels) files are written as they are.
"""

import contextlib
import contextvars
import hashlib
import json
import os
import shlex
import shutil
from pathlib import Path

from . import __version__

PREFIX = "clinicalimaging_"
SIDECAR_SUFFIX = ".provenance.json"
_current = contextvars.ContextVar("clinicalimaging_provenance", default=None)
_HASH_CHUNK = 1 << 22


class _Run:
    """The provenance of one run: its command and inputs, the stage parameters as they are resolved."""

    def __init__(self, command, inputs):
        self.command = [str(part) for part in command]
        self.inputs = [Path(path) for path in inputs if path is not None]
        self.parameters = {}
        self._checksums = {}

    def record(self):
        """The provenance as a JSON-serialisable dict (checksums computed once per input)."""
        for path in self.inputs:
            if path not in self._checksums:
                self._checksums[path] = sha256(path)
        return {"version": f"clinicalimaging {__version__}", "command": shlex.join(self.command),
                "parameters": self.parameters,
                "inputs": [{"path": str(path), "sha256": self._checksums[path]} for path in self.inputs]}


@contextlib.contextmanager
def recording(command, inputs):
    """Record the provenance of the outputs written inside the block.

    Parameters
    ----------
    command : list of str
        The command as typed (program name first).
    inputs : iterable of path or None
        Input files and folders (``None`` entries are skipped).
    """
    token = _current.set(_Run(command, inputs))
    try:
        yield
    finally:
        _current.reset(token)


def note_parameters(parameters):
    """Add a stage's resolved parameters (a :class:`~clinicalimaging.parameters.Parameters`) to the recording."""
    run = _current.get()
    if run is not None:
        run.parameters[type(parameters).__name__] = parameters.to_dict()


def current():
    """The provenance dict of the current recording, or None outside one."""
    run = _current.get()
    return None if run is None else run.record()


def sha256(path):
    """SHA-256 of a file, or of a folder's files (names and contents, in name order), as hex."""
    digest = hashlib.sha256()
    path = Path(path)
    files = sorted(item for item in path.rglob("*") if item.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode("utf-8") + b"\0")
        with open(file, "rb") as stream:
            while chunk := stream.read(_HASH_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def attach(path):
    """Put the current provenance into (or beside) the output file ``path``, just written.

    Outside a recording, nothing is done.
    """
    record = current()
    if record is None:
        return
    path = Path(path)
    name = path.name.lower()
    fields = {"version": record["version"], "command": " ".join(record["command"].splitlines()),
              "parameters": json.dumps(record["parameters"], sort_keys=True),
              "inputs": json.dumps(record["inputs"])}  # one line each: a header field ends at a newline
    if name.endswith(".nrrd"):
        _insert_header_lines(path, b"\n\n", [f"{PREFIX}{key}:={value}" for key, value in fields.items()])
    elif name.endswith(".mha"):
        _insert_header_lines(path, b"\nElementDataFile", [f"{PREFIX}{key} = {value}" for key, value in fields.items()])
    elif name.endswith(".mrk.json"):
        content = json.loads(path.read_text(encoding="utf-8"))
        content["clinicalimaging"] = record
        path.write_text(json.dumps(content, indent=4), encoding="utf-8")
    else:
        path.with_name(path.name + SIDECAR_SUFFIX).write_text(json.dumps(record, indent=2), encoding="utf-8")


def _insert_header_lines(path, marker, lines):
    """Insert text lines into a file's text header, before the first ``marker`` (which ends the header)."""
    with open(path, "rb") as source:
        head = source.read(1 << 16)
        end = head.find(marker)
        if end < 0:
            raise OSError(f"Cannot record provenance in '{path}': its header has no end.")
        staged = path.with_name(path.name + ".provenance")
        with open(staged, "wb") as target:
            target.write(head[:end] + b"".join(b"\n" + line.encode("utf-8") for line in lines))
            source.seek(end)
            shutil.copyfileobj(source, target, _HASH_CHUNK)
    os.replace(staged, path)
