"""Approve now, start later: when a plan may start, as its request says it.

A request may name a time (`start_at=22:00`, the next 22:00 in the team's time zone;
`start_at=2026-12-03T22:00`; `start_at=+2h`) or a window (`window=maintenance`, a window in
chatops.yml's `starts.windows`, in the freeze windows' syntax). The plan carries what this
resolves to (a `Start`: from when, until when, in which zone), so the people approving it
approve the time too (it is in the plan's hash). An approved run does not start before
`not_before`; one that could not start by `not_after` (serve was down, a freeze held it,
its approvals lapsed) does not start at all: it expires, and says why.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chatops.engine.planning.durations import exact, parse_duration, spoken
from chatops.engine.planning.freezes import DAYS, TimeWindow, wall_after, zone_of

__all__ = [
    "MAX_AHEAD",
    "RESERVED",
    "Start",
    "StartPolicy",
    "StartWindow",
    "resolve_start",
    "start_refusal",
    "starts_said",
    "too_late",
]

#: Request parameters every runbook takes (a runbook may not name its own so).
RESERVED = frozenset({"start_at", "window"})
MAX_AHEAD = timedelta(days=7)  # a start further away is a new request next week
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})?$")


class Start(BaseModel):
    """When an approved run may start: from `not_before` to `not_after` (UTC, ISO 8601)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    not_before: str
    not_after: str
    timezone: str  # the zone the request's time is read (and said) in
    window: str | None = None  # the named window it starts in, if one

    @property
    def earliest(self) -> datetime:
        return datetime.fromisoformat(self.not_before)

    @property
    def latest(self) -> datetime:
        return datetime.fromisoformat(self.not_after)


class StartWindow(TimeWindow):
    """A named window runs may start in (`window=NAME`), in the freeze windows' syntax."""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", v):
            raise ValueError(f"window name {v!r}: lower-case letters, digits, _ - (at most 40)")
        return v


class StartPolicy(BaseModel):
    """`starts:` in chatops.yml: the zone a request's time is read in, how late a start at a
    time may still go (`late_by`), and the named windows."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str | None = None  # default: freezes.timezone
    late_by: str = "1h"
    windows: Annotated[list[StartWindow], Field(max_length=50)] = []

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is not None:
            zone_of(v)
        return v

    @field_validator("late_by")
    @classmethod
    def _late(cls, v: str) -> str:
        parse_duration(v)
        return v

    def window(self, name: str) -> StartWindow | None:
        return next((w for w in self.windows if w.name == name), None)


def resolve_start(
    start_at: str | None,
    window: str | None,
    policy: StartPolicy,
    zone_name: str,
    now: datetime,
    hold_for: timedelta,
) -> Start:
    """What a request's `start_at=` or `window=` means, from `now`. ValueError, said for the
    person who asked, when it names no time we can keep."""
    if start_at and window:
        raise ValueError("give start_at or window, not both")
    zone = zone_of(zone_name)
    if window:
        w = policy.window(window)
        if w is None:
            known = ", ".join(x.name for x in policy.windows) or "none configured"
            raise ValueError(f"unknown window {window!r}; windows: {known}")
        span = w.span(now, zone_name)
        if span is None:
            raise ValueError(f"window {window!r} has no opening left")
        opens, closes = span
        start = Start(
            not_before=_utc(max(opens, now)),
            not_after=_utc(closes),
            timezone=w.timezone or zone_name,
            window=w.name,
        )
    else:
        assert start_at is not None
        at = _parse_at(start_at.strip(), zone, now)
        if at <= now:
            raise ValueError(f"start_at={start_at} is in the past ({_said(at, zone, now)})")
        late = parse_duration(policy.late_by)
        start = Start(not_before=_utc(at), not_after=_utc(at + late), timezone=zone_name)
    ahead = start.earliest - now
    if ahead > MAX_AHEAD:
        raise ValueError("a start more than 7 days away: ask again nearer the time")
    if ahead > hold_for:
        raise ValueError(
            f"it would start in {spoken(ahead.total_seconds())}, but approvals hold "
            f"{spoken(hold_for.total_seconds())} (approvals.hold_for): ask nearer the time"
        )
    return start


def _parse_at(text: str, zone: ZoneInfo, now: datetime) -> datetime:
    if text.startswith("+"):
        return now + parse_duration(text[1:])
    m = _CLOCK.fullmatch(text)
    if m:
        local = now.astimezone(zone).replace(second=0, microsecond=0)
        at = local.replace(hour=int(m.group(1)), minute=int(m.group(2)))
        if at <= local:
            at = wall_after(at, 1440, zone)
        return at
    if _STAMP.fullmatch(text):
        at = datetime.fromisoformat(text.replace(" ", "T").replace("Z", "+00:00"))
        return at if at.tzinfo else at.replace(tzinfo=zone)
    raise ValueError(
        f"start_at={text!r}: a time like 22:00, a date and time like 2026-12-03T22:00, "
        "or a delay like +2h"
    )


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


def _said(at: datetime, zone: ZoneInfo, now: datetime | None) -> str:
    """The time in the zone, with its day unless it is today (or no today is given)."""
    local = at.astimezone(zone)
    same_day = now is not None and local.date() == now.astimezone(zone).date()
    day = "" if same_day else f"{DAYS[local.weekday()].capitalize()} {local:%d %b} "
    return f"{day}{local:%H:%M} {zone}"


def starts_said(start: Start, now: datetime | None = None) -> str:
    """How the thread, the App Home and the page say a start: "22:00 Europe/Berlin (in
    5.0 h)", "Tue 08 Dec 22:00 Europe/Berlin, in window maintenance (until 01:00)"; without
    `now`, always with its day."""
    zone = zone_of(start.timezone)
    at, until = start.earliest, start.latest
    text = _said(at, zone, now)
    if now is not None and at > now:
        text += f" (in {spoken((at - now).total_seconds())})"
    if start.window:
        text += f", in window {start.window} (until {until.astimezone(zone):%H:%M})"
    return text


def start_refusal(
    start: Start, approved_at: datetime | None, now: datetime, hold_for: timedelta
) -> str | None:
    """Why a scheduled run may not start now, though due; None if it may."""
    if now > start.latest:
        zone = zone_of(start.timezone)
        where = f"window {start.window}" if start.window else "its start"
        return (
            f"it missed {where}: it could not start by "
            f"{start.latest.astimezone(zone):%a %d %b %H:%M} {start.timezone}"
        )
    if approved_at is not None and now - approved_at > hold_for:
        return (
            f"its approvals lapsed: given {exact((now - approved_at).total_seconds())} ago, "
            f"they hold {exact(hold_for.total_seconds())} (approvals.hold_for)"
        )
    return None


def too_late(start: Start | None, now: datetime) -> str | None:
    """Why a plan may no longer be approved: the time it was to start by has passed."""
    if start is None or now <= start.latest:
        return None
    return f"it was to start by {starts_said(start)}: that has passed, ask again"
