"""Refused links per client address: on record while few, then 429 and one summary row a
minute; live page streams capped per person and in all."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest

from chatops.adapters.clock import ManualClock
from chatops.engine.runs.refusals import PER_MINUTE, Refusals
from chatops.errors import RateLimited
from chatops.web.routes import Streams

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def test_a_flood_from_one_address_leaves_a_row_a_minute_not_a_row_a_request() -> None:
    clock = ManualClock(NOW)
    refusals = Refusals(clock)
    rows: list[str] = []
    limited = 0
    for i in range(1000):
        if i % 144 == 0:
            clock.advance(timedelta(seconds=1))  # 144 a second, as the flood came
        try:
            refusals.refused("203.0.113.5", lambda: rows.append("row"), rows.append)
        except RateLimited as e:
            limited += 1
            assert e.retry_after >= 1
    assert rows.count("row") == PER_MINUTE
    assert limited == 1000 - PER_MINUTE
    clock.advance(timedelta(seconds=61))
    with pytest.raises(RateLimited):  # still past it: the next one says how many came
        refusals.refused("203.0.113.5", lambda: rows.append("row"), rows.append)
    [summary] = [r for r in rows if r != "row"]
    assert summary.startswith("991 refused link attempts from 203.0.113.5 in ")
    # another address is its own: within its limit, on record
    refusals.refused("198.51.100.7", lambda: rows.append("other"), rows.append)
    assert rows[-1] == "other"


def test_a_flood_that_stops_is_summarised_by_the_sweep() -> None:
    clock = ManualClock(NOW)
    refusals = Refusals(clock, per_minute=2)
    said: list[str] = []
    for _ in range(5):
        with contextlib.suppress(RateLimited):
            refusals.refused("192.0.2.1", lambda: None, said.append)
    assert said == []
    refusals.flush(said.append)
    assert said == ["3 refused link attempts from 192.0.2.1 in 1 s"]
    refusals.flush(said.append)
    assert len(said) == 1  # said once


def test_live_page_streams_are_capped_per_person_and_in_all() -> None:
    streams = Streams(per_user=2, total=3)
    streams.enter("U1")
    streams.enter("U1")
    with pytest.raises(RateLimited, match="2 live pages are open for you"):
        streams.enter("U1")
    streams.enter("U2")
    with pytest.raises(RateLimited, match="3 live pages are open"):
        streams.enter("U3")
    streams.leave("U1")
    streams.enter("U3")
    assert streams.open == {"U1": 1, "U2": 1, "U3": 1}
