"""A plan's approval clock in Slack, on a fake clock: past its SLA the approvers are
reminded in the thread and by DM, past escalate_after the leads and on-call, and at
expire_after the plan expires with its buttons gone and its requester told; the requester
hears of every decision by DM (approved by whom, rejected and why)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from chatops.adapters.clock import ManualClock
from chatops.simulator.harness import ChatHarness
from tests.factories import NOW
from tests.history import SHIP
from tests.local_harness import local_harness

MIN = timedelta(minutes=1)


@pytest.fixture
def slack(tmp_path: Path) -> Iterator[ChatHarness]:
    times = {"sla": "15m", "escalate_after": "30m", "expire_after": "1h"}
    with local_harness(tmp_path, {"ship.yml": SHIP}, ManualClock(NOW), approvals=times) as h:
        yield h


def dms(slack: ChatHarness, user: str) -> list[str]:
    return [m.all_text() for m in slack.standin.channel(user)]


def sweep_after(slack: ChatHarness, minutes: int) -> None:
    clock = slack.wired.clock
    assert isinstance(clock, ManualClock)
    clock.advance(minutes * MIN)
    slack.sweeper.sweep()
    slack.settle()


def test_reminded_then_escalated_then_expired_and_the_requester_told(
    slack: ChatHarness,
) -> None:
    slack.command("/change", "ship web", user="U_CODER")
    slack.settle()
    [plan] = slack.plans()
    sweep_after(slack, 10)
    assert not dms(slack, "U_LEAD")  # inside its SLA: nobody bothered
    sweep_after(slack, 6)
    [reminder] = [m.all_text() for m in slack.thread(plan) if ":alarm_clock:" in m.all_text()]
    assert "15m (its SLA)" in reminder and "<@U_LEAD>" in reminder
    assert any("please review" in t for t in dms(slack, "U_LEAD"))
    assert not dms(slack, "U_ONCALL")
    sweep_after(slack, 1)
    assert sum(":alarm_clock:" in t for t in dms(slack, "U_LEAD")) == 1  # once
    sweep_after(slack, 15)  # 32 min: past escalate_after
    assert any("Still not approved after 30m" in t for t in dms(slack, "U_ONCALL"))
    assert any(":rotating_light:" in m.all_text() for m in slack.thread(plan))
    sweep_after(slack, 30)  # past expire_after
    latest = slack.plans()[0]
    assert "chatops.approve" not in [b["action_id"] for b in latest.controls()]
    assert any("expired without enough approvals" in t for t in dms(slack, "U_CODER"))


def test_the_requester_hears_of_approval_and_of_rejection(slack: ChatHarness) -> None:
    slack.command("/change", "ship web", user="U_CODER")
    slack.settle()
    slack.click("chatops.approve", user="U_LEAD")
    slack.settle()
    assert any("was approved by <@U_LEAD>" in t for t in dms(slack, "U_CODER"))
    slack.command("/change", "ship web", user="U_CODER")
    slack.settle()
    run_id = slack.wired.queries.list_runs(limit=1)[0].id
    slack.wired.changes.reject(run_id, "U_LEAD", "not during the sale")
    slack.settle()
    assert any("rejected by <@U_LEAD>: not during the sale" in t for t in dms(slack, "U_CODER"))
