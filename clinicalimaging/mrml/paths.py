"""Output paths: allowed extensions, checks before computing, all-or-nothing writing."""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from .. import interrupts, provenance
from ..errors import InputError
from .scene import _quiet_vtk

VOLUME_EXTENSIONS = (".nrrd", ".nhdr", ".nii", ".nii.gz", ".mha")
OUTPUT_EXTENSIONS = {
    "volume": (".nrrd", ".nii", ".nii.gz", ".mha"),
    "table": (".csv", ".tsv"),
    "segmentation": (".seg.nrrd",),
    "markups": (".mrk.json",),
    "figure": (".png",),
    "bundle": (".mrb",),
    "record": (".json",),
}
_KIND_NOUNS = {"volume": "a volume", "table": "a table", "segmentation": "a segmentation",
               "markups": "a markups file", "figure": "a figure", "bundle": "a scene bundle",
               "record": "a JSON record"}
_open_stagings = 0  # staged_outputs blocks now open (write_node nests one inside another)
_replaced = []  # files that existed and were replaced by the outermost staged_outputs blocks, in order


def _extension(path, extensions):
    """The entry of ``extensions`` that ``path`` ends with (longest first), or None."""
    name = Path(path).name.lower()
    return next((ext for ext in sorted(extensions, key=len, reverse=True) if name.endswith(ext)), None)


def check_output_path(path, kind="volume"):
    """Check, before any computation, that an output can be written to ``path``.

    Parameters
    ----------
    path : str or Path
        The output file.
    kind : {"volume", "table", "segmentation", "markups", "figure", "bundle", "record"}
        What will be written; decides the allowed extensions (volume: ``.nrrd``,
        ``.nii``, ``.nii.gz``, ``.mha``; table: ``.csv``, ``.tsv``; segmentation:
        ``.seg.nrrd``; markups: ``.mrk.json``; figure: ``.png``; bundle: ``.mrb``, a
        Slicer scene; record: ``.json``).

    Returns
    -------
    Path
        ``path`` as a Path.

    Raises
    ------
    InputError
        Unsupported extension, missing or non-writable folder, or ``path`` is a folder.
    """
    if kind not in OUTPUT_EXTENSIONS:
        raise InputError(f"Unknown output kind '{kind}'; use one of {', '.join(OUTPUT_EXTENSIONS)}.")
    path = Path(path)
    extensions = OUTPUT_EXTENSIONS[kind]
    if path.is_dir():
        raise InputError(f"Output '{path}' is a folder, not a file; give a file name ending in {extensions[0]} "
                         f"(e.g. '{path / ('output' + extensions[0])}').")
    extension = _extension(path, extensions)
    if extension is None:
        raise InputError(f"Output '{path}' has an unsupported extension for {_KIND_NOUNS[kind]}; "
                         f"use {' or '.join(extensions) if len(extensions) < 3 else 'one of ' + ', '.join(extensions)}.")
    if len(path.name) == len(extension):
        raise InputError(f"Output '{path}' has no name before its extension {extension}; give one "
                         f"(e.g. 'output{extension}').")
    if path.name.lower().endswith(".mha") and not path.name.endswith(".mha"):
        raise InputError(f"Output '{path}': write the extension in lower case ('{path.name[:-4]}.mha'); "
                         "ITK-based programs, this one included, read MetaImage files only by a lower-case .mha.")
    folder = path.parent
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "does not exist"
        raise InputError(f"Output folder '{folder}' {problem}. Create it or choose another output path for "
                         f"'{path.name}'.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"Output folder '{folder}' is not writable. Choose a folder you can write to for "
                         f"'{path.name}'.")
    return path


def check_outputs(inputs, outputs):
    """Check output paths before any computation.

    Parameters
    ----------
    inputs : list of path
        Input files or folders; no output may be one of them.
    outputs : list of (path, kind)
        Output files and their kind for :func:`check_output_path`.

    Raises
    ------
    InputError
        An output equals an input or another output, or cannot be written.
    """
    seen = {}
    for path, kind in outputs:
        path = Path(check_output_path(path, kind))
        for source in map(Path, inputs):
            if _same_file(path, source):
                raise InputError(f"Output '{path}' is the input file '{source}'; the input is never overwritten. "
                                 "Choose another output path.")
        key = path.resolve()
        if key in seen:
            raise InputError(f"Outputs '{seen[key]}' and '{path}' are the same file; give each output its own path.")
        seen[key] = path


