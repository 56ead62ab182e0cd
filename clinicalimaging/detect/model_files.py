"""Detector model files: a Keras ``.keras`` archive that describes itself.

The archive Keras writes (architecture, weights) gets one more member,
``clinicalimaging.json``: the class names, the default boxes of each output layer,
the pixel size, the intensity normalisation, the training command and a summary of
the training data. It is read without Keras (:func:`read_metadata`), so a panel can
show what a model finds before the heavy libraries load; Keras ignores the member.
"""

import json
import os
import zipfile
from pathlib import Path

from ..errors import InputError
from .backend import import_keras

METADATA_MEMBER = "clinicalimaging.json"
MODEL_FILE_NAME = "organ-detector.keras"
#: Metadata keys every model file must have.
REQUIRED_KEYS = ("class_names", "output_layers", "strides", "box_sizes", "pixel_mm", "modality", "grade")


def default_model_path():
    """The shipped model: ``Resources/Models/organ-detector.keras`` of the OrganDetect module.

    Looked up beside the package as Slicer installs it (``qt-scripted-modules/Resources``)
    and as the source tree has it (``OrganDetect/Resources``).

    Returns
    -------
    Path
        The first that exists, else the source-tree location (for the error message).
    """
    root = Path(__file__).resolve().parents[2]
    candidates = [root / "Resources" / "Models" / MODEL_FILE_NAME,
                  root / "OrganDetect" / "Resources" / "Models" / MODEL_FILE_NAME]
    return next((path for path in candidates if path.is_file()), candidates[-1])


def _check_file(path):
    path = Path(path)
    if path.is_dir():
        raise InputError(f"Model '{path}' is a folder; give the .keras file inside it.")
    if not path.is_file():
        raise InputError(f"Model file '{path}' does not exist. Give a .keras file written by "
                         "'clinicalimaging train-detector', or leave the model out to use the shipped one.")
    if not zipfile.is_zipfile(path):
        raise InputError(f"Model file '{path}' is not a Keras .keras archive (it may be truncated or corrupt). "
                         "Copy it again or train it again with 'clinicalimaging train-detector'.")
    return path


def read_metadata(path):
    """The model's description, without loading Keras.

    Raises
    ------
    InputError
        Missing, corrupt, or a Keras model this package did not write.
    """
    path = _check_file(path)
    try:
        with zipfile.ZipFile(path) as archive:
            metadata = json.loads(archive.read(METADATA_MEMBER).decode("utf-8"))
    except KeyError:
        raise InputError(f"Model file '{path}' is a Keras model but not an organ detector of this extension "
                         f"(it has no {METADATA_MEMBER}); train one with 'clinicalimaging train-detector'.") from None
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise InputError(f"Model file '{path}' cannot be read ({error}); it may be corrupt. Copy it again.") from None
    missing = [key for key in REQUIRED_KEYS if key not in metadata]
    if missing:
        raise InputError(f"Model file '{path}' lacks {', '.join(missing)} in its description; it was written by "
                         "another version. Train it again with 'clinicalimaging train-detector'.")
    return metadata


def save_detector(model, metadata, path):
    """Write the model (architecture and weights, not the optimizer's state) and its description atomically.

    A half-written file never has the final name.
    """
    path = Path(path)
    partial = path.with_name(f".{path.stem}.partial.keras")
    try:
        weights_only = type(model).from_config(model.get_config())  # uncompiled: no optimizer state in the file
        weights_only.set_weights(model.get_weights())
        weights_only.save(partial)
        with zipfile.ZipFile(partial, "a") as archive:
            archive.writestr(METADATA_MEMBER, json.dumps(metadata, indent=1, sort_keys=True))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


class Detector:
    """A loaded model with its description and the default boxes of each slice size.

    Attributes
    ----------
    model : keras.Model
    metadata : dict
    class_names : list of str
    grade : bool
        Whether the grade head was trained.
    """

    def __init__(self, model, metadata):
        self.model, self.metadata = model, metadata
        self.class_names = list(metadata["class_names"])
        self.grade = bool(metadata["grade"])
        self._anchors = {}

    def anchors(self, rows, columns):
        """Default boxes ``(N, 4)`` (cx, cy, w, h in pixels) of a ``rows x columns`` input."""
        from .boxes import default_boxes

        key = (rows, columns)
        if key not in self._anchors:
            strides = self.metadata["strides"]
            shapes = [(rows // stride, columns // stride) for stride in strides]
            self._anchors[key] = default_boxes(shapes, strides, self.metadata["box_sizes"])
        return self._anchors[key]


def load_detector(path):
    """Load a model file written by :func:`save_detector`.

    Raises
    ------
    InputError
        File missing or corrupt, or Keras missing.
    """
    metadata = read_metadata(path)
    keras = import_keras()
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as error:  # Keras raises many types for a damaged archive
        raise InputError(f"Model file '{path}' cannot be loaded by Keras ({type(error).__name__}: "
                         f"{str(error)[:200]}); it may be corrupt. Copy it again.") from None
    return Detector(model, metadata)
