"""The parameter-dataclass pattern: one definition, three faces.

Every stage has one frozen dataclass of parameters (``EnhanceParameters``, ...)
whose fields are declared with :func:`parameter`. The metadata of each field
(help text, unit, allowed range or choices) drives validation here, the
command-line options in :mod:`clinicalimaging.cli` and the Slicer panels'
parameter nodes, so a parameter is described exactly once.
"""

import dataclasses
import json
from typing import Any, Optional, Sequence

from .errors import InputError


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
    fields together; it should raise :class:`InputError`.
    """

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            self._check_field(field, getattr(self, field.name))
        self.check()

    def check(self) -> None:
        """Cross-field validation; the default has none."""

    @classmethod
    def _check_field(cls, field: dataclasses.Field, value: Any) -> None:
        meta = field.metadata
        expected = type(field.default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
            raise InputError(f"Parameter '{field.name}' must be a {expected.__name__}, got {value!r}.")
        if meta.get("choices") and value not in meta["choices"]:
            allowed = ", ".join(map(str, meta["choices"]))
            raise InputError(f"Parameter '{field.name}' must be one of {allowed}; got {value!r}.")
        unit = f" {meta['unit']}" if meta.get("unit") else ""
        if meta.get("minimum") is not None and value < meta["minimum"]:
            raise InputError(f"Parameter '{field.name}' must be at least {meta['minimum']}{unit}; got {value}.")
        if meta.get("maximum") is not None and value > meta["maximum"]:
            raise InputError(f"Parameter '{field.name}' must be at most {meta['maximum']}{unit}; got {value}.")

    def to_dict(self) -> dict:
        """Plain ``{name: value}`` dictionary, JSON-serialisable."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "Parameters":
        """Build from a dictionary; unknown keys are an :class:`InputError`, missing ones take defaults.

        Integers given for float fields are accepted.
        """
        names = {field.name: field for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise InputError(f"Unknown {cls.__name__} parameter(s): {', '.join(unknown)}. "
                             f"Known: {', '.join(names)}.")
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
            raise InputError(f"{cls.__name__}: not valid JSON ({error}).") from None
        if not isinstance(values, dict):
            raise InputError(f"{cls.__name__}: expected a JSON object of parameters.")
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
