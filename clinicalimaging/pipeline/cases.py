"""The cases of a cohort: found in a folder, or listed in a manifest (CSV).

A case is one image (a volume file, or a folder holding one DICOM series) with,
optionally, the lesion's outline or an organ to segment from its detected box. Its id
names its output folder, so ids are unique (also when compared without case, as on the
file systems of macOS and Windows) and file-system safe: letters, digits, ``-``, ``_``
and ``.``, not first.

- :func:`find_cases` walks a folder: every volume file is a case (an outline
  ``NAME.mrk.json`` beside ``NAME.nrrd`` is its outline), every folder of DICOM files is
  one.
- :func:`read_manifest` reads a CSV that lists the cases: ``case``, ``image``,
  ``outline``, ``target_organ``.

Nothing here reads an image: a missing or unreadable image fails its case alone when
the case runs, not the whole cohort.
"""

import csv
import dataclasses
import os
import re
from pathlib import Path
from typing import Optional

from ..errors import InputError
from ..mrml.paths import OUTPUT_EXTENSIONS, VOLUME_EXTENSIONS, _extension

#: The columns a manifest may have (``image`` is required).
MANIFEST_COLUMNS = ("case", "image", "outline", "target_organ")
_SAFE_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
_UNSAFE_CHARACTER = re.compile(r"[^A-Za-z0-9._-]")
#: DICOM Part 10 files carry these four bytes after a 128-byte preamble.
_DICOM_MAGIC_OFFSET, _DICOM_MAGIC = 128, b"DICM"
_MARKUPS = OUTPUT_EXTENSIONS["markups"]
_SEGMENTATION = OUTPUT_EXTENSIONS["segmentation"]


@dataclasses.dataclass(frozen=True)
class Case:
    """One case of a cohort.

    Attributes
    ----------
    case_id : str
        Unique, file-system safe (letters, digits, ``-``, ``_``, ``.``); the name of the
        case's output folder.
    image : Path
        A volume file or a folder holding one DICOM series (absolute).
    outline : Path or None
        The lesion's outline (``.mrk.json``, absolute).
    target_organ : str or None
        An organ to segment from its detected box (when there is no outline).
    """

    case_id: str
    image: Path
    outline: Optional[Path] = None
    target_organ: Optional[str] = None


