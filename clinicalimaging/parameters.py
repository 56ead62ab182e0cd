"""The parameter-dataclass pattern: one definition, three faces.

Every stage has one frozen dataclass of parameters (``EnhanceParameters``, ...)
whose fields are declared with :func:`parameter`. The metadata of each field
(help text, unit, allowed range or choices) drives validation here, the
command-line options in :mod:`clinicalimaging.cli` and the Slicer panels'
parameter nodes, so a parameter is described exactly once.

Messages about parameters are :class:`ParameterError` instances, which name each
parameter through a placeholder, so that every face spells it its own way: as the
field (``number_of_terms``) in Python and the panels, as the option
(``--number-of-terms``) on the command line.
"""

import dataclasses
import json
import math
from typing import Any, ClassVar, Optional, Sequence

from .errors import InputError


class ParameterError(InputError):
    """An :class:`InputError` about named parameters, spelled for the face that shows it.

    Parameters
    ----------
    template : str
        The message, with ``{0}``, ``{1}``, ... for the parameters in ``names``. A
        format spec ``=VALUE`` spells a setting: ``{0:=paper}`` is ``mode='paper'``
        in Python and ``--mode paper`` on the command line; ``{0:=False}`` is
        ``automatic_thresholds=False`` and ``--no-automatic-thresholds``.
    *names : str
        Field names.

    Examples
    --------
    >>> error = ParameterError("{0} must be at most 16; got 40.", "number_of_terms")
    >>> str(error)
    'number_of_terms must be at most 16; got 40.'
    >>> error.spelled(command_line=True)
    '--number-of-terms must be at most 16; got 40.'
    """

    def __init__(self, template: str, *names: str):
        self.template, self.names = template, names
        super().__init__(self.spelled())

    def spelled(self, *, command_line: bool = False) -> str:
        """The message with the parameters named as fields, or as command-line options."""
        return self.template.format(*(_Spelling(name, command_line) for name in self.names))


class _Spelling:
    """One parameter's name in a :class:`ParameterError` message; see there for the format specs."""

    def __init__(self, name, command_line):
        self.name, self.command_line = name, command_line

    def __format__(self, spec):
        flag = "--" + self.name.replace("_", "-")
        if not spec:
            return flag if self.command_line else self.name
        value = spec.removeprefix("=")
        if not self.command_line:
            return f"{self.name}={value if value in ('True', 'False') else repr(value)}"
        return {"True": flag, "False": f"--no-{flag[2:]}"}.get(value, f"{flag} {value}")


def parameter(default: Any, *, help: str, unit: str = "", choices: Optional[Sequence[Any]] = None,
              minimum: Optional[float] = None, maximum: Optional[float] = None) -> Any:
    """Declare one parameter field.

    Parameters
    ----------
    default
        The default value; its type is the field's type.
    help
        One sentence for tooltips and ``--help``.
    unit
        Physical unit (``"mm"``, ``"px"``, ``""`` for dimensionless).
    choices
        Allowed values, for string choices.
    minimum, maximum
        Inclusive bounds, for numbers.
    """
    metadata = {"help": help, "unit": unit, "choices": tuple(choices) if choices else None,
                "minimum": minimum, "maximum": maximum}
    return dataclasses.field(default=default, metadata=metadata)


