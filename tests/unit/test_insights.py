"""The insights service over a small fake of the store's history: who may open the page,
what the App Home is given, and how often the history is read for it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

import pytest

from chatops.adapters.clock import ManualClock
from chatops.engine.domain.links import LinkRefused
from chatops.engine.domain.roles import Roles
from chatops.engine.domain.run import AuditEvent, RunState, RunView
from chatops.engine.planning.config import Config
from chatops.engine.runs.insights import HOME_EVERY, Insights
from chatops.errors import PermissionDenied
from tests.factories import NOW
from tests.memory import MemoryDatabase

KEY = b"k" * 32


class FakeHistory:
    """One deploy that shipped an hour after it was asked; counts how often it is opened."""

    opened = 0

    def __init__(self) -> None:
        FakeHistory.opened += 1

    def list_runs(self, limit: int = 50, states: Sequence[RunState] = ()) -> list[RunView]:
        at = NOW - timedelta(days=1)
        state = RunState.SUCCEEDED
        return [RunView(1, "t1", "h", "deploy", "deploy", "web", "production", state, "U1", at, at)]

    def audit_since(self, since: datetime) -> Iterator[AuditEvent]:
        at = NOW - timedelta(days=1)
        yield AuditEvent(at + timedelta(minutes=10), "chatops", "run.queued", 1)
        yield AuditEvent(at + timedelta(hours=1), "chatops", "run.succeeded", 1)

    def close(self) -> None:
        pass


def insights(config: Config, history: bool = True) -> tuple[Insights, ManualClock, MemoryDatabase]:
    clock = ManualClock(NOW)
    db = MemoryDatabase()
    made = Insights(
        FakeHistory if history else None, config, Roles(config), clock, db.transactions(clock), KEY
    )
    return made, clock, db


def test_a_lead_opens_the_page_and_others_are_refused_on_record(config: Config) -> None:
    service, clock, db = insights(config)
    page = service.open(service.link("U_LEAD").split("t=", 1)[1])
    assert page.viewer == "U_LEAD" and page.numbers["deployment_frequency"] == {
        "count": 1,
        "per_day": round(1 / 30, 3),
    }
    assert len(page.weeks) >= 12
    with pytest.raises(PermissionDenied, match="only lead"):
        service.link("U_CODER")
    token = service.link("U_LEAD").split("t=", 1)[1]
    clock.advance(timedelta(hours=2))
    with pytest.raises(LinkRefused, match="expired: ask for a new one"):
        service.open(token)
    with db.transactions(clock)() as t:
        assert [e.action for e in t.audit.recent(10)] == ["denied.insights"] * 2


def test_the_app_home_reads_the_history_at_most_once_a_minute(config: Config) -> None:
    service, clock, _db = insights(config)
    FakeHistory.opened = 0
    first = service.team()
    assert first is not None and first.deploys == 1 and first.lead_p50_s == 3600.0
    assert service.team() is first and FakeHistory.opened == 1  # kept
    clock.advance(timedelta(seconds=HOME_EVERY + 1))
    assert service.team() == first and FakeHistory.opened == 2  # read again


def test_without_a_sql_store_there_are_no_numbers_and_the_page_says_why(config: Config) -> None:
    service, _clock, _db = insights(config, history=False)
    assert service.team() is None
    with pytest.raises(PermissionDenied, match="need a database"):
        service.open(service.link("U_LEAD").split("t=", 1)[1])