def find_cases(folder, *, exclude=None):
    """The cases in a folder and its subfolders, sorted by id.

    Volume files (``.nrrd``, ``.nhdr``, ``.nii``, ``.nii.gz``, ``.mha``, in any letter
    case; ``.seg.nrrd`` segmentations are not cases) are cases; an outline
    ``NAME.mrk.json`` in the same folder as ``NAME.nrrd`` (or as a DICOM folder ``NAME``)
    is that case's outline, other markups files are ignored. A folder holding DICOM
    files (the ``DICM`` magic at byte 128, any or no extension) of one series is a case;
    its subfolders are searched for volume files but not for more DICOM. A folder whose
    DICOM files hold no image series (e.g. only a DICOMDIR) is not a case. Hidden files
    and folders (name starting with ``.``) are skipped, and so is ``exclude``.

    The id is the path relative to ``folder``, without the volume extension, with
    ``__`` for each separator and ``_`` for each other unsafe character (``a/b.nii.gz``
    gives ``a__b``); ``folder`` itself, when it is a DICOM folder, gives its own name.

    Parameters
    ----------
    folder : str or Path
        The cohort's folder.
    exclude : str or Path, optional
        A folder whose subtree is skipped (the output folder, when it lies inside ``folder``).

    Returns
    -------
    list of Case
        Sorted by case id; paths absolute.

    Raises
    ------
    InputError
        ``folder`` does not exist, is not a folder or holds no case; a folder cannot be
        read or holds several DICOM series; two inputs give the same case id.
    """
    root = _absolute(folder)
    if not root.is_dir():
        problem = "is not a folder" if root.exists() else "does not exist"
        raise InputError(f"Input folder '{root}' {problem}; give the folder that holds the cohort's cases "
                         f"(volume files {', '.join(VOLUME_EXTENSIONS)} or DICOM series folders).")
    excluded = _absolute(exclude).resolve() if exclude is not None else None
    cases = {}  # casefolded id -> Case
    visited = set()  # real paths of the folders walked, so that a link to a folder above cannot loop

    def add(case_id, image, outline):
        earlier = cases.get(case_id.casefold())
        if earlier is not None:
            raise InputError(f"Inputs '{earlier.image}' and '{image}' both give the case id '{case_id}'; rename "
                             "one of them, or list the cases with their ids in a manifest.")
        cases[case_id.casefold()] = Case(case_id, image, outline)

    def walk(directory, *, dicom_allowed, outline):
        real = directory.resolve()
        if real in visited or real == excluded:
            return
        visited.add(real)
        try:
            entries = sorted(entry for entry in directory.iterdir() if not entry.name.startswith("."))
        except OSError as error:
            raise InputError(f"Folder '{directory}' cannot be read ({error.strerror or error}); give this program "
                             "read access to it, or list the cases in a manifest.") from None
        files = [entry for entry in entries if entry.is_file()]
        outlines = {entry.name[:-len(_extension(entry, _MARKUPS))]: entry for entry in files
                    if _extension(entry, _MARKUPS)}
        others = []
        for file in files:
            if _extension(file, VOLUME_EXTENSIONS) and not _extension(file, _SEGMENTATION):
                add(_case_id(file.relative_to(root)), file, outlines.get(_stem(file)))
            elif not _extension(file, _MARKUPS):
                others.append(file)
        is_series = dicom_allowed and any(map(_is_dicom, others)) and _single_series(directory)
        if is_series:
            add(_case_id(directory.relative_to(root)) if directory != root else _safe_id(root.name),
                directory, outline)
        for entry in entries:
            if entry.is_dir():
                walk(entry, dicom_allowed=dicom_allowed and not is_series, outline=outlines.get(entry.name))

    walk(root, dicom_allowed=True, outline=None)
    if not cases:
        raise InputError(f"Input folder '{root}' holds no case: no volume file ({', '.join(VOLUME_EXTENSIONS)}) "
                         "and no folder of DICOM files in it or its subfolders (hidden ones are skipped).")
    return sorted(cases.values(), key=lambda case: case.case_id)


def read_manifest(path, *, base=None):
    """The cases listed in a manifest: a CSV file with a header line.

    Columns: ``image`` (required: a volume file or a DICOM series folder), ``case`` (the
    id; default from the image's name without its volume extension, unsafe characters
    replaced by ``_``), ``outline`` (a ``.mrk.json``), ``target_organ`` (an organ to
    segment from its detected box; not with an outline). Empty cells count as not
    given, blank lines are skipped. The files are not checked here: a missing image
    fails its case alone when it runs.

    Parameters
    ----------
    path : str or Path
        The manifest (UTF-8, with or without a byte-order mark).
    base : str or Path, optional
        The folder that relative paths start from; default the manifest's folder.

    Returns
    -------
    list of Case
        In the manifest's order; paths absolute.

    Raises
    ------
    InputError
        The manifest cannot be read, has no ``image`` column, an unknown or unnamed
        column, or no case; a line has more values than the header, no image, both an
        outline and a target organ, an id with unsafe characters or the id of an earlier
        line.
    """
    path = _absolute(path)
    base = path.parent if base is None else _absolute(base)
    lines = _manifest_lines(path)
    if not lines:
        raise InputError(f"Manifest '{path}' is empty; its first line must name the columns "
                         f"({', '.join(MANIFEST_COLUMNS)}; image is required).")
    columns = _manifest_columns(path, lines[0][1])
    cases, first_line = [], {}
    for number, row in lines[1:]:
        if not any(cell.strip() for cell in row):
            continue
        if any(cell.strip() for cell in row[len(columns):]):
            raise InputError(f"Manifest '{path}', line {number}: {len(row)} values for {len(columns)} columns; "
                             "quote values that hold a comma.")
        values = {column: cell.strip() for column, cell in zip(columns, row)}
        where = f"Manifest '{path}', line {number}"
        image, outline, organ = values.get("image"), values.get("outline"), values.get("target_organ")
        if not image:
            raise InputError(f"{where}: no image; give the case's volume file or DICOM series folder.")
        if outline and organ:
            raise InputError(f"{where}: both an outline and a target organ; give one (an outline segments the lesion "
                             "it outlines, a target organ segments that organ from its detected box).")
        case_id = values.get("case") or _safe_id(_stem(Path(image)))
        if not _SAFE_ID.fullmatch(case_id):
            raise InputError(f"{where}: case id '{case_id}' may hold only letters, digits, '-', '_' and '.' (not "
                             "first); it names the case's output folder.")
        if case_id.casefold() in first_line:
            raise InputError(f"{where}: case id '{case_id}' is also on line {first_line[case_id.casefold()]}; give "
                             "each case its own id (in a 'case' column).")
        first_line[case_id.casefold()] = number
        cases.append(Case(case_id, _absolute(image, base), _absolute(outline, base) if outline else None,
                          organ or None))
    if not cases:
        raise InputError(f"Manifest '{path}' lists no case; add one line per case below the header.")
    return cases


