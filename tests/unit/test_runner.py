"""Runs: steps in order, manual steps park the run, failures roll back, dead owners recover."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from chatops.engine.domain.result import CommandResult
from chatops.engine.domain.run import RunState, RunView, StepState
from chatops.engine.planning.config import Config
from chatops.engine.planning.inventory import Host
from chatops.engine.planning.runbook import Runbook
from chatops.engine.runs.history import course
from chatops.errors import StateError
from tests.factories import FakeExecutor, FakeHttp, Rig, rig
from tests.memory import MemoryDatabase


@pytest.fixture
def url() -> MemoryDatabase:
    """Engine tests need no database: the store is in memory (tests/memory.py)."""
    return MemoryDatabase()


def approved_deploy(r: Rig, **params: str) -> RunView:
    req = r.changes.request("deploy", {"service": "eckwms-global", **params}, requester="U_CODER")
    r.changes.approve(req.run.id, "U_LEAD", req.plan.sha256)
    return r.store.get_run(req.run.id)


def through_manual(r: Rig, run: RunView) -> RunView:
    [parked] = r.runner.drain()
    assert parked.state == RunState.RUNNING and parked.owner is None
    assert parked.current_step == "prepare"
    r.changes.handoffs.mark_done(run.id, "prepare", "U_CODER")
    done = r.runner.continue_run(run.id)
    assert done is not None
    return done


def test_deploy_runs_every_step_in_order(
    url: MemoryDatabase, config: Config, runbooks: dict[str, Runbook]
) -> None:
    r = rig(url, config, runbooks)
    run = through_manual(r, approved_deploy(r, ref="v1.2"))
    assert run.state == RunState.SUCCEEDED
    read, order = [], []  # the facts the drift check reads; the plan's commands (in its dir)
    for _h, c in r.executor.calls:
        (order if c.startswith("cd ") else read).append(c)
    assert read[0].startswith("git -C") and read[0].endswith("rev-parse HEAD")
    assert "git fetch --quiet origin v1.2" in order[1]
    assert order[2].endswith("npm install --omit=dev")
    assert order[3].endswith("pm2 restart eckwms-global")
    assert r.http.urls == ["http://127.0.0.1:8080/ECK/health"]
    summaries = [(s.step_id, s.state) for s in r.store.steps(run.id) if s.host == ""]
    assert summaries == [
        (x, StepState.SUCCEEDED)
        for x in ("prepare", "snapshot", "pull", "install", "restart", "logs", "health")
    ]
    actions = r.audit_actions(run.id)
    assert (
        actions.index("step.waiting") < actions.index("step.done") < actions.index("run.succeeded")
    )
    done = next(s for s in r.store.steps(run.id) if s.step_id == "prepare")
    assert done.actor == "U_CODER"


def test_failed_health_check_rolls_back(
    url: MemoryDatabase, config: Config, runbooks: dict[str, Runbook]
) -> None:
    r = rig(url, config, runbooks, http=FakeHttp([(503, '{"status": "down"}')]))
    run = through_manual(r, approved_deploy(r))
    assert run.state == RunState.ROLLED_BACK
    assert "step health failed" in run.error
    rollback = [s for s in r.store.steps(run.id) if s.phase == "rollback" and s.host == ""]
    assert [s.step_id for s in rollback] == ["pull", "restart-previous"]
    assert all(s.state == StepState.SUCCEEDED for s in rollback)
    last = [c for _h, c in r.executor.calls][-2:]
    assert "previous-revision" in last[0] and last[1].endswith("pm2 restart eckwms-global")
    assert "run.rolled_back" in r.audit_actions(run.id)


def test_failing_rollback_leaves_the_run_failed(
    url: MemoryDatabase, config: Config, runbooks: dict[str, Runbook]
) -> None:
    ex = FakeExecutor(
        rules=[
            ("previous-revision)", 1, "fatal: bad revision\n"),
            ("npm install", 2, "npm ERR! boom\n"),
        ]
    )
    r = rig(url, config, runbooks, executor=ex)
    run = through_manual(r, approved_deploy(r))
    assert run.state == RunState.FAILED
    assert "step install failed" in run.error and "rollback failed" in run.error
    host_rows = [s for s in r.store.steps(run.id) if s.step_id == "install" and s.host]
    assert host_rows[0].exit_code == 2 and "npm ERR! boom" in host_rows[0].tail


def test_a_failure_before_any_change_runs_no_rollback(
    url: MemoryDatabase, config: Config, runbooks: dict[str, Runbook]
) -> None:
    ex = FakeExecutor(rules=[("git rev-parse HEAD >", 128, "not a git repository\n")])
    r = rig(url, config, runbooks, executor=ex)
    run = through_manual(r, approved_deploy(r))
    assert run.state == RunState.FAILED
    assert not [s for s in r.store.steps(run.id) if s.phase == "rollback"]


def test_diagnosis_keeps_going_past_failures(
    url: MemoryDatabase, config: Config, runbooks: dict[str, Runbook]
) -> None:
    ex = FakeExecutor(rules=[("pm2 describe", 1, "process not found\n")])
    r = rig(url, config, runbooks, executor=ex)
    req = r.changes.request("debug", {"service": "eckwms-global"}, requester="U_ONCALL")
    r.changes.approve(req.run.id, "U_LEAD", req.plan.sha256)
    [run] = r.runner.drain()
    states = {s.step_id: s.state for s in r.store.steps(run.id) if s.host == ""}
    assert states["status"] == StepState.FAILED
    assert states["errors"] == StepState.SUCCEEDED and states["api"] == StepState.SUCCEEDED
    assert run.current_step == "source" and run.owner is None  # waiting for the person


def test_second_run_waits_for_the_first(
    url: MemoryDatabase, config: Config, runbooks: dict[str, Runbook]
) -> None:
    r = rig(url, config, runbooks)
    first = approved_deploy(r)
    second = approved_deploy(r)
    r.runner.drain()  # first parks at its manual step, holding production
    assert r.store.get_run(second.id).state == RunState.QUEUED
    assert r.store.queue_position(second.id) == 2
    r.changes.handoffs.mark_done(first.id, "prepare", "U_CODER")
    r.runner.continue_run(first.id)
    assert r.store.get_run(first.id).state == RunState.SUCCEEDED
    [started] = r.runner.drain()
    assert started.id == second.id


def test_cancel_ends_a_run_waiting_on_a_person_at_once(
    url: MemoryDatabase, config: Config, runbooks: dict[str, Runbook]
) -> None:
    r = rig(url, config, runbooks)
    run = approved_deploy(r)
    second = approved_deploy(r)
    r.runner.drain()  # the first parks at its manual step; the second queues behind it
    final = r.changes.cancel(run.id, "U_LEAD")
    assert final.state == RunState.CANCELLED and final.owner is None
    with pytest.raises(StateError):
        r.changes.handoffs.mark_done(run.id, "prepare", "U_CODER")
    assert r.runner.continue_run(run.id) is None
    # nothing ran on a host: the only commands read the plans' facts when they were made
    assert r.executor.sessions and all(s.startswith("facts-") for s in r.executor.sessions)
    assert [s.state for s in r.store.steps(run.id)] == [StepState.CANCELLED]
    assert [x.id for x in r.runner.drain()] == [second.id]  # the service is free again


def test_dead_owner_is_recovered_as_interrupted_and_resumed_only_by_a_lead(
    url: MemoryDatabase, config: Config, runbooks: dict[str, Runbook]
) -> None:
    dead = rig(url, config, runbooks, owner="other-host:1:dead")
    run = approved_deploy(dead)
    with dead.tx() as t:  # a process claims it, starts a step and dies
        claimed = t.runs.claim_next("other-host:1:dead", dead.clock.now())
        assert claimed is not None
        t.runs.set_current_step(run.id, "pull", dead.clock.now())
        t.steps.start(run.id, "main", "pull", "", dead.clock.now())
        t.commit()
    alive = rig(url, config, runbooks, owner="me")
    alive.clock.advance(timedelta(minutes=5))
    stale = timedelta(minutes=2)

    def is_dead(v: RunView) -> bool:
        return v.heartbeat_at is not None and alive.clock.now() - v.heartbeat_at > stale

    [rec] = alive.runner.recover(is_dead)
    assert rec.state == RunState.INTERRUPTED and rec.current_step == "pull"
    assert alive.executor.calls == []  # nothing re-ran
    pull = [s for s in alive.store.steps(run.id) if s.step_id == "pull"]
    assert pull[-1].state == StepState.INTERRUPTED
    assert "run.interrupted" in alive.audit_actions(run.id)
    assert alive.runner.drain() == []  # not queued: waits for a human
    with pytest.raises(Exception, match="only a lead"):
        alive.changes.resume(run.id, "U_CODER")
    alive.changes.resume(run.id, "U_LEAD")
    [again] = alive.runner.drain()
    assert again.state == RunState.RUNNING and again.current_step == "prepare"
    alive.changes.handoffs.mark_done(run.id, "prepare", "U_CODER")
    alive.runner.continue_run(run.id)
    ended = alive.store.get_run(run.id)
    assert ended.state == RunState.SUCCEEDED
    # its end no longer carries the interruption's error; its course tells it
    assert ended.error == ""
    with alive.tx() as t:
        trail = t.audit.for_run(run.id)
    went = course(ended, trail)
    assert went.startswith("interrupted at step pull (") and went.endswith(
        ", resumed by U_LEAD from step pull, succeeded"
    ), went


GATED = """\
kind: deploy
title: Gated deploy
description: a deploy with a lead's gate between pull and restart
requesters: [coder]
approval: {roles: [lead]}
parameters:
  service: {type: service}
