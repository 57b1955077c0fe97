"""When a plan may start (`start_at=`, `window=`): read in the team's zone, daylight saving
followed, refused when it names no time we can keep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chatops.engine.planning.starts import (
    Start,
    StartPolicy,
    resolve_start,
    start_refusal,
    starts_said,
    too_late,
)

BERLIN = "Europe/Berlin"
DAY = timedelta(days=1)
POLICY = StartPolicy.model_validate(
    {
        "late_by": "30m",
        "windows": [
            {"name": "maintenance", "weekly_from": "tue 22:00", "weekly_to": "wed 01:00"},
            {"name": "weekend", "weekly_from": "fri 22:00", "weekly_to": "mon 06:00"},
            {"name": "migration", "start": "2026-12-05T20:00", "end": "2026-12-05T23:00"},
        ],
    }
)
WED = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)  # a Wednesday, 07:00 in Berlin


def at(
    text: str | None, window: str | None = None, now: datetime = WED, hold: timedelta = 7 * DAY
) -> Start:
    return resolve_start(text, window, POLICY, BERLIN, now, hold)


def test_a_time_of_day_is_the_next_one_in_the_team_zone() -> None:
    later = at("22:00")
    assert later.earliest == datetime(2026, 12, 2, 21, 0, tzinfo=UTC)  # today, UTC+1
    assert later.latest - later.earliest == timedelta(minutes=30)  # starts.late_by
    tomorrow = at("06:30")  # 06:30 has passed in Berlin today: tomorrow's
    assert tomorrow.earliest == datetime(2026, 12, 3, 5, 30, tzinfo=UTC)
    assert starts_said(later, WED) == "22:00 Europe/Berlin (in 15.0 h)"
    assert starts_said(tomorrow, WED).startswith("Thu 03 Dec 06:30 Europe/Berlin")


def test_a_time_across_the_spring_change_keeps_its_wall_clock() -> None:
    saturday = datetime(2026, 3, 28, 21, 0, tzinfo=UTC)  # 22:00 in Berlin, UTC+1
    start = at("03:00", now=saturday)  # clocks go 02:00 -> 03:00 that night: UTC+2 after
    assert start.earliest == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_a_date_a_delay_and_an_offset() -> None:
    assert at("2026-12-03T22:00").earliest == datetime(2026, 12, 3, 21, 0, tzinfo=UTC)
    assert at("2026-12-03 22:00Z").earliest == datetime(2026, 12, 3, 22, 0, tzinfo=UTC)
    assert at("+90m").earliest == WED + timedelta(minutes=90)


def test_a_window_starts_at_its_next_opening_or_now_inside_it() -> None:
    tue = at(None, "maintenance")  # Wednesday 07:00: the next is Tuesday 22:00
    assert tue.earliest == datetime(2026, 12, 8, 21, 0, tzinfo=UTC)
    assert tue.latest == datetime(2026, 12, 9, 0, 0, tzinfo=UTC)
    assert tue.window == "maintenance"
    saturday = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    inside = at(None, "weekend", now=saturday)  # over the week's end: open now, till Monday
    assert inside.earliest == saturday
    assert inside.latest == datetime(2026, 12, 7, 5, 0, tzinfo=UTC)
    once = at(None, "migration")
    assert (once.earliest, once.latest) == (
        datetime(2026, 12, 5, 19, 0, tzinfo=UTC),
        datetime(2026, 12, 5, 22, 0, tzinfo=UTC),
    )
    assert "in window migration (until 23:00)" in starts_said(once, WED)


@pytest.mark.parametrize(
    ("text", "window", "hold", "said"),
    [
        ("22:00", "maintenance", 7 * DAY, "not both"),
        (None, "night", 7 * DAY, "unknown window 'night'; windows: maintenance, weekend"),
        ("2026-12-01T22:00", None, 7 * DAY, "in the past"),
        ("tomorrow", None, 7 * DAY, "a time like 22:00"),
        ("22:00; rm -rf /", None, 7 * DAY, "a time like 22:00"),
        ("+8d", None, 30 * DAY, "more than 7 days"),
        ("22:00", None, timedelta(hours=4), "approvals hold 4.0 h"),
    ],
)
def test_refused_with_a_reason(
    text: str | None, window: str | None, hold: timedelta, said: str
) -> None:
    with pytest.raises(ValueError) as e:
        at(text, window, hold=hold)
    assert said in str(e.value)


def test_a_one_off_window_that_ended_has_no_opening() -> None:
    with pytest.raises(ValueError, match="no opening left"):
        at(None, "migration", now=datetime(2026, 12, 6, tzinfo=UTC))


def test_at_the_start_a_closed_window_or_lapsed_approvals_refuse_it() -> None:
    start = at(None, "maintenance")
    due = start.earliest + timedelta(minutes=5)
    assert start_refusal(start, WED, due, 7 * DAY) is None
    missed = start_refusal(start, WED, start.latest + timedelta(seconds=1), 7 * DAY)
    assert missed is not None and "missed window maintenance" in missed
    lapsed = start_refusal(start, WED, due, DAY)
    assert lapsed is not None and "approvals lapsed" in lapsed
    assert "given 6 d 15 h 5 min ago, they hold 1 d (approvals.hold_for)" in lapsed  # exact
    close = start_refusal(start, due - timedelta(seconds=75), due, timedelta(seconds=60))
    assert close is not None and "given 1 min 15 s ago, they hold 1 min" in close
    assert too_late(start, due) is None and too_late(None, due) is None
    late = too_late(start, start.latest + timedelta(minutes=1))
    assert late is not None and "has passed" in late
