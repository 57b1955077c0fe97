"""Change freezes: windows in chatops.yml (one-off dates, weekly spans such as Friday 16:00
to Monday 08:00 in a named time zone) and ad hoc ones a lead declares (`/freeze`).

During a freeze only a hotfix, and the processes `freezes.allow` lists, may be planned or
started on the services it covers. Time zones are the IANA database's (zoneinfo), so a
window follows its zone's daylight-saving changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

__all__ = [
    "AT",
    "DAYS",
    "WEEK_MINUTES",
    "Freeze",
    "FreezePolicy",
    "FreezeWindow",
    "TimeWindow",
    "minute_of_week",
    "wall_after",
    "zone_of",
]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEK_MINUTES = 7 * 24 * 60
AT = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun) ([01][0-9]|2[0-3]):([0-5][0-9])$")


@dataclass(frozen=True)
class Freeze:
    """A freeze in force: what it covers, why, and until when."""

    name: str
    services: tuple[str, ...]  # empty: every service
    reason: str
    until: datetime | None
    by: str | None = None

    def covers(self, service: str | None) -> bool:
        return not self.services or service in self.services

    def describe(self) -> str:
        scope = ", ".join(self.services) if self.services else "all services"
        until = f" until {self.until:%a %d %b %H:%M %Z}" if self.until else ""
        why = f": {self.reason!r}" if self.reason else ""  # quoted: someone typed it
        return f"change freeze '{self.name}' on {scope}{until}{why}"


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name like Europe/Berlin)") from None


def minute_of_week(text: str) -> int:
    m = AT.fullmatch(text.strip().lower())
    if not m:
        raise ValueError(f"{text!r}: a day and a time like 'fri 16:00'")
    return DAYS.index(m.group(1)) * 1440 + int(m.group(2)) * 60 + int(m.group(3))


def wall_after(local: datetime, minutes: int, zone: ZoneInfo) -> datetime:
    """`minutes` of wall-clock time after `local`, in `zone` (daylight saving followed)."""
    return (local.replace(tzinfo=None) + timedelta(minutes=minutes)).replace(tzinfo=zone)


class TimeWindow(BaseModel):
    """A span of time in a zone: weekly (`weekly_from: fri 16:00`, `weekly_to: mon 08:00`)
    or once (`start`, `end`, local times in the zone). A change freeze is one; so is a
    window a run may start in (starts.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    KIND: ClassVar[str] = "window"  # how its errors name it

    name: str
    timezone: str | None = None  # default: its policy's timezone
    # one-off: local date-times in the zone
    start: datetime | None = None
    end: datetime | None = None
    # weekly: e.g. from "fri 16:00" to "mon 08:00"
    weekly_from: str | None = None
    weekly_to: str | None = None

    @model_validator(mode="after")
    def _shape(self) -> TimeWindow:
        what = f"{self.KIND} {self.name!r}"
        one_off = self.start is not None or self.end is not None
        weekly = self.weekly_from is not None or self.weekly_to is not None
        if one_off == weekly:
            raise ValueError(f"{what}: give start and end, or weekly_from and weekly_to")
        if one_off and (self.start is None or self.end is None or self.end <= self.start):
            raise ValueError(f"{what}: end must come after start")
        if weekly:
            if self.weekly_from is None or self.weekly_to is None:
                raise ValueError(f"{what}: weekly_from and weekly_to go together")
            if minute_of_week(self.weekly_from) == minute_of_week(self.weekly_to):
                raise ValueError(f"{what}: an empty weekly window")
        if self.timezone is not None:
            zone_of(self.timezone)
        return self

    def span(self, now: datetime, default_tz: str) -> tuple[datetime, datetime] | None:
        """The span (open, close) in force at `now`, else the next one; None if none is left."""
        zone = zone_of(self.timezone or default_tz)
        if self.start is not None and self.end is not None:
            start = self.start if self.start.tzinfo else self.start.replace(tzinfo=zone)
            end = self.end if self.end.tzinfo else self.end.replace(tzinfo=zone)
            return (start, end) if now < end else None
        assert self.weekly_from is not None and self.weekly_to is not None
        a, b = minute_of_week(self.weekly_from), minute_of_week(self.weekly_to)
        local = now.astimezone(zone).replace(second=0, microsecond=0)
        m = local.weekday() * 1440 + local.hour * 60 + local.minute
        length = (b - a) % WEEK_MINUTES
        since_open = (m - a) % WEEK_MINUTES
        if since_open < length:  # inside: it opened `since_open` minutes ago
            opened = wall_after(local, -since_open, zone)
        else:
            opened = wall_after(local, (a - m) % WEEK_MINUTES, zone)
        return opened, wall_after(opened, length, zone)


class FreezeWindow(TimeWindow):
    KIND: ClassVar[str] = "freeze"

    services: list[str] = []  # empty: every service
    reason: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}", v):
            raise ValueError(f"freeze name {v!r}: letters, digits, space . _ - (at most 40)")
        return v

    def active(self, now: datetime, default_tz: str) -> Freeze | None:
        """The freeze this window puts in force at `now`, or None."""
        span = self.span(now, default_tz)
        return self._freeze(span[1]) if span is not None and span[0] <= now else None

    def _freeze(self, until: datetime) -> Freeze:
        return Freeze(self.name, tuple(self.services), self.reason, until)


class FreezePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "UTC"
    allow: list[str] = []  # processes that may also run during a freeze (hotfix always may)
    windows: list[FreezeWindow] = []

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        zone_of(v)
        return v

    def active(self, now: datetime) -> list[Freeze]:
        found = [w.active(now.astimezone(UTC), self.timezone) for w in self.windows]
        return [f for f in found if f is not None]

    def allows(self, process: str, kind: str) -> bool:
        return kind == "hotfix" or process in self.allow
