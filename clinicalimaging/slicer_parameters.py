"""Parameter dataclasses as members of a Slicer module's parameter node: for the Slicer modules only.

The modules' panels build their parameters from the same dataclasses as the command
line (:mod:`clinicalimaging.parameters`), so names, defaults, ranges and choices are
defined once. Slicer modules cannot share loose ``.py`` files, so the glue they
share lives here.

This file needs the Slicer application: ``slicer.parameterNodeWrapper`` (missing
from the ``slicer-core`` wheel) is imported inside the functions, so importing the
file itself works anywhere.
"""

from typing import Annotated

from .parameters import describe, summary


def with_stage_parameters(parameters_class):
    """Class decorator: one typed parameter-node member, with default and validators, per field of a dataclass.

    Apply it below ``@parameterNodeWrapper``::

        @parameterNodeWrapper
        @with_stage_parameters(SegmentParameters)
        class SelfPacedSegmentParameterNode:
            inputVolume: vtkMRMLScalarVolumeNode

    Parameters
    ----------
    parameters_class : type
        A parameter dataclass (see :class:`clinicalimaging.parameters.Parameters`).

    Returns
    -------
    callable
        The decorator; it adds the annotations and defaults to the class and returns it.
    """

    def add_members(cls):
        annotations = dict(cls.__annotations__)
        for field in describe(parameters_class):
            annotations[field["name"]] = _parameter_type(field)
            setattr(cls, field["name"], field["default"])
        cls.__annotations__ = annotations
        return cls

    return add_members


def stage_parameters(parameter_node, parameters_class):
    """The members added by :func:`with_stage_parameters` as a validated parameter dataclass.

    Parameters
    ----------
    parameter_node : parameterNodeWrapper instance
    parameters_class : type
        The class given to :func:`with_stage_parameters`.

    Returns
    -------
    parameters_class instance

    Raises
    ------
    InputError
        Values that the dataclass rejects (e.g. inconsistent fields).
    """
    return parameters_class.from_dict({field["name"]: parameter_node.getValue(field["name"])
                                       for field in describe(parameters_class)})


def set_parameter_tooltips(ui_widget, parameters_class) -> None:
    """Give each widget bound to a field of ``parameters_class`` the field's one-line summary as its tooltip.

    Parameters
    ----------
    ui_widget : qt.QWidget
        The panel loaded from the module's ``.ui``; a field's widget carries the
        field's name in its ``SlicerParameterName`` property. Fields without a
        widget are left out.
    parameters_class : type
    """
    import qt
    from slicer.parameterNodeWrapper import SlicerParameterNamePropertyName

    widgets = {widget.property(SlicerParameterNamePropertyName): widget for widget in ui_widget.findChildren(qt.QWidget)}
    for field in describe(parameters_class):
        widget = widgets.get(field["name"])
        if widget is not None:
            widget.toolTip = summary(field)


def _parameter_type(field: dict):
    """The parameter-node type of one field of :func:`describe`, annotated with its validators."""
    from slicer.parameterNodeWrapper import Choice, Maximum, Minimum, WithinRange

    validators = []
    if field["choices"]:
        validators.append(Choice(list(field["choices"])))
    if field["minimum"] is not None and field["maximum"] is not None:
        validators.append(WithinRange(field["minimum"], field["maximum"]))
    elif field["minimum"] is not None:
        validators.append(Minimum(field["minimum"]))
    elif field["maximum"] is not None:
        validators.append(Maximum(field["maximum"]))
    return Annotated[(field["type"], *validators)] if validators else field["type"]