steps:
  - {id: pull, kind: ssh, purpose: update, title: Pull, run: git pull,
     rollback: {run: git checkout -}}
  - {id: confirm, kind: gate, roles: [architect], quorum: 1, title: Architect looks at it}
  - {id: restart, kind: ssh, purpose: restart, title: Restart, action: restart}
"""


def test_gate_waits_for_its_role_in_the_middle_of_a_run(
    url: MemoryDatabase, config: Config, tmp_path: Path
) -> None:
    from chatops.adapters.config_files import load_runbook

    (tmp_path / "gated.yml").write_text(GATED)
    books = {"gated": load_runbook(tmp_path / "gated.yml")}
    r = rig(url, config, books)
    req = r.changes.request("gated", {"service": "eckwms-global"}, requester="U_CODER")
    r.changes.approve(req.run.id, "U_LEAD", req.plan.sha256)
    [parked] = r.runner.drain()
    assert parked.current_step == "confirm" and len(r.executor.calls) == 1
    from chatops.errors import PermissionDenied

    with pytest.raises(PermissionDenied, match="gate confirm needs architect"):
        r.changes.handoffs.approve_gate(req.run.id, "confirm", "U_LEAD")
    with pytest.raises(PermissionDenied, match="an agent never approves"):
        r.changes.handoffs.approve_gate(req.run.id, "confirm", "agent:architect-agent")
    assert r.changes.handoffs.approve_gate(req.run.id, "confirm", "U_ARCH")
    final = r.runner.continue_run(req.run.id)
    assert final is not None and final.state == RunState.SUCCEEDED
    assert r.executor.calls[-1][1].endswith("pm2 restart eckwms-global")
    actions = r.audit_actions(req.run.id)
    assert "denied.gate" in actions and "gate.approved" in actions


def test_continue_is_claimed_by_one_process_only(
    url: MemoryDatabase, config: Config, runbooks: dict[str, Runbook]
) -> None:
    a = rig(url, config, runbooks, owner="a")
    b = rig(url, config, runbooks, owner="b")
    run = approved_deploy(a)
    a.runner.drain()
    a.changes.handoffs.mark_done(run.id, "prepare", "U_CODER")
    with a.tx() as t:
        assert t.runs.claim_parked(run.id, "a", a.clock.now())
        t.commit()
    assert b.runner.continue_run(run.id) is None  # already taken
    assert b.executor.calls == []


@dataclass
class TakenMidCommand(FakeExecutor):
    """Worker A's executor: while `pull` runs, worker B takes the run over (A was thought
    dead): what B's take-over does at that moment, in the store A and B share."""

    taker: Rig | None = None
    taken: list[RunView] = field(default_factory=list)

    def run(self, host: Host, command: str, **kw: Any) -> CommandResult:
        result = super().run(host, command, **kw)
        if "git fetch" in command and self.taker is not None and not self.taken:
            [mine] = [r for r in self.taker.store.list_runs(10) if r.state == RunState.RUNNING]
            adopted = self.taker.runner.adopt(mine)
            assert adopted is not None
            self.taken.append(adopted)
        return result