def _manifest_lines(path):
    """The manifest's rows as ``(line number, cells)``; InputError when it cannot be read as CSV."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            reader = csv.reader(stream, strict=True)
            try:
                return [(reader.line_num, row) for row in reader]
            except csv.Error as error:
                raise InputError(f"Manifest '{path}', line {reader.line_num}: not valid CSV ({error}).") from None
    except UnicodeDecodeError:
        raise InputError(f"Manifest '{path}' is not UTF-8 text; save it as CSV in UTF-8.") from None
    except FileNotFoundError:
        raise InputError(f"Manifest '{path}' does not exist; give the CSV file that lists the cases.") from None
    except OSError as error:
        raise InputError(f"Manifest '{path}' cannot be read ({error.strerror or error}).") from None


def _manifest_columns(path, header):
    """The header's column names (stripped, lower case), checked."""
    columns = [name.strip().lower() for name in header]
    where = f"Manifest '{path}', line 1"
    known = ", ".join(MANIFEST_COLUMNS)
    if "" in columns:
        raise InputError(f"{where}: column {columns.index('') + 1} has no name; name it ({known}) or remove it.")
    unknown = [name for name in columns if name not in MANIFEST_COLUMNS]
    if unknown:
        raise InputError(f"{where}: unknown column{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(repr(name) for name in unknown)}; the known columns are {known}.")
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise InputError(f"{where}: column '{repeated[0]}' appears more than once; keep one.")
    if "image" not in columns:
        raise InputError(f"{where}: no 'image' column; the header must name one (known columns: {known}).")
    return columns


def _absolute(path, base=None):
    """``path`` (``~`` expanded; relative to ``base`` or the working folder) as an absolute path, links kept."""
    path = Path(path).expanduser()
    return Path(os.path.abspath(path if base is None else Path(base) / path))


def _stem(path):
    """The file or folder name without its volume extension."""
    extension = _extension(path, VOLUME_EXTENSIONS) or ""
    return path.name[:len(path.name) - len(extension)]


def _safe_id(text):
    """``text`` with ``_`` for each character an id may not hold (a leading ``.`` included)."""
    text = _UNSAFE_CHARACTER.sub("_", text)
    return "_" + text[1:] if text.startswith(".") else text


def _case_id(relative):
    """The id of the input at ``relative`` (a path below the cohort's folder)."""
    return "__".join(_safe_id(part) for part in (*relative.parts[:-1], _stem(relative)))


def _is_dicom(path):
    """Whether ``path`` is a DICOM Part 10 file (the ``DICM`` magic after the preamble)."""
    try:
        with open(path, "rb") as stream:
            stream.seek(_DICOM_MAGIC_OFFSET)
            return stream.read(len(_DICOM_MAGIC)) == _DICOM_MAGIC
    except OSError:
        return False


def _single_series(folder):
    """Whether the DICOM files of ``folder`` form one image series (False for none); InputError for several."""
    import SimpleITK as sitk

    series = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder))
    if len(series) > 1:
        raise InputError(f"Input folder '{folder}' holds {len(series)} DICOM series; a case is one series. Put each "
                         "series in its own folder, or list the cases in a manifest and leave this folder out.")
    return len(series) == 1
