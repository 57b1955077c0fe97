"""The drift check with the engine's own parts, on SQLite and PostgreSQL: what a deploy was
approved against is recorded at its quorum; a revision or a host key that changed before
the first machine step stops the run untouched and asks its approvers again; approved
again it goes on against the hosts as found (and a second change asks again)."""

from __future__ import annotations

import pytest

from chatops.engine.domain import events as ev
from chatops.engine.domain.run import RunState, StepState
from chatops.engine.planning.drift import DRIFT_STEP
from chatops.engine.planning.runbook import Runbook
from chatops.engine.runs.commands import Approve, ApproveGate, Cancel, MarkDone
from chatops.engine.runs.operations import Operations
from chatops.errors import PermissionDenied
from tests.conftest import eck_config
from tests.factories import Rig, rig

A, B, C = "a" * 40, "b" * 40, "c" * 40
SERVICE = {"service": "eckwms-global"}


def at(r: Rig, revision: str) -> None:
    """The host's app is at `revision` (what `git rev-parse HEAD` answers from now on)."""
    r.executor.rules[:] = [("rev-parse HEAD", 0, revision + "\n")]


def planned(r: Rig) -> list[str]:
    return [c for _h, c in r.executor.calls if c.startswith("cd ")]  # the plan's commands


def approved(r: Rig) -> tuple[Operations, int]:
    ops = Operations(r.changes, r.runner)  # as every front end approves: recorded, then kicked
    made = r.changes.request("deploy", dict(SERVICE), requester="U_CODER")
    assert made.plan.drift == ["revision", "service", "host_key"]
    ops.handle(Approve(made.run.id, "U_LEAD", made.plan.sha256))
    return ops, made.run.id


def test_unchanged_hosts_go_on_and_the_basis_is_on_record(
    db_url: str, runbooks: dict[str, Runbook]
) -> None:
    r = rig(db_url, eck_config(), runbooks)
    at(r, A)
    ops, run_id = approved(r)
    plan = r.store.load_plan(r.store.get_run(run_id).task_id)
    assert plan.facts["prod-1"] == {  # read when the plan was made: in what was approved
        "revision": A,
        "service": "unreadable (pm2 describe eckwms-global shows no status)",
        "host_key": "SHA256:known",
    }
    assert not [e for e in r.audit.for_run(run_id) if e.action == "drift.recorded"]
    ops.handle(MarkDone(run_id, "prepare", "U_CODER"))
    assert r.store.get_run(run_id).state == RunState.SUCCEEDED
    assert "DriftFound" not in r.events.names()


def test_a_change_between_the_plan_and_the_quorum_is_caught(
    db_url: str, runbooks: dict[str, Runbook]
) -> None:
    """The hosts as the plan showed them are what is approved: a hand commit that lands
    after the plan was posted, a moment before or after the approving click, is a drift
    (the facts are never read again at the quorum to become the basis)."""
    r = rig(db_url, eck_config(), runbooks)
    at(r, A)
    ops = Operations(r.changes, r.runner)
    made = r.changes.request("deploy", dict(SERVICE), requester="U_CODER")
    assert made.plan.facts["prod-1"]["revision"] == A  # shown to the approvers
    at(r, B)  # the hand commit, 0.2 s after the click was answered (or before)
    ops.handle(Approve(made.run.id, "U_LEAD", made.plan.sha256))
    ops.handle(MarkDone(made.run.id, "prepare", "U_CODER"))
    run = r.store.get_run(made.run.id)
    assert run.state == RunState.RUNNING and run.current_step == DRIFT_STEP
    assert planned(r) == []  # nothing touched
    [found] = [e for e in r.events.seen if isinstance(e, ev.DriftFound)]
    assert found.differences == (f"prod-1 was at {A[:12]} when approved, is at {B[:12]} now",)


def test_a_commit_landing_stops_the_run_untouched_until_approved_again(
    db_url: str, runbooks: dict[str, Runbook]
) -> None:
    r = rig(db_url, eck_config(), runbooks)
    at(r, A)
    ops, run_id = approved(r)
    at(r, B)  # someone pulled on the host by hand, after the approval
    ops.handle(MarkDone(run_id, "prepare", "U_CODER"))
    run = r.store.get_run(run_id)
    assert run.state == RunState.RUNNING and run.current_step == DRIFT_STEP and run.owner is None
    assert planned(r) == []  # nothing touched
    [found] = [e for e in r.events.seen if isinstance(e, ev.DriftFound)]
    assert found.differences == (f"prod-1 was at {A[:12]} when approved, is at {B[:12]} now",)
    with pytest.raises(PermissionDenied, match="four-eyes"):
        ops.handle(ApproveGate(run_id, DRIFT_STEP, "U_CODER"))  # the requester may not
    with pytest.raises(PermissionDenied):
        ops.handle(ApproveGate(run_id, DRIFT_STEP, "U_ONCALL"))  # nor who may not approve deploys
    assert planned(r) == []
    ops.handle(ApproveGate(run_id, DRIFT_STEP, "U_LEAD"))
    run = r.store.get_run(run_id)
    assert run.state == RunState.SUCCEEDED and planned(r)
    actions = r.audit_actions(run_id)
    assert actions.count("drift.found") == 1 and actions.count("drift.reapproved") == 1
    assert actions.index("drift.reapproved") < actions.index("run.succeeded")
    [drift] = [s for s in r.store.steps(run_id) if s.step_id == DRIFT_STEP]
    assert drift.state == StepState.SUCCEEDED and drift.actor == "U_LEAD"


def test_it_changes_again_while_waiting_and_is_asked_again_then_cancelled(
    db_url: str, runbooks: dict[str, Runbook]
) -> None:
    r = rig(db_url, eck_config(), runbooks)
    at(r, A)
    ops, run_id = approved(r)
    at(r, B)
    ops.handle(MarkDone(run_id, "prepare", "U_CODER"))
    at(r, C)  # moved on again before the lead looked: B is not what is there now
    r.executor.keys["prod-1"] = "SHA256:new-machine"
    ops.handle(ApproveGate(run_id, DRIFT_STEP, "U_LEAD"))  # approves what was found (B) ...
    run = r.store.get_run(run_id)
    assert run.current_step == DRIFT_STEP and run.state == RunState.RUNNING  # ... asked again
    second = [e for e in r.events.seen if isinstance(e, ev.DriftFound)][-1]
    assert second.differences == (
        "prod-1 host key was SHA256:known when approved, is SHA256:new-machine now",
        f"prod-1 was at {B[:12]} when approved, is at {C[:12]} now",
    )
    assert planned(r) == []
    ops.handle(Cancel(run_id, "U_CODER"))
    assert r.store.get_run(run_id).state == RunState.CANCELLED and planned(r) == []