class Parameters:
    """Mixin for frozen parameter dataclasses: validation and dict/JSON round trips.

    Subclasses are ``@dataclasses.dataclass(frozen=True)`` with fields made by
    :func:`parameter`. They may override :meth:`check` for rules that tie several
    fields together (it should raise :class:`ParameterError`), and
    :meth:`not_applicable` for fields that other fields make irrelevant.

    Class attribute ``RENAMED`` maps former field names to current ones, so that
    :meth:`from_dict` and :meth:`from_json` still read saved parameters.
    """

    RENAMED: ClassVar[dict] = {}

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            self._check_field(field, getattr(self, field.name))
        self.check()

    def check(self) -> None:
        """Cross-field validation; the default has none."""

    def not_applicable(self) -> dict:
        """The fields that have no effect with these values, each with the reason.

        Returns
        -------
        dict of str to ParameterError
            Field name -> the error that :meth:`check_given` raises when the field
            was given; the default has none.
        """
        return {}

    def check_given(self, given) -> None:
        """Refuse parameters that were given explicitly but have no effect with these values.

        Defaults never count: only the caller knows which values a user gave (an
        option on the command line, a key of a parameter file).

        Parameters
        ----------
        given : iterable of str
            Field names the user gave.

        Raises
        ------
        ParameterError
            For the first given field (in field order) that does not apply.
        """
        given = set(given)
        for name, error in self.not_applicable().items():
            if name in given:
                raise error

    @classmethod
    def _check_field(cls, field: dataclasses.Field, value: Any) -> None:
        meta = field.metadata
        expected = type(field.default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
            raise ParameterError(f"{{0}} must be a {expected.__name__}; got {value!r}.", field.name)
        if expected is float and not math.isfinite(value):  # NaN passes every comparison below
            raise ParameterError(f"{{0}} must be a finite number; got {value}.", field.name)
        if meta.get("choices") and value not in meta["choices"]:
            allowed = ", ".join(map(str, meta["choices"]))
            raise ParameterError(f"{{0}} must be one of {allowed}; got {value!r}.", field.name)
        unit = f" {meta['unit']}" if meta.get("unit") else ""
        if meta.get("minimum") is not None and value < meta["minimum"]:
            raise ParameterError(f"{{0}} must be at least {meta['minimum']}{unit}; got {value}.", field.name)
        if meta.get("maximum") is not None and value > meta["maximum"]:
            raise ParameterError(f"{{0}} must be at most {meta['maximum']}{unit}; got {value}.", field.name)

    def to_dict(self) -> dict:
        """Plain ``{name: value}`` dictionary, JSON-serialisable."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "Parameters":
        """Build from a dictionary; unknown keys are an :class:`InputError`, missing ones take defaults.

        Integers given for float fields are accepted, and so are the former names of
        renamed fields (``RENAMED``).
        """
        values = {cls.RENAMED.get(name, name): value for name, value in values.items()}
        names = {field.name: field for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise InputError(f"Unknown parameter(s): {', '.join(unknown)}. Known: {', '.join(names)}.")
        converted = {}
        for name, value in values.items():
            if type(names[name].default) is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            converted[name] = value
        return cls(**converted)

    def to_json(self) -> str:
        """The parameters as a JSON object string."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Parameters":
        """Inverse of :meth:`to_json`."""
        try:
            values = json.loads(text)
        except json.JSONDecodeError as error:
            raise InputError(f"The parameters are not valid JSON ({error}).") from None
        if not isinstance(values, dict):
            raise InputError("The parameters must be a JSON object of name: value pairs.")
        return cls.from_dict(values)

    def replace(self, **changes: Any) -> "Parameters":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def describe(cls: type) -> list[dict]:
    """The fields of a parameter dataclass as dictionaries (name, default, type, help, unit, range, choices).

    Used by the CLI and the Slicer panels to build their options from one definition.
    """
    return [{"name": field.name, "default": field.default, "type": type(field.default), **field.metadata}
            for field in dataclasses.fields(cls)]


def summary(field: dict) -> str:
    """One line for ``--help`` and tooltips: ``<help> [unit] (range a to b; default: X)``.

    Parameters
    ----------
    field : dict
        One entry of :func:`describe`.
    """
    details = []
    if field["minimum"] is not None or field["maximum"] is not None:
        low = field["minimum"] if field["minimum"] is not None else "-inf"
        high = field["maximum"] if field["maximum"] is not None else "inf"
        details.append(f"range {low} to {high}")
    details.append(f"default: {field['default']}")
    unit = f" [{field['unit']}]" if field["unit"] else ""
    return f"{field['help']}{unit} ({'; '.join(details)})"
