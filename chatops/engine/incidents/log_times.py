"""`since=` over log files: the files have no index by time, so the lines read are kept from
the first one whose own time is within the window. Times read: ISO 8601 at the start of a
line (PM2's `--time` prefix, most application loggers), nginx's error log
(`2026/12/07 23:10:00`) and its access log (`[07/Dec/2026:23:10:00 +0000]`). A line with
no time (a stack trace's) goes with the line before it. A time without a zone is read as
UTC; a log with no time this reads is shown as it is, and the reader is told so."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

__all__ = ["line_time", "within"]

_ISO = re.compile(
    r"^\[?(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,]\d+)?"
    r"\s?(Z|[+-]\d{2}:?\d{2})?"
)
_NGINX_ERROR = re.compile(r"^(\d{4})/(\d{2})/(\d{2}) (\d{2}):(\d{2}):(\d{2})")
_NGINX_ACCESS = re.compile(
    r"\[(\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})\]"
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}


def _zone(text: str | None) -> timezone:
    if not text or text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))


def line_time(line: str) -> datetime | None:
    """The time a log line says it was written, or None."""
    try:
        if m := _ISO.match(line):
            y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
            return datetime(y, mo, d, h, mi, s, tzinfo=_zone(m.group(7)))
        if m := _NGINX_ERROR.match(line):
            y, mo, d, h, mi, s = (int(x) for x in m.groups())
            return datetime(y, mo, d, h, mi, s, tzinfo=UTC)
        if m := _NGINX_ACCESS.search(line):
            day, mon, year, hour, minute, second, z = m.groups()
            month = _MONTHS.get(mon)
            if month is None:
                return None
            return datetime(
                int(year), month, int(day), int(hour), int(minute), int(second), tzinfo=_zone(z)
            )
    except ValueError:  # 2026-13-45: not a time
        return None
    return None


def within(text: str, cutoff: datetime, last: int) -> tuple[str, bool]:
    """The lines of `text` written at `cutoff` or later (a line with no time goes with the
    one before), at most the `last` of them; and whether any line carried a time at all
    (if none did, `text`'s last lines come back as they are)."""
    kept: list[str] = []
    timed = False
    keeping = False
    for line in text.splitlines():
        at = line_time(line)
        if at is not None:
            timed = True
            keeping = at >= cutoff
        if keeping:
            kept.append(line)
    if not timed:
        kept = text.splitlines()
    return "\n".join(kept[-last:]) + ("\n" if kept else ""), timed