def _same_file(first, second):
    if first.exists() and second.exists():
        return os.path.samefile(first, second)
    return first.resolve() == second.resolve()


@contextlib.contextmanager
def staged_outputs(paths):
    """Write several output files all or nothing.

    Yields a dict mapping each final path to a path of the same name in a hidden
    staging folder beside it (so writers still choose the format from the extension).
    When the block ends normally, every file of each staging folder (the outputs and
    any sidecar their writers add) replaces its namesake beside that folder. When the
    block raises, nothing is moved and existing files keep their old content. The
    staging folders are always removed.

    The staging folders are registered with :mod:`clinicalimaging.interrupts`, so that a
    signal ending the command-line process deletes them, and moving the files into
    place is never split by a signal. When the outermost block has moved its files,
    the outputs count as written (:func:`clinicalimaging.interrupts.outputs_written`).

    Parameters
    ----------
    paths : iterable of path
        The final output files; their folders must exist and be writable.

    Yields
    ------
    dict of Path to Path
    """
    global _open_stagings
    paths = [Path(path) for path in paths]
    staging = {}
    with contextlib.ExitStack() as registered:
        _open_stagings += 1
        try:
            for path in paths:
                if path.parent not in staging:
                    staging[path.parent] = _registered_folder(registered, path.parent)
            yield {path: staging[path.parent] / path.name for path in paths}
            with interrupts.deferred_interrupts():
                for folder, stage in staging.items():
                    for file in sorted(stage.iterdir()):
                        if _open_stagings == 1 and (folder / file.name).exists():
                            _replaced.append(folder / file.name)
                        os.replace(file, folder / file.name)
                if _open_stagings == 1:
                    interrupts.outputs_written()
        finally:
            _open_stagings -= 1
            for stage in staging.values():
                shutil.rmtree(stage, ignore_errors=True)


def replaced_outputs(*, clear=False):
    """The files that :func:`staged_outputs` replaced (they existed before), in order.

    Parameters
    ----------
    clear : bool
        Forget them after returning them (a command starts with a clear list).

    Returns
    -------
    list of Path
    """
    replaced = list(_replaced)
    if clear:
        _replaced.clear()
    return replaced


@contextlib.contextmanager
def temporary_folder():
    """A temporary folder (in the system's temporary space) that is removed on exit, even on an interrupt.

    Like :class:`tempfile.TemporaryDirectory`, and registered with
    :mod:`clinicalimaging.interrupts` as :func:`staged_outputs` registers its folders.

    Yields
    ------
    Path
    """
    with contextlib.ExitStack() as registered:
        folder = _registered_folder(registered, None)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def _registered_folder(exit_stack, parent):
    """A new hidden temporary folder in ``parent`` that a signal deletes until ``exit_stack`` closes."""
    with interrupts.deferred_interrupts():  # no signal between creating and registering
        folder = Path(tempfile.mkdtemp(prefix=".clinicalimaging-", dir=parent))
        exit_stack.enter_context(interrupts.removed_on_interrupt(folder))
    return folder


def write_node(storage, node, path, what):
    """Write ``node`` with ``storage`` (a storage node outside any scene) to ``path``, atomically.

    Goes through :func:`staged_outputs`; ``what`` names the node's kind in the
    error message.

    Raises
    ------
    OSError
        The writer failed (e.g. disk full).
    """
    with staged_outputs([path]) as staged:
        target = staged[path]
        # The writers choose the format by a lower-case extension: write 'OUT.NII.GZ' as 'OUT.nii.gz', then rename.
        extension = _extension(target, [ext for kind in OUTPUT_EXTENSIONS.values() for ext in kind]) or ""
        written_name = target.with_name(target.name[:len(target.name) - len(extension)] + extension)
        storage.SetFileName(str(written_name))
        with _quiet_vtk():
            written = storage.WriteData(node)
        if not written:
            details = " ".join(storage.GetUserMessages().GetAllMessagesAsString().split())
            raise OSError(f"Could not write {what} '{node.GetName()}' to '{path}' ({details or 'no reason given'}).")
        if written_name != target:
            os.replace(written_name, target)
        provenance.attach(target)
