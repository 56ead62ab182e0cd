"""Organ classes of the detector: names, display colours, left/right pairs and label-name files.

Names follow TotalSegmentator's spelling (``kidney_left``, ``vertebrae_L1``), so a
TotalSegmentator label map and its class map can train and evaluate the detector
as they are. No MRML here.
"""

import colorsys
import difflib
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from ..errors import InputError

#: The organs the shipped detector knows, in the order of its classes.
DEFAULT_ORGANS = (
    "liver", "spleen", "kidney_left", "kidney_right", "stomach", "gallbladder", "pancreas", "aorta",
    "inferior_vena_cava", "urinary_bladder", "spinal_cord", "autochthon_left", "autochthon_right",
    "iliopsoas_left", "iliopsoas_right", "vertebrae_T11", "vertebrae_T12", "vertebrae_L1", "vertebrae_L2",
    "vertebrae_L3", "vertebrae_L4", "vertebrae_L5",
)

#: Label names of :mod:`clinicalimaging.phantom` -> organ names; tissues without an organ class are absent
#: (``body``, ``lesion``, and ``spine``, which is a whole column of vertebrae rather than one of them).
PHANTOM_NAMES = {"liver": "liver", "spleen": "spleen", "kidney_left": "kidney_left", "kidney_right": "kidney_right",
                 "aorta": "aorta"}

_VERTEBRAE = ("vertebrae_T11", "vertebrae_T12", "vertebrae_L1", "vertebrae_L2", "vertebrae_L3", "vertebrae_L4",
              "vertebrae_L5")
# Anatomical colours (RGB in [0, 1]) in the spirit of Slicer's and TotalSegmentator's tables; the two organs of
# a left/right pair share a hue, the left one lighter. Vertebrae are ivory, a little darker level by level.
_COLOURS = {
    "liver": (0.60, 0.27, 0.20),
    "spleen": (0.62, 0.42, 0.66),
    "kidney_left": (0.95, 0.62, 0.30),
    "kidney_right": (0.85, 0.50, 0.18),
    "stomach": (0.98, 0.80, 0.66),
    "gallbladder": (0.45, 0.70, 0.30),
    "pancreas": (0.95, 0.84, 0.33),
    "aorta": (0.86, 0.10, 0.10),
    "inferior_vena_cava": (0.18, 0.32, 0.85),
    "urinary_bladder": (0.30, 0.74, 0.72),
    "spinal_cord": (0.93, 0.60, 0.80),
    "autochthon_left": (0.78, 0.36, 0.42),
    "autochthon_right": (0.68, 0.27, 0.33),
    "iliopsoas_left": (0.88, 0.52, 0.48),
    "iliopsoas_right": (0.78, 0.42, 0.38),
    **{name: (0.97 - 0.02 * level, 0.94 - 0.035 * level, 0.84 - 0.05 * level)
       for level, name in enumerate(_VERTEBRAE)},
}


def organ_colour(name):
    """The display colour of an organ.

    Parameters
    ----------
    name : str
        Organ name.

    Returns
    -------
    tuple of 3 float
        (r, g, b) in [0, 1]: a fixed anatomical colour for the organs of
        :data:`DEFAULT_ORGANS`; for any other name a colour derived from the SHA-256
        of the name (the same in every session and on every machine).
    """
    if name in _COLOURS:
        return _COLOURS[name]
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    hue = int.from_bytes(digest[:2], "big") / 65536
    saturation = 0.45 + 0.4 * digest[2] / 255
    value = 0.7 + 0.25 * digest[3] / 255
    return tuple(round(channel, 4) for channel in colorsys.hsv_to_rgb(hue, saturation, value))


def _counterpart(name):
    """The other side's name of a ``..._left...``/``..._right...`` name (one ``left`` or ``right`` token), or None."""
    tokens = name.split("_")
    sides = [index for index, token in enumerate(tokens) if token in ("left", "right")]
    if len(sides) != 1:
        return None
    tokens[sides[0]] = "right" if tokens[sides[0]] == "left" else "left"
    return "_".join(tokens)


def covered_classes(label_name, class_names):
    """The classes a coarser label stands for: those named ``label_name`` + ``_`` + something.

    A label map that marks the whole column as ``vertebrae`` (or both kidneys as
    ``kidney``) holds the vertebrae (kidneys) without saying which is which; training
    neither learns those voxels as an organ nor as background.

    Parameters
    ----------
    label_name : str
    class_names : sequence of str

    Returns
    -------
    list of str
        The covered classes in ``class_names`` order; empty when ``label_name`` is a
        class itself.
    """
    if label_name in class_names:
        return []
    return [name for name in class_names if name.startswith(label_name + "_")]


def mirror_swaps(class_names, *, offset=0):
    """The label values that trade places when an image is mirrored left to right.

    The result is what :func:`clinicalimaging.preprocess.augment_labels` takes as
    ``mirror_swaps``: a dict of label value -> label value, each pair once (left
    organ -> right organ). Names pair when they differ only by one ``left``/``right``
    token between underscores (``kidney_left`` and ``kidney_right``,
    ``rib_left_1`` and ``rib_right_1``).

    Parameters
    ----------
    class_names : sequence of str or dict of int to str
        A sequence: the class of label value ``index + offset`` at ``index``. A dict:
        label value -> name, as :func:`read_label_names` returns.
    offset : int
        For a sequence, the label value of its first name (1 when value 0 is the
        background and the classes follow). Ignored for a dict.

    Returns
    -------
    dict of int to int
        Left label value -> right label value; names without a counterpart in
        ``class_names`` are not in it.
    """
    values = (dict(class_names) if isinstance(class_names, Mapping)
              else {index + offset: name for index, name in enumerate(class_names)})
    by_name = {name: value for value, name in values.items()}
    swaps = {}
    for value, name in values.items():
        other = _counterpart(name)
        if other in by_name and "left" in name.split("_"):
            swaps[value] = by_name[other]
    return swaps


