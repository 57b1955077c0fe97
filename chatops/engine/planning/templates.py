"""Command templates: '{name}' placeholders, each replaced by a shell-quoted value.

Only plain names are allowed: no attribute access, indexing, conversions or format specs,
so a template cannot reach anything but the values it is given. '{{' and '}}' are literal
braces (write '${{HOME}}' for the shell's '${HOME}').
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from string import Formatter

__all__ = ["placeholders", "quote", "render"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def placeholders(template: str) -> list[str]:
    """The names a template uses, in order. Raises ValueError on anything but plain names."""
    names: list[str] = []
    try:
        parsed = list(Formatter().parse(template))
    except ValueError as e:
        raise ValueError(f"bad template {template!r}: {e}") from e
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if spec or conversion or not _NAME.match(field):
            raise ValueError(
                f"bad placeholder {{{field}}} in {template!r}: only {{lower_snake_name}} is allowed"
            )
        names.append(field)
    return names


def render(template: str, values: Mapping[str, object]) -> str:
    """Render a template, shell-quoting every value. Missing names raise KeyError."""
    out: list[str] = []
    for literal, field, _spec, _conv in Formatter().parse(template):
        out.append(literal)
        if field is None:
            continue
        if field not in values:
            raise KeyError(field)
        out.append(quote(values[field]))
    return "".join(out)


def quote(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    return shlex.quote(str(value))
