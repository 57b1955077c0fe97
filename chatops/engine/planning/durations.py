"""Strict durations: '90s', '15m', '4h', '2d'."""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["parse_duration"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RE = re.compile(r"^([1-9][0-9]{0,5})([smhd])$")


def parse_duration(text: str) -> timedelta:
    m = _RE.fullmatch(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a duration like 90s, 15m, 4h or 2d")
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])