def read_label_names(path, *, labels_file=None):
    """Read the names of the values of a label map from a JSON file.

    Two layouts are accepted:

    - one map of label value to name: ``{"1": "spleen", "2": "kidney_right", ...}``;
    - one such map per label-map file, keyed by the file's name (TotalSegmentator's
      class map style): ``{"abdomen_ct_organs.nii.gz": {"1": "spleen", ...}, ...}``;
      the entry for ``labels_file``'s name is used (the only entry when there is one).

    Parameters
    ----------
    path : str or Path
        The JSON file.
    labels_file : str or Path, optional
        The label map whose names are wanted; only its file name is compared.

    Returns
    -------
    dict of int to str
        Label value (positive) -> organ name, sorted by value.

    Raises
    ------
    InputError
        Missing or unreadable file, bad JSON, another layout, a value that is not a
        positive integer, an empty or repeated name, a repeated value, or no entry
        for ``labels_file``.
    """
    path = Path(path)
    if not path.is_file():
        problem = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise InputError(f"Label-name file '{path}' {problem}. Give the JSON file that names the label values, "
                         "e.g. {\"1\": \"spleen\", \"2\": \"kidney_right\"}.")
    try:
        content = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_unique_keys)
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"Label-name file '{path}' could not be read ({error}).") from error
    except json.JSONDecodeError as error:
        raise InputError(f"Label-name file '{path}' is not valid JSON ({error.msg} at line {error.lineno}, column "
                         f"{error.colno}). Fix it, e.g. {{\"1\": \"spleen\", \"2\": \"kidney_right\"}}.") from error
    except _RepeatedKey as repeated:
        raise InputError(f"Label-name file '{path}' gives the key '{repeated.key}' twice; give each label value "
                         "(and each label-map file) once.") from None
    if not isinstance(content, dict) or not content:
        raise InputError(f"Label-name file '{path}' must hold a JSON object of label value -> name, e.g. "
                         "{\"1\": \"spleen\"}; it holds none.")
    if all(isinstance(value, dict) for value in content.values()):
        content = _entry_for(content, labels_file, path)
    elif not all(isinstance(value, str) for value in content.values()):
        raise InputError(f"Label-name file '{path}' mixes names and nested objects; give either label value -> name "
                         "({\"1\": \"spleen\"}) or label-map file name -> such a map.")
    return _names(content, path)


class _RepeatedKey(Exception):
    def __init__(self, key):
        super().__init__(key)
        self.key = key


def _unique_keys(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise _RepeatedKey(key)
        result[key] = value
    return result


def _entry_for(content, labels_file, path):
    """The per-file map of ``content`` for ``labels_file``."""
    if labels_file is None:
        if len(content) == 1:
            return next(iter(content.values()))
        raise InputError(f"Label-name file '{path}' names the labels of several label maps "
                         f"({', '.join(content)}); say which label map it is for.")
    name = Path(labels_file).name
    if name not in content:
        raise InputError(f"Label-name file '{path}' has no entry for the label map '{name}'; its entries are "
                         f"{', '.join(content)}. Add one, or rename the label map to match.")
    if not all(isinstance(value, str) for value in content[name].values()):
        raise InputError(f"Label-name file '{path}': the entry '{name}' must map label values to names.")
    return content[name]


def _names(mapping, path):
    names = {}
    for key, name in mapping.items():
        try:
            value = int(key)
        except ValueError:
            value = None
        if value is None or str(value) != key.strip():
            raise InputError(f"Label-name file '{path}': key '{key}' is not a label value; keys must be whole "
                             "numbers such as \"1\".")
        if value < 1:
            raise InputError(f"Label-name file '{path}': label value {value} cannot name an organ (0 is the "
                             "background); leave it out and number organs from 1.")
        if value in names:
            raise InputError(f"Label-name file '{path}' gives label value {value} twice ('{key}').")
        if not name.strip():
            raise InputError(f"Label-name file '{path}': label value {value} has an empty name.")
        names[value] = name.strip()
    repeated = sorted({name for name in names.values() if list(names.values()).count(name) > 1})
    if repeated:
        raise InputError(f"Label-name file '{path}' gives the same name to several label values "
                         f"({', '.join(repeated)}); each organ must have one label value.")
    return dict(sorted(names.items()))


def select_organs(requested, available):
    """The organs asked for, checked against those available.

    Parameters
    ----------
    requested : None, str or sequence of str
        None or ``"all"``: every available organ. A comma-separated string
        (``"liver, spleen"``) or a sequence of names.
    available : sequence of str
        The organs that can be chosen (e.g. a detector's classes).

    Returns
    -------
    list of str
        ``available`` in its order for None/``"all"``, else the requested names in
        the order given, each once.

    Raises
    ------
    InputError
        An unknown name (the message names the closest available one and lists them
        all), or an empty selection.
    """
    available = list(available)
    if requested is None or (isinstance(requested, str) and requested.strip().lower() == "all"):
        return available
    names = requested.split(",") if isinstance(requested, str) else list(requested)
    names = [str(name).strip() for name in names if str(name).strip()]
    if not names:
        raise InputError(f"No organ was chosen; give organ names separated by commas, or 'all'. Available: "
                         f"{', '.join(available)}.")
    for name in names:
        if name not in available:
            close = difflib.get_close_matches(name, available, n=1, cutoff=0.5)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise InputError(f"Unknown organ '{name}'.{hint} Available organs: {', '.join(available)}.")
    return list(dict.fromkeys(names))
