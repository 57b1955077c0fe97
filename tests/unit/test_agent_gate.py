"""The gate agents go through (engine/agents/gate.py), on the in-memory store: every call
authenticated, rate-limited and audited; waits that never answer approved unless the run
is; the Coder agent reporting only coder steps done; scope; cancelling only its own runs."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta

import pytest

from chatops.engine.agents.gate import AgentGate, Caller
from chatops.engine.agents.service import AgentService
from chatops.engine.domain.evidence import Evidence
from chatops.engine.domain.roles import Roles
from chatops.engine.domain.run import RunState, StepState
from chatops.engine.incidents.logquery import LogQuery
from chatops.engine.incidents.oncall import OnCall
from chatops.engine.planning.config import Config
from chatops.engine.planning.runbook import Runbook
from chatops.engine.runs.operations import Operations
from chatops.errors import (
    NotAuthenticated,
    NotFound,
    ParameterError,
    PermissionDenied,
    RateLimited,
    StateError,
)
from tests.conftest import eck_config
from tests.factories import Rig, rig
from tests.memory import MemoryDatabase

SERVICE = {"service": "eckwms-global"}


@dataclass
class Agents:
    gate: AgentGate
    r: Rig
    db: MemoryDatabase
    service: AgentService
    tokens: dict[str, str]

    def caller(self, name: str, op: str = "test", person: str | None = None) -> Caller:
        return self.gate.enter(self.tokens[name], op, person)

    def actions(self) -> list[tuple[str, str, str]]:
        return [(e.actor, e.action, e.detail) for e in self.r.audit.recent(500)]


def build(config: Config, runbooks: dict[str, Runbook]) -> Agents:
    db = MemoryDatabase()
    r = rig(db, config, runbooks)
    service = AgentService(r.tx, r.clock, config, runbooks, Roles(config))
    oncall = OnCall(config, r.tx, r.clock, Roles(config), {"ssh": r.executor}, r.http)
    ops = Operations(r.changes, r.runner)
    gate = AgentGate(service, r.changes, ops, r.store, oncall, db, config, r.clock)
    r.tx.listeners.append(gate.waiters)
    tokens = {}
    for name, role, scope in (
        ("architect-agent", "architect", ()),
        ("coder-agent", "coder", ()),
        ("web-coder", "coder", ("other",)),
    ):
        _agent, tokens[name] = service.add(
            name, role, by="U_LEAD", services=scope, acts_for=("U_DANA", "U_LEAD")
        )
    return Agents(gate, r, db, service, tokens)


def two_services(**overrides: object) -> Config:
    services = eck_config().model_dump()["services"]
    return eck_config(services={**services, "other": services["eckwms-global"]}, **overrides)


@pytest.fixture
def agents(runbooks: dict[str, Runbook]) -> Agents:
    return build(two_services(), runbooks)


def test_every_call_is_audited_with_the_agent_and_the_person_it_acts_for(agents: Agents) -> None:
    c = agents.caller("architect-agent", "propose", person="U_DANA")
    made = agents.gate.propose(c, "deploy", dict(SERVICE), "ship v2")
    assert made.plan.on_behalf_of == "U_DANA" and made.run.requester == "agent:architect-agent"
    assert ("agent:architect-agent", "agent.propose", "on behalf of U_DANA") in agents.actions()
    with pytest.raises(ParameterError, match="Slack user id"):
        agents.caller("architect-agent", "propose", person="dana; rm -rf /")


def test_tokens_missing_wrong_revoked_are_refused_before_anything(agents: Agents) -> None:
    for bad in ("", "chatops-agent-nope", agents.tokens["coder-agent"] + "x"):
        with pytest.raises(NotAuthenticated):
            agents.gate.enter(bad, "runs")
    agents.service.revoke("coder-agent", by="U_LEAD")
    with pytest.raises(NotAuthenticated, match="revoked"):
        agents.caller("coder-agent")
    assert not any(a == "agent.runs" for _, a, _ in agents.actions())


def test_the_coder_agent_asking_for_a_migration_gets_the_seeds_reason(agents: Agents) -> None:
    c = agents.caller("coder-agent", "propose")
    params = {"service": "eckwms-global", "script": "scripts/add-status.js"}
    with pytest.raises(PermissionDenied, match="must NOT change the database schema"):
        agents.gate.propose(c, "migration", params, "add a column")
    assert agents.r.store.list_runs() == []


def test_a_wait_that_runs_out_is_pending_never_approved(agents: Agents) -> None:
    c = agents.caller("architect-agent")
    made = agents.gate.propose(c, "deploy", dict(SERVICE), "ship v2")
    started = time.monotonic()
    d = agents.gate.wait(c, made.run.id, 0.3)
    assert d.decision == "pending" and not d.final and time.monotonic() - started >= 0.3
    assert d.missing and "approval" in d.missing[0]


def test_a_wait_returns_at_once_when_a_lead_approves(agents: Agents) -> None:
    c = agents.caller("architect-agent")
    made = agents.gate.propose(c, "deploy", dict(SERVICE), "ship v2")

    def approve() -> None:
        time.sleep(0.2)
        agents.r.changes.approve(made.run.id, "U_LEAD", made.plan.sha256)

    t = threading.Thread(target=approve)
    started = time.monotonic()
    t.start()
    d = agents.gate.wait(c, made.run.id, 30)
    t.join()
    assert d.decision == "approved" and d.approvers == ("U_LEAD",)
    assert time.monotonic() - started < 5  # woken by the commit, not by the timeout


def test_rejected_with_the_reason_and_expired(agents: Agents) -> None:
    c = agents.caller("architect-agent")
    one = agents.gate.propose(c, "deploy", dict(SERVICE), "ship v2")
    agents.r.changes.reject(one.run.id, "U_LEAD", "not on a Friday")
    d = agents.gate.wait(c, one.run.id, 5)
    assert (d.decision, d.reason) == ("rejected", "not on a Friday")
    two = agents.gate.propose(c, "deploy", dict(SERVICE), "ship v3")
    agents.r.clock.advance(timedelta(hours=5))  # the approval TTL is 4h
    assert agents.gate.wait(c, two.run.id, 0).decision == "expired"


def test_a_revoked_token_stops_a_waiting_agent(agents: Agents) -> None:
    c = agents.caller("architect-agent")
    made = agents.gate.propose(c, "deploy", dict(SERVICE), "ship v2")
    threading.Timer(0.3, agents.service.revoke, ["architect-agent"], {"by": "U_LEAD"}).start()
    started = time.monotonic()
    with pytest.raises(NotAuthenticated, match="revoked"):
        agents.gate.wait(c, made.run.id, 60)
    assert time.monotonic() - started < 5


def test_the_coder_agent_reports_its_step_done_with_evidence(agents: Agents) -> None:
    arch = agents.caller("architect-agent")
    made = agents.gate.propose(arch, "deploy", dict(SERVICE), "ship v2")
    agents.r.changes.approve(made.run.id, "U_LEAD", made.plan.sha256)
    agents.r.runner.drain()  # runs until the people's step "prepare" (role coder)
    assert agents.r.store.get_run(made.run.id).current_step == "prepare"
    with pytest.raises(PermissionDenied, match="only the Coder agent"):
        agents.gate.mark_done(arch, made.run.id, "prepare", Evidence("done"))
    with pytest.raises(NotFound):
        agents.gate.mark_done(agents.caller("coder-agent"), made.run.id, "nope", Evidence("x"))
    with pytest.raises(PermissionDenied, match="machine steps"):
        agents.gate.mark_done(agents.caller("coder-agent"), made.run.id, "pull", Evidence("x"))
    with pytest.raises(ParameterError, match="not an http"):
        Evidence("tests pass", ("javascript:alert(1)",))

    coder = agents.caller("coder-agent")
    proof = Evidence("merged and tagged v2", ("https://git.example/pr/7",))
    agents.gate.mark_done(coder, made.run.id, "prepare", proof)
    run = agents.r.store.get_run(made.run.id)
    assert run.state == RunState.SUCCEEDED
    [prepare] = [s for s in agents.r.store.steps(run.id) if s.step_id == "prepare"]
    assert prepare.state == StepState.SUCCEEDED and prepare.actor == "agent:coder-agent"
    assert "merged and tagged v2" in agents.r.store.output(prepare.id)
    done = [d for a, act, d in agents.actions() if act == "step.done"]
    assert done and "https://git.example/pr/7" in done[0]
    names = agents.r.events.names()
    assert "StepDone" in names and names.index("StepDone") < names.index("RunFinished")


def test_the_coder_agent_may_not_pass_another_roles_step(
    runbooks: dict[str, Runbook], agents: Agents
) -> None:
    arch = agents.caller("architect-agent")
    task = {
        "target_agent": "production_server",
        "task_id": "T-1",
        "objective": "Ship the status column",
        "steps": ["Write the migration", "[snapshot] back up"],
        "validation": ["the column exists"],
        "chatops": {"runbook": "deploy", "params": SERVICE, "requester": "U_LEAD"},
    }
    made = agents.gate.propose_task(arch, task)
    assert made.plan.requester == "agent:architect-agent"  # whatever the JSON said
    assert made.plan.steps[0].kind == "manual" and made.plan.steps[0].role == "coder"
    assert not made.plan.steps[0].commands  # task text never becomes a command


def test_scope_limits_reading_and_logs(agents: Agents) -> None:
    arch = agents.caller("architect-agent")
    made = agents.gate.propose(arch, "deploy", dict(SERVICE), "ship v2")
    scoped = agents.caller("web-coder")
    with pytest.raises(PermissionDenied, match="only on other"):
        agents.gate.report(scoped, made.run.id)
    with pytest.raises(PermissionDenied, match="only on other"):
        agents.gate.logs(scoped, LogQuery("eckwms-global"))
    assert agents.gate.runs(scoped) == [] and agents.gate.services(scoped) == ["other"]
    assert [r.id for r in agents.gate.runs(arch)] == [made.run.id]


def test_logs_follow_the_logs_policy_with_the_agents_role(agents: Agents) -> None:
    arch = agents.caller("architect-agent")  # logs_roles: oncall, coder, lead
    with pytest.raises(PermissionDenied, match="may read logs"):
        agents.gate.logs(arch, LogQuery("eckwms-global", lines=20))
    got = agents.gate.logs(agents.caller("coder-agent"), LogQuery("eckwms-global", lines=20))
    assert [r.host for r in got.results] == ["prod-1"]
    assert ("agent:coder-agent", "logs.read") in [(a, b) for a, b, _ in agents.actions()]


def test_an_agent_cancels_only_its_own_runs(agents: Agents) -> None:
    arch = agents.caller("architect-agent")
    made = agents.gate.propose(arch, "deploy", dict(SERVICE), "ship v2")
    with pytest.raises(PermissionDenied, match="only the runs it proposed"):
        agents.gate.cancel(agents.caller("coder-agent"), made.run.id)
    assert agents.gate.cancel(arch, made.run.id).state == RunState.CANCELLED
    assert agents.gate.wait(arch, made.run.id, 0).decision == "cancelled"


def test_rate_limits_per_agent_say_when_to_come_back(runbooks: dict[str, Runbook]) -> None:
    config = two_services(agents={"requests_per_minute": 6, "burst": 3})
    a = build(config, runbooks)
    for _ in range(3):
        a.caller("coder-agent")
    with pytest.raises(RateLimited) as refused:
        a.caller("coder-agent")
    assert 1 <= refused.value.retry_after <= 10
    a.caller("architect-agent")  # another agent has its own allowance
    a.r.clock.advance(timedelta(seconds=10))
    a.caller("coder-agent")


def a_task(objective: str = "Ship the status column") -> dict[str, object]:
    return {
        "target_agent": "production_server",
        "task_id": "T-7",
        "objective": objective,
        "steps": ["Write the migration", "[snapshot] back up"],
        "validation": ["the column exists"],
        "chatops": {"runbook": "deploy", "params": SERVICE},
    }


def test_a_task_sent_again_is_the_same_plan_and_run_and_a_revision_supersedes_it(
    agents: Agents,
) -> None:
    arch = agents.caller("architect-agent")
    first = agents.gate.propose_task(arch, a_task())
    again = agents.gate.propose_task(arch, a_task())  # a retry after a timeout
    assert (again.run.id, again.plan.sha256) == (first.run.id, first.plan.sha256)
    assert len(agents.r.store.list_runs()) == 1

    revised = agents.gate.propose_task(arch, a_task("Ship the status column, indexed"))
    assert revised.run.id == first.run.id and revised.plan.task_id == "T-7~2"
    assert revised.plan.sha256 != first.plan.sha256
    assert revised.run.state.value == "awaiting_approval"
    assert any(a == "plan.revised" for _w, a, _d in agents.actions())
    assert "PlanRevised" in agents.r.events.names()  # the old buttons are replaced
    third = agents.gate.propose_task(arch, a_task("Ship the status column, indexed"))
    assert third.plan.task_id == "T-7~2" and len(agents.r.store.list_runs()) == 1


def test_a_task_whose_run_ended_is_not_rewritten(agents: Agents) -> None:
    arch = agents.caller("architect-agent")
    first = agents.gate.propose_task(arch, a_task())
    agents.r.changes.cancel(first.run.id, "U_LEAD")
    with pytest.raises(StateError, match="under a new task_id"):
        agents.gate.propose_task(arch, a_task("something else entirely"))
