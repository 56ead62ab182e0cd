"""What every package's commands are built from: the parser, stage options, argument types, shared inputs.

Each package registers its own commands (``enhance/commands.py``,
``segment/commands.py``, ``detect/commands.py``) from these helpers, and
:mod:`clinicalimaging.cli` composes them; nothing here imports a package.

Stage options are generated from the stage's parameter dataclass
(:mod:`clinicalimaging.parameters`), so ``--help`` lists every parameter with its unit
and default, and a value given on the command line or in a ``--parameters`` JSON file
goes through the same validator as in Python and the panels.
"""

import argparse
import typing
from pathlib import Path

import numpy as np

from . import provenance
from .errors import InputError
from .interrupts import PROGRAM
from .parameters import ParameterError, describe, summary

#: Exit status of a usage error or a bad input.
EXIT_INPUT_ERROR = 2


class CommandOutcome(typing.NamedTuple):
    """What a command that can end in a partial failure (a cohort) prints, and its exit status."""

    text: str
    status: int


_METAVARS = {int: "INT", float: "FLOAT", str: "TEXT"}


def add_parameter_options(parser, cls, *, title=None):
    """Add one ``--kebab-case`` option per field of a parameter dataclass.

    Each option's type comes from the field's default, its choices from the field,
    and its help is :func:`~clinicalimaging.parameters.summary`. Options default to
    ``None`` so that :func:`parameters_from_arguments` can tell given from omitted.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    cls : type
        A :class:`~clinicalimaging.parameters.Parameters` dataclass.
    title : str, optional
        Title of the option group in ``--help``; default ``"<cls name> options"``.
    """
    group = parser.add_argument_group(title or f"{cls.__name__} options")
    former = {new: old for old, new in cls.RENAMED.items()}
    for field in describe(cls):
        options = {"dest": _destination(cls, field["name"]), "default": None}
        if field["type"] is bool:
            options["action"] = argparse.BooleanOptionalAction
        else:
            options.update(type=field["type"], choices=field.get("choices"),
                           metavar=None if field.get("choices") else _METAVARS.get(field["type"], "VALUE"))
        group.add_argument(_flag(field["name"]), help=summary(field).replace("%", "%%"), **options)
        if field["name"] in former:  # the former name still works, unlisted
            group.add_argument(_flag(former[field["name"]]), help=argparse.SUPPRESS, **options)


def parameters_from_arguments(cls, namespace, *, base=None):
    """Build a parameter dataclass from parsed options (see :func:`add_parameter_options`).

    Parameters
    ----------
    cls : type
        The parameter dataclass the options were made from.
    namespace : argparse.Namespace
        Parsed arguments.
    base : Parameters, optional
        Values for the options that were not given; default the dataclass defaults.

    Returns
    -------
    Parameters
        Validated; an out-of-range value raises :class:`InputError`.
    """
    values = {} if base is None else base.to_dict()
    for field in describe(cls):
        value = getattr(namespace, _destination(cls, field["name"]), None)
        if value is not None:
            values[field["name"]] = value
    return cls.from_dict(values)


def _flag(name):
    return "--" + name.replace("_", "-")


def _destination(cls, name):
    # Prefixed so that a field name can never collide with a positional argument or a common option.
    return f"{cls.__name__}.{name}"


def given_options(cls, arguments):
    """The fields of a parameter dataclass whose options were given on the command line (a set of field names)."""
    return {field["name"] for field in describe(cls)
            if getattr(arguments, _destination(cls, field["name"]), None) is not None}


def stage_parameters_from_arguments(cls, arguments):
    """The stage parameters: the ``--parameters`` JSON file, then the options given on the command line.

    Options given on the command line, and values of the file that differ from the
    defaults, must apply with the resulting parameters (``check_given``). A file
    written by ``to_json`` holds every field, so its default values do not count.
    """
    base, in_file = None, set()
    if arguments.parameters is not None:
        path = Path(arguments.parameters)
        if path.is_dir():
            raise InputError(f"Parameter file '{path}' is a folder, not a file. Pass a JSON file of parameter values.")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            raise InputError(f"Parameter file '{path}' cannot be read ({reason}). "
                             "Pass a JSON file of parameter values.") from None
        try:
            base = cls.from_json(text)
        except InputError as error:  # names as in the file, with underscores
            raise InputError(f"Parameter file '{path}': {error}") from None
        defaults = cls()
        in_file = {name for name, value in base.to_dict().items() if value != getattr(defaults, name)}
    parameters = parameters_from_arguments(cls, arguments, base=base)
    provenance.note_parameters(parameters)
    parameters.check_given(given_options(cls, arguments))
    try:
        parameters.check_given(in_file)
    except ParameterError as error:
        raise InputError(f"Parameter file '{arguments.parameters}': {error}") from None
    return parameters


def stage_parser(cls, title):
    """A parent parser with ``--parameters`` and one option per field of the stage's parameter dataclass."""
    stage = Parser(add_help=False)
    stage.add_argument("--parameters", metavar="JSON_FILE",
                       help="JSON object of parameter values (names as below, with underscores); "
                            "options given on the command line take precedence (default: none).")
    add_parameter_options(stage, cls, title=title)
    return stage


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr, like every other error."""

    def error(self, message):
        self.exit(EXIT_INPUT_ERROR, f"{PROGRAM}: error: {message[:1].upper()}{message[1:]}. "
                                    f"Run '{self.prog} --help' for the usage.\n")


def finite_number(text):
    """An argparse type: a finite number (NaN and infinities are refused, as for every stage parameter)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number; got {text}")
    return value


def count_at_least(minimum):
    """An argparse type: a whole number of at least ``minimum``."""
    def count(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}; got {value}")
        return value

    return count


def reference_lesion_mask(arguments, image_node, label_node):
    """The lesion of the reference label map on the image's grid; several labels need ``--label-value``.

    Image and label map swapped, an image as the label map or a label map as the image,
    and a label map of another scan are refused (a label half outside the image is said).
    """
    from . import mrml

    mrml.check_label_map(label_node, image_node, label_name=arguments.label, image_name=arguments.image)
    mrml.check_image(image_node, label_role="LABEL")
    if arguments.label_value is None:
        values = np.unique(mrml.array_from_volume(label_node))
        values = values[values != 0]
        if len(values) > 1:
            listed = mrml.label_values_text(values)
            raise InputError(f"Label map '{arguments.label}' holds {len(values)} labels ({listed}); choose the "
                             f"lesion's with --label-value N (e.g. --label-value {values[0]}).")
    mask = mrml.label_mask_like(label_node, image_node, arguments.label_value)
    mrml.check_label_inside(label_node, mask, image_node, label_value=arguments.label_value)
    return mask
