"""Approvals: roles, four-eyes, quorum, the architect rule, plan hash, TTL; all audited."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from chatops.engine.domain.events import ApprovalAdded
from chatops.engine.domain.run import RunState
from chatops.engine.planning.config import Config
from chatops.engine.planning.runbook import Runbook
from chatops.errors import PermissionDenied, StateError
from tests.factories import Rig, answers_for, rig
from tests.memory import MemoryDatabase

MIG = {"service": "eckwms-global", "script": "scripts/add-status.js"}
ANSWERED = answers_for("migration")


@pytest.fixture
def r(config: Config, runbooks: dict[str, Runbook]) -> Rig:
    return rig(MemoryDatabase(), config, runbooks)


def test_lead_approval_queues_a_deploy(r: Rig) -> None:
    req = r.changes.request("deploy", {"service": "eckwms-global"}, requester="U_CODER")
    assert req.run.state == RunState.AWAITING_APPROVAL
    status = r.changes.approve(req.run.id, "U_LEAD", req.plan.sha256)
    assert status.complete and status.run.state == RunState.QUEUED
    assert r.audit_actions(req.run.id) == ["plan.requested", "plan.approved", "run.queued"]


def test_non_approver_and_requester_are_refused_and_audited(r: Rig) -> None:
    req = r.changes.request("deploy", {"service": "eckwms-global"}, requester="U_LEAD")
    with pytest.raises(PermissionDenied, match="only lead may approve"):
        r.changes.approve(req.run.id, "U_CODER", req.plan.sha256)
    with pytest.raises(PermissionDenied, match="four-eyes"):
        r.changes.approve(req.run.id, "U_LEAD", req.plan.sha256)
    assert r.store.get_run(req.run.id).state == RunState.AWAITING_APPROVAL
    assert r.audit_actions(req.run.id) == ["plan.requested", "denied.approve", "denied.approve"]
    details = [e.detail for e in r.audit.for_run(req.run.id)]
    assert "four-eyes" in details[2] and details[1].startswith("only lead")


def test_unknown_requester_is_refused_and_audited(r: Rig) -> None:
    with pytest.raises(PermissionDenied, match="only"):
        r.changes.request("migration", MIG, requester="U_STRANGER")
    [event] = r.audit.recent(1)
    assert event.action == "denied.request" and event.actor == "U_STRANGER"


def test_quorum_and_architect_rule(r: Rig) -> None:
    req = r.changes.request("migration", MIG, requester="U_CODER", answers=ANSWERED)
    s1 = r.changes.approve(req.run.id, "U_LEAD", req.plan.sha256)
    assert not s1.complete and s1.run.state == RunState.AWAITING_APPROVAL
    s2 = r.changes.approve(req.run.id, "U_LEAD2", req.plan.sha256)
    assert not s2.complete  # two leads, but no architect
    assert any("architect" in m for m in s2.missing)
    s3 = r.changes.approve(req.run.id, "U_ARCH", req.plan.sha256)
    assert s3.complete and s3.run.state == RunState.QUEUED
    assert set(s3.approvers) == {"U_LEAD", "U_LEAD2", "U_ARCH"}
    # each approval short of the quorum is an event (the plan message is redrawn from it),
    # the last one is RunApproved instead
    added = [e for e in r.events.seen if isinstance(e, ApprovalAdded)]
    assert [(e.by, e.approvers) for e in added] == [
        ("U_LEAD", ("U_LEAD",)),
        ("U_LEAD2", ("U_LEAD", "U_LEAD2")),
    ]
    assert any("architect" in m for m in added[1].missing)
    assert r.events.names().count("RunApproved") == 1


def test_double_click_counts_once(r: Rig) -> None:
    req = r.changes.request("migration", MIG, requester="U_CODER", answers=ANSWERED)
    r.changes.approve(req.run.id, "U_LEAD", req.plan.sha256)
    status = r.changes.approve(req.run.id, "U_LEAD", req.plan.sha256)
    assert status.approvers == ("U_LEAD",) and not status.complete
    assert r.audit_actions(req.run.id).count("plan.approved") == 1
    assert r.events.names().count("ApprovalAdded") == 1  # the second click added nothing


def test_approval_of_another_plan_version_is_void(r: Rig) -> None:
    req = r.changes.request("deploy", {"service": "eckwms-global"}, requester="U_CODER")
    stale = "0" * 64
    with pytest.raises(PermissionDenied, match="different version of the plan"):
        r.changes.approve(req.run.id, "U_LEAD", stale)
    assert r.store.get_run(req.run.id).state == RunState.AWAITING_APPROVAL
    assert r.audit_actions(req.run.id)[-1] == "denied.approve"


def test_approval_expires_after_the_ttl(r: Rig) -> None:
    req = r.changes.request("deploy", {"service": "eckwms-global"}, requester="U_CODER")
    r.clock.advance(timedelta(hours=4, seconds=1))
    with pytest.raises(StateError, match="expired"):
        r.changes.approve(req.run.id, "U_LEAD", req.plan.sha256)
    assert r.store.get_run(req.run.id).state == RunState.EXPIRED
    assert "plan.expired" in r.audit_actions(req.run.id)
    assert "RunExpired" in r.events.names()


def test_expire_due_sweeps_old_requests(r: Rig) -> None:
    old = r.changes.request("deploy", {"service": "eckwms-global"}, requester="U_CODER")
    r.clock.advance(timedelta(hours=3))
    new = r.changes.request("deploy", {"service": "eckwms-global"}, requester="U_CODER")
    r.clock.advance(timedelta(hours=1, minutes=1))
    assert r.changes.expiry.expire_due() == [old.run.id]
    assert r.store.get_run(new.run.id).state == RunState.AWAITING_APPROVAL


def test_policy_refusal_creates_a_rejected_run_with_reasons(
    r: Rig, runbooks: dict[str, Runbook], config: Config
) -> None:
    task = {
        "task_id": "ref-1",
        "objective": "tidy",
        "target_agent": "production_server",
        "steps": ["Add a new endpoint for labels", "[restart] restart"],
    }
    req = r.changes.import_request(
        task, requester="U_ARCH", process="refactor", params={"service": "eckwms-global"}
    )
    assert not req.verdict.ok
    assert req.run.state == RunState.REJECTED
    assert "must not mix in new features" in req.run.error
    assert r.audit_actions(req.run.id) == ["plan.refused"]
    with pytest.raises(StateError):
        r.changes.approve(req.run.id, "U_LEAD", req.plan.sha256)


def test_reject_and_cancel(r: Rig) -> None:
    req = r.changes.request("deploy", {"service": "eckwms-global"}, requester="U_CODER")
    with pytest.raises(PermissionDenied):
        r.changes.reject(req.run.id, "U_ONCALL", "no")
    run = r.changes.reject(req.run.id, "U_LEAD", "not during the sale")
    assert run.state == RunState.REJECTED and run.error == "not during the sale"
    other = r.changes.request("deploy", {"service": "eckwms-global"}, requester="U_CODER")
    with pytest.raises(PermissionDenied):
        r.changes.cancel(other.run.id, "U_ONCALL")
    assert r.changes.cancel(other.run.id, "U_CODER").state == RunState.CANCELLED


def test_self_approval_only_where_the_policy_allows_it(
    tmp_path: Path, runbooks: dict[str, Runbook]
) -> None:
    from tests.conftest import eck_config

    r = rig(MemoryDatabase(), eck_config(policies={"self_approve": ["hotfix"]}), runbooks)
    hot = r.changes.request(
        "hotfix", {"service": "eckwms-global", "ref": "fix-1"}, requester="U_ONCALL"
    )
    assert r.changes.approve(hot.run.id, "U_ONCALL", hot.plan.sha256).complete
    dep = r.changes.request("deploy", {"service": "eckwms-global"}, requester="U_LEAD")
    with pytest.raises(PermissionDenied, match="four-eyes"):
        r.changes.approve(dep.run.id, "U_LEAD", dep.plan.sha256)


def test_a_plan_nobody_can_approve_is_refused_at_plan_time_and_says_why(r: Rig) -> None:
    """One architect, and the plan needs one: the architect cannot approve their own plan,
    so it would only wait and expire."""
    made = r.changes.request(
        "feature", {"service": "eckwms-global"}, requester="U_ARCH", answers=answers_for("feature")
    )
    assert made.run.state == RunState.REJECTED
    [why] = made.verdict.reasons
    assert why.startswith("no one can approve this: it needs an architect, and the only")
    assert "architect (U_ARCH) is the requester" in why
    assert r.audit_actions(made.run.id) == ["plan.refused"]
    assert r.changes.preview(made.plan, "U_ARCH").reasons == (why,)  # `chatops plan` says so
    by_lead = r.changes.request(
        "feature", {"service": "eckwms-global"}, requester="U_LEAD", answers=answers_for("feature")
    )
    assert by_lead.verdict.ok and by_lead.run.state == RunState.AWAITING_APPROVAL
