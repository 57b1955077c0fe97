"""The drift check: what a plan was approved against on each host, read again before the
run first touches one (engine/planning/drift.py says what and why).

`read_plan` reads the facts when the plan is made: they are in the plan its approvers see
and approve (its hash covers them), so nothing that changes after they were shown can
become what was approved. (`record`, at the quorum, only for plans made without them.)
`check` runs before the first machine step, reading the same facts again: the same, the
run goes on; different, the run waits at the drift step for its approvers, nothing
touched, and the thread shows the difference. A host that cannot be read now (or then)
differs: what cannot be compared never passes as unchanged. Reading is at most a short
command a host, in parallel, outside any transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from chatops.engine.domain import events as ev
from chatops.engine.domain.run import AuditEvent, RunView, StepState
from chatops.engine.planning.config import Config
from chatops.engine.planning.drift import (
    DRIFT_STEP,
    FOUND,
    REAPPROVED,
    RECORDED,
    Facts,
    differences,
    facts_from,
    facts_text,
)
from chatops.engine.planning.facts import fact_command, fact_value
from chatops.engine.planning.inventory import Host
from chatops.engine.planning.plan import Plan
from chatops.engine.ports import Clock, Executor
from chatops.engine.runs.stops import Paused
from chatops.engine.unit_of_work import Transactions, UnitOfWork

__all__ = ["READ_TIMEOUT", "DriftCheck"]

READ_TIMEOUT = 30.0  # seconds one fact's reading may take on a host
log = logging.getLogger(__name__)


class DriftCheck:
    def __init__(
        self,
        config: Config,
        tx: Transactions,
        clock: Clock,
        executors: Mapping[str, Executor],
        max_parallel: int = 8,
    ) -> None:
        self.config = config
        self.tx = tx
        self.clock = clock
        self.executors = executors
        self.max_parallel = max_parallel

    def read_plan(self, plan: Plan) -> Facts:
        """A new plan's facts, read on its hosts now (on connections of their own): what its
        approvers will see and approve. A host that cannot be read says "unreadable (...)"
        there, and never passes a check as unchanged."""
        session = f"facts-{plan.task_id}"
        try:
            return self._read(plan.service, plan.environment, plan, session)
        finally:
            for executor in self.executors.values():
                executor.close_session(session)

    def read(self, run: RunView, plan: Plan, session: str) -> Facts:
        """The plan's facts, read now on each of its hosts (over `session`'s connections)."""
        return self._read(run.service, run.environment, plan, session)

    def _read(
        self, service: str | None, environment: str | None, plan: Plan, session: str
    ) -> Facts:
        hosts = _planned_hosts(self.config, service, environment, plan)
        if not plan.drift or not hosts or service is None:
            return {}
        svc = self.config.services[service]

        def on(host: Host) -> tuple[str, dict[str, str]]:
            executor = self.executors[host.transport]
            got: dict[str, str] = {}
            for name in plan.drift:
                if name == "host_key":
                    got[name] = executor.host_key(host, session)
                    continue
                command = fact_command(svc, name)
                result = executor.run(
                    host, command, timeout=READ_TIMEOUT, on_output=lambda _c: None, session=session
                )
                got[name] = fact_value(
                    svc, name, result.outcome, result.exit_code, result.tail, result.error
                )
            return host.name, got

        with ThreadPoolExecutor(max_workers=min(self.max_parallel, len(hosts))) as pool:
            return dict(pool.map(on, hosts))

    def record(self, run_id: int) -> None:
        """At the quorum: what the plan is approved against, on record."""
        with self.tx() as t:
            run = t.runs.get(run_id)
            plan = t.plans.get(run.task_id)
        if not plan.drift or plan.facts:  # read when the plan was made: approved as shown
            return
        session = f"drift-{run.id}"
        try:
            facts = self.read(run, plan, session)
        finally:
            for executor in self.executors.values():
                executor.close_session(session)
        with self.tx() as t:
            self._audit(t, run, RECORDED, facts_text(facts))
            t.commit()

    def check(self, run: RunView, plan: Plan, session: str) -> None:
        """Before the run's first machine step (after it, the run itself changes the hosts):
        raises Paused at the drift step if the hosts differ from what the plan was approved
        against (read over the run's `session`)."""
        if not plan.drift:
            return
        with self.tx() as t:
            basis = _basis(t, run, plan)
        now = self.read(run, plan, session)
        if basis is None:  # never recorded (the quorum's process died first): from now on
            log.warning("run %s: no facts recorded at approval; recorded at its start", run.id)
            with self.tx() as t:
                self._audit(t, run, RECORDED, facts_text(now))
                t.commit()
            return
        changed = differences(basis, now)
        if not changed:
            return
        with self.tx() as t:
            t.steps.start(run.id, "main", DRIFT_STEP, "", self.clock.now(), StepState.WAITING)
            self._audit(t, run, FOUND, facts_text(now))
            t.events.add(ev.DriftFound(t.runs.get(run.id), tuple(changed)))
            t.commit()
        raise Paused(DRIFT_STEP)

    def _audit(self, t: UnitOfWork, run: RunView, action: str, detail: str) -> None:
        now = self.clock.now()
        t.audit.append(
            AuditEvent(now, "chatops", action, run.id, run.task_id, run.plan_hash, detail)
        )


def _basis(t: UnitOfWork, run: RunView, plan: Plan) -> Facts | None:
    """What the run's plan was last approved against: the hosts as found and approved again
    at the drift step, else the facts in the plan (read when it was made and shown to its
    approvers), else (a plan made without them) those recorded at the quorum."""
    rows = [e for e in t.audit.for_run(run.id) if e.action in (RECORDED, REAPPROVED)]
    rows = [e for e in rows if e.plan_hash in (None, run.plan_hash)]
    again = [e for e in rows if e.action == REAPPROVED]
    if again:
        return facts_from(again[-1].detail)
    if plan.facts:
        return plan.facts
    return facts_from(rows[-1].detail) if rows else None


def _planned_hosts(
    config: Config, service: str | None, environment: str | None, plan: Plan
) -> list[Host]:
    named = {c.host for s in [*plan.steps, *plan.rollback] for c in s.commands}
    if service is None or environment is None:
        return []
    env = config.services[service].environments[environment]
    return [h for h in sorted(env.hosts, key=lambda h: h.name) if h.name in named]