def test_a_worker_whose_run_was_taken_stops_before_its_next_command(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    db = MemoryDatabase()
    a_exec = TakenMidCommand()
    a = rig(db, config, runbooks, executor=a_exec, owner="host:1:worker-a")
    b = rig(db, config, runbooks, owner="host:2:worker-b")
    a_exec.taker = b
    run = approved_deploy(a)
    a.runner.drain()  # parked at the person's step
    a.changes.handoffs.mark_done(run.id, "prepare", "U_CODER")
    stopped = a.runner.continue_run(run.id)
    assert stopped is not None and stopped.owner == "host:2:worker-b"  # not A's any more
    assert stopped.state == RunState.RUNNING
    ran_by_a = [c for _h, c in a_exec.calls if not c.startswith("settle")]
    assert any("git fetch" in c for c in ran_by_a)
    assert not any("npm install" in c or "pm2 restart" in c for c in ran_by_a)  # stopped
    # what was running (pull) ended on its host and A recorded that end: B goes on from it
    done = b.runner.execute(a_exec.taken[0], strict=True)
    assert done.state == RunState.SUCCEEDED, done.error
    ran_by_b = [c for _h, c in b.executor.calls]
    assert not any("git fetch" in c for c in ran_by_b)  # never ran twice
    assert any("pm2 restart" in c for c in ran_by_b)
    assert "run.taken_over" in b.audit_actions(run.id)
    [pull] = [s for s in b.store.steps(run.id) if s.step_id == "pull" and not s.host]
    assert pull.state == StepState.SUCCEEDED


def test_a_step_begun_on_some_hosts_only_is_never_guessed_on_a_take_over(
    runbooks: dict[str, Runbook],
) -> None:
    """The dead worker had begun `pull` on prod-1 (it ended there) but not on prod-2: taking
    over must neither run it again on prod-1 nor call it done on prod-2: a lead decides."""
    from tests.conftest import eck_config

    two = eck_config()
    env = two.services["eckwms-global"].environments["production"]
    hosts = [env.hosts[0], env.hosts[0].model_copy(update={"name": "prod-2"})]
    two = two.model_copy(
        update={
            "services": {
                "eckwms-global": two.services["eckwms-global"].model_copy(
                    update={"environments": {"production": env.model_copy(update={"hosts": hosts})}}
                )
            }
        }
    )
    db = MemoryDatabase()
    dead = rig(db, two, runbooks, owner="host:1:dead")
    alive = rig(db, two, runbooks, owner="host:2:alive")
    run = approved_deploy(dead)
    dead.runner.drain()
    dead.changes.handoffs.mark_done(run.id, "prepare", "U_CODER")
    with dead.tx() as t:  # it claims the run, begins `pull` on prod-1 only, and dies
        assert t.runs.claim_parked(run.id, "host:1:dead", dead.clock.now())
        t.steps.start(run.id, "main", "pull", "", dead.clock.now())
        one = t.steps.start(run.id, "main", "pull", "prod-1", dead.clock.now())
        t.steps.finish(one, StepState.SUCCEEDED, dead.clock.now(), exit_code=0)
        t.commit()
    taken = alive.runner.adopt(alive.store.get_run(run.id))
    assert taken is not None
    ended = alive.runner.execute(taken, strict=True)
    assert ended.state == RunState.INTERRUPTED
    assert "had begun on some hosts but not on prod-2" in ended.error
    assert not [c for _h, c in alive.executor.calls if "git fetch" in c]  # nothing re-run
