"""A plan's approval clock (`approvals:` in chatops.yml) with a fake clock, on SQLite and
PostgreSQL: reminded at the SLA, escalated past escalate_after, expired at expire_after,
each once, and none repeated or skipped across a restart (a new process on the store)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chatops.engine.domain import events as ev
from chatops.engine.domain.run import RunState
from chatops.engine.planning.config import ApprovalSlas, Config
from chatops.engine.planning.runbook import Runbook
from tests.conftest import eck_config
from tests.factories import rig

MIN = timedelta(minutes=1)
SLAS = {
    "sla": "30m",
    "escalate_after": "2h",
    "expire_after": "8h",
    "per": {"deploy/production": {"sla": "15m", "escalate_after": "30m"}},
}


def overdue(events: list[ev.Event]) -> list[tuple[str, tuple[str, ...]]]:
    return [(e.stage, e.told) for e in events if isinstance(e, ev.ApprovalOverdue)]


def test_the_most_specific_times_win() -> None:
    slas = ApprovalSlas.model_validate(SLAS)
    prod = slas.times_for("deploy", "production")
    assert (prod.sla, prod.escalate_after, prod.expire_after) == ("15m", "30m", "8h")
    staging = slas.times_for("deploy", "staging")
    assert (staging.sla, staging.escalate_after) == ("30m", "2h")
    with pytest.raises(ValueError):
        ApprovalSlas.model_validate({"sla": "soon"})


def test_reminded_escalated_expired_once_each_across_a_restart(
    db_url: str, runbooks: dict[str, Runbook]
) -> None:
    config: Config = eck_config(approvals=SLAS)
    first = rig(db_url, config, runbooks)
    run = first.changes.request("deploy", {"service": "eckwms-global"}, requester="U_CODER").run
    first.changes.expiry.expire_due()
    assert overdue(first.events.seen) == []  # not due yet

    first.clock.advance(16 * MIN)  # past the production SLA
    first.changes.expiry.expire_due()
    first.changes.expiry.expire_due()  # a second sweep tells no one again
    assert overdue(first.events.seen) == [("sla", ("U_LEAD", "U_LEAD2"))]

    second = rig(db_url, config, runbooks)  # a restart: a new process on the same store
    second.clock.set(first.clock.now())
    second.changes.expiry.expire_due()
    assert overdue(second.events.seen) == []  # reminded before: not again
    second.clock.advance(15 * MIN)  # 31 min: past escalate_after
    second.changes.expiry.expire_due()
    second.changes.expiry.expire_due()
    [(stage, told)] = overdue(second.events.seen)
    assert stage == "escalate" and told == ("U_LEAD", "U_LEAD2", "U_ONCALL")
    [escalated] = [e for e in second.events.seen if isinstance(e, ev.ApprovalOverdue)]
    assert escalated.missing and "approval" in escalated.missing[0]  # what it still needs

    second.clock.advance(8 * 60 * MIN)
    assert second.changes.expiry.expire_due() == [run.id]
    assert second.store.get_run(run.id).state == RunState.EXPIRED
    actions = [e.action for e in second.store.audit_for_run(run.id)]
    assert actions.count("plan.sla_reminded") == 1 and actions.count("plan.sla_escalated") == 1
    assert actions[-1] == "plan.expired"


def test_an_approver_who_approved_is_not_reminded_and_no_sla_means_no_reminder(
    db_url: str, runbooks: dict[str, Runbook]
) -> None:
    config = eck_config(
        approvals=SLAS, policies={"approvals": {"deploy": 2}}
    )  # two approvals needed: one given, one still missing
    r = rig(db_url, config, runbooks)
    run = r.changes.request("deploy", {"service": "eckwms-global"}, requester="U_CODER").run
    r.approve_all(run.id, "U_LEAD")
    r.clock.advance(16 * MIN)
    r.changes.expiry.expire_due()
    assert overdue(r.events.seen) == [("sla", ("U_LEAD2",))]  # not who already approved

    plain = rig(db_url, eck_config(), runbooks)  # no approvals section: only the old expiry
    other = plain.changes.request("deploy", {"service": "eckwms-global"}, requester="U_CODER")
    plain.clock.advance(3 * 60 * MIN)
    plain.changes.expiry.expire_due()
    assert overdue(plain.events.seen) == []
    assert plain.store.get_run(other.run.id).state == RunState.AWAITING_APPROVAL  # 4h ttl
