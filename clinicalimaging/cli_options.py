"""Stage parameters as command-line options: one ``--kebab-case`` option per dataclass field.

The options are generated from the stage's parameter dataclass
(:mod:`clinicalimaging.parameters`), so ``--help`` lists every parameter with its unit
and default, and a value given on the command line or in a ``--parameters`` JSON file
goes through the same validator as in Python and the panels.
"""

import argparse
from pathlib import Path

from . import provenance
from .errors import InputError
from .parameters import ParameterError, describe, summary

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
