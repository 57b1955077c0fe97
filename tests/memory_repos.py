"""The in-memory repositories (tests/memory.py puts them behind a unit of work)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from chatops.engine.domain.events import Event
from chatops.engine.domain.identity import Agent
from chatops.engine.domain.postmortem import PostMortem
from chatops.engine.domain.run import (
    ApprovalRecord,
    AuditEvent,
    RunState,
    RunView,
    StepRecord,
    StepState,
    sources_of,
)
from chatops.engine.planning.freezes import Freeze
from chatops.engine.planning.plan import Plan
from chatops.engine.ports import Held, Stored
from chatops.errors import NotFound, StateError


@dataclass
class State:
    plans: dict[str, Plan] = field(default_factory=dict)
    runs: dict[int, RunView] = field(default_factory=dict)
    queue_keys: dict[int, str] = field(default_factory=dict)
    sites: dict[int, str | None] = field(default_factory=dict)
    steps: dict[int, StepRecord] = field(default_factory=dict)
    output: dict[int, list[str]] = field(default_factory=dict)
    approvals: list[ApprovalRecord] = field(default_factory=list)
    audit: list[AuditEvent] = field(default_factory=list)
    postmortems: dict[int, PostMortem] = field(default_factory=dict)
    events: list[Stored] = field(default_factory=list)
    positions: dict[str, int] = field(default_factory=dict)
    agents: dict[str, tuple[Agent, str]] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    freezes: dict[int, tuple[Freeze, datetime, datetime | None]] = field(default_factory=dict)

    def next_id(self, kind: str) -> int:
        self.ids[kind] = self.ids.get(kind, 0) + 1
        return self.ids[kind]


class MemoryPlans:
    def __init__(self, st: State) -> None:
        self.st = st

    def add(self, plan: Plan) -> None:
        old = self.st.plans.get(plan.task_id)
        if old is not None and old.sha256 != plan.sha256:
            raise StateError(f"plan {plan.task_id} exists with other content")
        self.st.plans[plan.task_id] = plan

    def get(self, task_id: str) -> Plan:
        if task_id not in self.st.plans:
            raise NotFound(f"no plan {task_id}")
        return self.st.plans[task_id]


class MemoryRuns:
    def __init__(self, st: State) -> None:
        self.st = st

    def for_task(self, task_id: str) -> RunView | None:
        mine = [
            r
            for r in self.st.runs.values()
            if r.task_id == task_id or r.task_id.startswith(task_id + "~")
        ]
        return max(mine, key=lambda r: r.id) if mine else None

    def create(
        self, plan: Plan, state: RunState, now: datetime, error: str = "", site: str | None = None
    ) -> RunView:
        run = RunView(
            self.st.next_id("run"),
            plan.task_id,
            plan.sha256,
            plan.runbook,
            plan.kind,
            plan.service,
            plan.environment,
            state,
            plan.requester,
            now,
            now,
            error=error,
            not_before=plan.start.earliest if plan.start else None,
        )
        self.st.runs[run.id] = run
        self.st.queue_keys[run.id] = plan.queue_key
        self.st.sites[run.id] = site
        return run

    def get(self, run_id: int) -> RunView:
        if run_id not in self.st.runs:
            raise NotFound(f"no run {run_id}")
        return self.st.runs[run_id]

    def _set(self, run_id: int, **values: object) -> None:
        self.st.runs[run_id] = replace(self.st.runs[run_id], **values)  # type: ignore[arg-type]

    def replace_plan(self, run_id: int, plan: Plan, now: datetime, site: str | None = None) -> bool:
        run = self.st.runs.get(run_id)
        if run is None or run.state not in sources_of(RunState.AWAITING_APPROVAL):
            return False
        self.st.sites[run_id] = site
        self._set(
            run_id,
            task_id=plan.task_id,
            plan_hash=plan.sha256,
            service=plan.service,
            environment=plan.environment,
            state=RunState.AWAITING_APPROVAL,
            updated_at=now,
            created_at=now,
            not_before=plan.start.earliest if plan.start else None,
        )
        self.st.queue_keys[run_id] = plan.queue_key
        return True

    def list(self, limit: int = 50, states: Sequence[RunState] = ()) -> list[RunView]:
        runs = sorted(self.st.runs.values(), key=lambda r: -r.id)
        return [r for r in runs if not states or r.state in states][:limit]

    def count_by_state(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.st.runs.values():
            out[r.state.value] = out.get(r.state.value, 0) + 1
        return out

    def transition(
        self,
        run_id: int,
        to: RunState,
        now: datetime,
        *,
        error: str | None = None,
        owner: str | None = None,
        keep_owner: bool = False,
        held_by: str | None = None,
    ) -> bool:
        run = self.st.runs.get(run_id)
        if run is None or run.state not in sources_of(to):
            return False
        if held_by is not None and run.owner != held_by:
            return False
        values: dict[str, object] = {"state": to, "updated_at": now}
        if to != RunState.RUNNING and not keep_owner:
            values["owner"] = None
        if owner is not None:
            values["owner"] = owner
        if error is not None:
            values["error"] = error
        self._set(run_id, **values)
        return True

    def _busy(self, key: str) -> bool:
        return any(
            r.state == RunState.RUNNING and self.st.queue_keys[r.id] == key
            for r in self.st.runs.values()
        )

    def claim_next(
        self, owner: str, now: datetime, held: Held | None = None, site: str | None = None
    ) -> RunView | None:
        queued = sorted(
            (
                r
                for r in self.st.runs.values()
                if r.state == RunState.QUEUED
                and (r.not_before is None or r.not_before <= now)
                and self.st.sites.get(r.id) == site
            ),
            key=lambda r: r.id,
        )
        tried: set[str] = set()
        for run in queued:
            key = self.st.queue_keys[run.id]
            if key in tried:
                continue
            tried.add(key)
            if held is not None and held(run.service, run.runbook, run.kind):
                continue
            if self._busy(key):
                continue
            self._set(
                run.id,
                state=RunState.RUNNING,
                owner=owner,
                heartbeat_at=now,
                updated_at=now,
                cancel_requested=False,
            )
            return self.st.runs[run.id]
        return None

    def next_start(self) -> datetime | None:
        starts = [
            r.not_before
            for r in self.st.runs.values()
            if r.state == RunState.QUEUED and r.not_before is not None
        ]
        return min(starts, default=None)

    def claim_ready(self, owner: str, now: datetime, site: str | None = None) -> RunView | None:
        for run in sorted(self.st.runs.values(), key=lambda r: r.id):
            if run.state != RunState.RUNNING or run.owner is not None:
                continue
            if self.st.sites.get(run.id) != site:
                continue
            if any(
                s.state == StepState.WAITING for s in self.st.steps.values() if s.run_id == run.id
            ):
                continue
            self._set(run.id, owner=owner, heartbeat_at=now, updated_at=now)
            return self.st.runs[run.id]
        return None

    def hold(self, run_id: int, owner: str, now: datetime) -> bool:
        run = self.st.runs.get(run_id)
        if run is None or run.owner != owner:
            return False
        self._set(run_id, heartbeat_at=now)
        return True

    def take_over(self, run_id: int, dead: str, owner: str, now: datetime) -> bool:
        run = self.st.runs.get(run_id)
        if run is None or run.state != RunState.RUNNING or run.owner != dead:
            return False
        self._set(run_id, owner=owner, heartbeat_at=now, updated_at=now)
        return True

    def claim_parked(self, run_id: int, owner: str, now: datetime) -> bool:
        run = self.st.runs.get(run_id)
        if run is None or run.state != RunState.RUNNING or run.owner is not None:
            return False
        self._set(run_id, owner=owner, heartbeat_at=now, updated_at=now)
        return True

    def park(self, run_id: int, owner: str, now: datetime, step_id: str) -> None:
        if self.st.runs[run_id].owner == owner:
            self._set(run_id, owner=None, current_step=step_id, updated_at=now)

    def set_current_step(self, run_id: int, step_id: str | None, now: datetime) -> None:
        self._set(run_id, current_step=step_id, updated_at=now, heartbeat_at=now)

    def heartbeat(self, owner: str, now: datetime) -> None:
        for r in list(self.st.runs.values()):
            if r.owner == owner:
                self._set(r.id, heartbeat_at=now)

    def request_cancel(self, run_id: int) -> None:
        self._set(run_id, cancel_requested=True)

    def request_rollback(self, run_id: int) -> None:
        self._set(run_id, rollback_requested=True)

    def queue_position(self, run_id: int) -> int:
        run = self.st.runs.get(run_id)
        if run is None or run.state != RunState.QUEUED:
            return 0
        key = self.st.queue_keys[run_id]
        ahead = [
            r
            for r in self.st.runs.values()
            if self.st.queue_keys[r.id] == key
            and r.id < run_id
            and r.state in (RunState.QUEUED, RunState.RUNNING)
        ]
        return len(ahead) + 1


class MemoryApprovals:
    def __init__(self, st: State) -> None:
        self.st = st

    def add(self, approval: ApprovalRecord) -> bool:
        key = (approval.run_id, approval.plan_hash, approval.step_id or "", approval.user)
        if any((a.run_id, a.plan_hash, a.step_id or "", a.user) == key for a in self.st.approvals):
            return False
        self.st.approvals.append(approval)
        return True

    def of_run(self, run_id: int, step_id: str | None = None) -> list[ApprovalRecord]:
        return [a for a in self.st.approvals if a.run_id == run_id and a.step_id == step_id]

    def approved_by(self, user: str, run_ids: Sequence[int]) -> dict[int, str]:
        return {
            a.run_id: a.plan_hash
            for a in self.st.approvals
            if a.user == user and a.step_id is None and a.run_id in run_ids
        }


class MemorySteps:
    def __init__(self, st: State) -> None:
        self.st = st

    def start(
        self,
        run_id: int,
        phase: str,
        step_id: str,
        host: str,
        now: datetime,
        state: StepState = StepState.RUNNING,
    ) -> int:
        rec = StepRecord(
            self.st.next_id("step"), run_id, phase, step_id, host, state, None, now, None
        )
        self.st.steps[rec.id] = rec
        return rec.id

    def finish(
        self,
        step_run_id: int,
        state: StepState,
        now: datetime,
        *,
        exit_code: int | None = None,
        tail: str = "",
        error: str = "",
        actor: str | None = None,
    ) -> None:
        self.st.steps[step_run_id] = replace(
            self.st.steps[step_run_id],
            state=state,
            finished_at=now,
            exit_code=exit_code,
            tail=tail,
            error=error,
            actor=actor,
        )

    def append_output(self, step_run_id: int, chunk: str) -> None:
        self.st.output.setdefault(step_run_id, []).append(chunk)

    def output(self, step_run_id: int) -> str:
        return "".join(self.st.output.get(step_run_id, []))

    def output_page(self, step_run_id: int, after: int, limit: int) -> list[tuple[int, str]]:
        chunks = list(enumerate(self.st.output.get(step_run_id, []), start=1))
        return [c for c in chunks if c[0] > after][:limit]

    def output_tail(self, step_run_id: int, limit: int) -> list[tuple[int, str]]:
        chunks = list(enumerate(self.st.output.get(step_run_id, []), start=1))
        return chunks[-limit:] if limit > 0 else []

    def of_run(self, run_id: int) -> list[StepRecord]:
        return sorted((s for s in self.st.steps.values() if s.run_id == run_id), key=lambda s: s.id)


class MemoryAudit:
    def __init__(self, st: State) -> None:
        self.st = st

    def append(self, event: AuditEvent) -> int:
        event = replace(event, id=self.st.next_id("audit"))
        self.st.audit.append(event)
        return event.id or 0

    def for_run(self, run_id: int) -> list[AuditEvent]:
        return [e for e in self.st.audit if e.run_id == run_id]

    def recent(self, limit: int = 100) -> list[AuditEvent]:
        return list(reversed(self.st.audit))[:limit]


class MemoryPostMortems:
    def __init__(self, st: State) -> None:
        self.st = st

    def open(self, pm: PostMortem) -> bool:
        if pm.run_id in self.st.postmortems or pm.run_id not in self.st.runs:
            return False  # as the SQL store's foreign key: a post-mortem is of a run
        self.st.postmortems[pm.run_id] = pm
        return True

    def get(self, run_id: int) -> PostMortem | None:
        return self.st.postmortems.get(run_id)

    def pending(self) -> list[PostMortem]:
        return [pm for _, pm in sorted(self.st.postmortems.items()) if not pm.done]

    def all(self, service: str | None = None) -> list[PostMortem]:
        pms = [pm for _, pm in sorted(self.st.postmortems.items())]
        return [pm for pm in pms if service is None or pm.service == service]

    def _cas(self, run_id: int, ok: bool, **values: object) -> bool:
        pm = self.st.postmortems.get(run_id)
        if pm is None or pm.done or not ok:
            return False
        self.st.postmortems[run_id] = replace(pm, **values)  # type: ignore[arg-type]
        return True

    def claim_reminder(self, run_id: int, sent_before: int, now: datetime) -> bool:
        pm = self.st.postmortems.get(run_id)
        ok = pm is not None and pm.reminders_sent == sent_before
        return self._cas(run_id, ok, reminders_sent=sent_before + 1, last_reminded_at=now)

    def claim_escalation(self, run_id: int, now: datetime) -> bool:
        pm = self.st.postmortems.get(run_id)
        return self._cas(run_id, pm is not None and pm.escalated_at is None, escalated_at=now)

    def snooze(self, run_id: int, until: datetime) -> bool:
        return self._cas(run_id, True, snoozed_until=until)

    def complete(self, run_id: int, author: str, answers: dict[str, str], now: datetime) -> bool:
        return self._cas(run_id, True, done_at=now, author=author, answers=dict(answers))


class MemoryAgents:
    def __init__(self, st: State) -> None:
        self.st = st

    def add(self, agent: Agent, token_hash: str) -> bool:
        taken = any(h == token_hash for _, h in self.st.agents.values())
        if agent.name in self.st.agents or taken:
            return False
        self.st.agents[agent.name] = (agent, token_hash)
        return True

    def get(self, name: str) -> Agent | None:
        found = self.st.agents.get(name)
        return found[0] if found else None

    def all(self) -> list[Agent]:
        return [a for _, (a, _h) in sorted(self.st.agents.items())]

    def by_token_hash(self, token_hash: str) -> Agent | None:
        return next((a for a, h in self.st.agents.values() if h == token_hash), None)

    def revoke(self, name: str, now: datetime) -> bool:
        found = self.st.agents.get(name)
        if found is None or found[0].revoked_at is not None:
            return False
        self.st.agents[name] = (replace(found[0], revoked_at=now), found[1])
        return True


class MemoryOutbox:
    def __init__(self, st: State) -> None:
        self.st = st
        self.added: list[Event] = []

    def add(self, event: Event) -> None:
        self.st.events.append(Stored(self.st.next_id("event"), event))
        self.added.append(event)


class MemoryFreezes:
    def __init__(self, st: State) -> None:
        self.st = st

    def add(self, service: str | None, reason: str, by: str, start: datetime, end: datetime) -> int:
        fid = self.st.next_id("freeze")
        services = (service,) if service else ()
        self.st.freezes[fid] = (Freeze(f"ad hoc #{fid}", services, reason, end, by), start, None)
        return fid

    def _in_force(self, fid: int, now: datetime) -> bool:
        freeze, start, lifted = self.st.freezes[fid]
        return lifted is None and start <= now and freeze.until is not None and now < freeze.until

    def lift(self, service: str | None, by: str, now: datetime) -> int:
        n = 0
        for fid, (freeze, start, _lifted) in list(self.st.freezes.items()):
            if self._in_force(fid, now) and (service is None or freeze.services == (service,)):
                self.st.freezes[fid] = (freeze, start, now)
                n += 1
        return n

    def active(self, now: datetime) -> list[Freeze]:
        return [self.st.freezes[f][0] for f in sorted(self.st.freezes) if self._in_force(f, now)]
