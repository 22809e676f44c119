"""Command-line options made from the settings' dataclass fields (`BuildOptions`, `IncidentColumns`,
`BoundarySpec`, `ProvenanceOptions`, `ServerConfig`): each setting's default and help are declared
once, on its field (`field(default=..., metadata={"help": ...})`), and every command that offers it
reads them from there."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, Field, fields
from typing import Any, TypeVar

import click

Decorated = TypeVar("Decorated", bound=Callable[..., Any])


def setting_field(owner: type, name: str) -> Field[Any]:
    """The field `name` of the settings dataclass `owner`."""
    for field in fields(owner):
        if field.name == name:
            return field
    raise KeyError(f"{owner.__name__} has no setting {name!r}")


def setting_default(field: Field[Any]) -> Any:
    """The value a setting takes when it is not given."""
    if field.default_factory is not MISSING:
        return field.default_factory()
    return None if field.default is MISSING else field.default


def command_line_text(value: Any) -> Any:
    """A default as it is typed on the command line: H3 resolutions (6, 7, 8, 9) as `6,7,8,9`."""
    return ",".join(map(str, value)) if isinstance(value, tuple) else value


def setting_option(owner: type, name: str, *flags: str, **attrs: Any) -> Callable[[Decorated], Decorated]:
    """`click.option(*flags)` for the setting `name` of `owner`: its parameter named as the field, so
    that the command hands it on by name; its help from the field's `help` metadata and its default
    from the field's (the option's `type` reads it back; a repeatable option's is its tuple)."""
    field = setting_field(owner, name)
    default = setting_default(field) if attrs.get("multiple") else command_line_text(setting_default(field))
    return click.option(*flags, name, default=default, help=field.metadata["help"], **attrs)


def settings_of(owner: type[Any], values: dict[str, Any]) -> Any:
    """An `owner` made of the values of its fields taken out of `values` (a command's parameters)."""
    return owner(**{field.name: values.pop(field.name) for field in fields(owner) if field.name in values})


class ParsedText(click.ParamType):
    """A command-line text turned into the setting's value by `parse` (which says what is wrong in
    a `click.BadParameter`); a value that is no text (a default already parsed) is kept."""

    def __init__(self, name: str, parse: Callable[[str], Any]) -> None:
        self.name = name
        self.parse = parse

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return self.parse(value) if isinstance(value, str) else value
