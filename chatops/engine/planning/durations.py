"""Strict durations: '90s', '15m', '4h', '2d'."""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["exact", "parse_duration", "spoken"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RE = re.compile(r"^([1-9][0-9]{0,5})([smhd])$")


def parse_duration(text: str) -> timedelta:
    m = _RE.fullmatch(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a duration like 90s, 15m, 4h or 2d")
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


def exact(seconds: float) -> str:
    """A duration to the second, for when the comparison is the point: "1 min 15 s",
    "1 min", "2 h 0 min 5 s" (never two different durations said alike)."""
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    while len(parts) > 1 and parts[-1][0] == 0:
        parts.pop()
    return " ".join(f"{n} {unit}" for n, unit in parts)


def spoken(seconds: object) -> str:
    """A number of seconds as a person reads it: 40 s, 12 min, 3.5 h, 2.0 d; "-" for none."""
    if not isinstance(seconds, int | float):
        return "-"
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"
