"""Before an interrupted run goes on (resumed, or rolled back), learn how the commands whose
outcome was unknown really ended: nothing runs on top of a command that may still run.

A host's step that lost its connection is marked interrupted with its remote job's id. The
executor follows that job to its end (`Executor.settle`); its true outcome replaces the
unknown one, in the store, the audit trail and the thread. A host that still cannot say
leaves the run interrupted, as before, and nothing is started.
"""

from __future__ import annotations

from collections.abc import Mapping

from chatops.engine.domain import events as ev
from chatops.engine.domain.result import CommandResult, job_name
from chatops.engine.domain.run import AuditEvent, RunView, StepRecord, StepState
from chatops.engine.planning.inventory import Host
from chatops.engine.planning.plan import Plan
from chatops.engine.ports import Clock, Executor
from chatops.engine.runs.durable import Durable

__all__ = ["SETTLE_GRACE", "OutcomeUnknown", "Settler"]

SETTLE_GRACE = 30.0  # beyond the step's own timeout, how long a settle may wait for its end


class OutcomeUnknown(Exception):
    """A step's command may or may not have run to its end (its host's connection was lost,
    and the host cannot say yet): neither a success to go on from nor a failure to roll
    back. The run is interrupted; a lead decides."""


class Settler:
    def __init__(self, durable: Durable, clock: Clock, executors: Mapping[str, Executor]) -> None:
        self.durable = durable
        self.clock = clock
        self.executors = executors

    def settle(
        self,
        run: RunView,
        plan: Plan,
        records: list[StepRecord],
        hosts: Mapping[str, Host],
        strict: bool = False,
    ) -> tuple[list[StepRecord], list[str]]:
        """Settle every unknown outcome of the run's main steps: the run's records (read
        again if any changed) and the steps that turn out to have failed. Raises
        OutcomeUnknown when a host cannot say; `strict` (a run taken over from a dead
        worker, no lead asked): also when a command keeps no record of itself (this
        machine's), since it may have run."""
        failed: list[str] = []
        changed = False
        for summary in records:
            if summary.host or summary.phase != "main" or summary.state != StepState.INTERRUPTED:
                continue
            mine = [
                r
                for r in records
                if r.step_id == summary.step_id and r.host and r.phase == summary.phase
            ]
            step = plan.step(summary.step_id)
            learned = [
                (r, self._one(run, r, hosts[r.host], step.timeout))
                for r in mine
                if r.state == StepState.INTERRUPTED and r.host in hosts
            ]
            results = [res for _r, res in learned if res is not None]
            planned = {c.host for c in step.commands}
            begun = {r.host for r in mine}
            if strict and begun and planned - begun:  # some hosts began it, some never did
                left = ", ".join(sorted(planned - begun))
                raise OutcomeUnknown(
                    f"`{step.id}` had begun on some hosts but not on {left} when its worker "
                    "stopped; check the hosts, then resume or roll back"
                )
            if mine and not learned and begun >= planned:  # each host's end is on record
                ok = all(r.state == StepState.SUCCEEDED for r in mine)
                self._summarise(run, step.id, summary, ok, mine)
                changed = True
                if not ok:
                    failed.append(step.id)
                continue
            if strict and any(res is None for _r, res in learned):
                left = ", ".join(r.host for r, res in learned if res is None)
                raise OutcomeUnknown(
                    f"`{step.id}` was running on {left} when its worker stopped, and nothing "
                    "there records how it ended; check the host, then resume or roll back"
                )
            if not results:
                continue  # nothing to learn: the step runs again when resumed
            changed = True
            known = {r.id for r, res in learned if res is not None}
            unknown_left = any(res is None for _r, res in learned)
            ok = (
                not unknown_left
                and all(r.ok for r in results)
                and all(r.state == StepState.SUCCEEDED for r in mine if r.id not in known)
            )
            for attempt in self.durable.attempts(f"recording how step {step.id} ended"):
                with attempt as t:
                    t.steps.finish(
                        summary.id,
                        StepState.SUCCEEDED if ok else StepState.FAILED,
                        self.clock.now(),
                        exit_code=max((r.exit_code or 0) for r in results),
                        error="; ".join(f"{r.host}: {r.error}" for r in results if not r.ok),
                    )
                    t.events.add(ev.StepFinished(run, step.id, "main", ok, tuple(results)))
                    t.commit()
            if not ok:
                failed.append(step.id)
        if changed:
            for attempt in self.durable.attempts("reading the settled steps"):
                with attempt as t:
                    records = t.steps.of_run(run.id)
        return records, failed

    def _summarise(
        self, run: RunView, step_id: str, summary: StepRecord, ok: bool, hosts: list[StepRecord]
    ) -> None:
        """The step's summary, from its hosts' records (each ended, and said so)."""
        error = "; ".join(
            f"{r.host}: {r.error or r.state.value}" for r in hosts if r.state != StepState.SUCCEEDED
        )
        codes = [r.exit_code for r in hosts if r.exit_code is not None]
        for attempt in self.durable.attempts(f"recording how step {step_id} ended"):
            with attempt as t:
                t.steps.finish(
                    summary.id,
                    StepState.SUCCEEDED if ok else StepState.FAILED,
                    self.clock.now(),
                    exit_code=max(codes) if codes else None,
                    error=error,
                )
                t.commit()

    def _one(
        self, run: RunView, rec: StepRecord, host: Host, timeout: float
    ) -> CommandResult | None:
        job = job_name(run.task_id, run.id, rec.id)
        result = self.executors[host.transport].settle(host, job, timeout + SETTLE_GRACE)
        if result is None:
            return None
        if result.outcome == "unknown":
            raise OutcomeUnknown(
                f"{host.name} still cannot say how `{rec.step_id}` ended ({result.error}); "
                "nothing goes on while it may still run"
            )
        said = f"{host.name}: {result.code}, learned from the host's record of job {job}"
        for attempt in self.durable.attempts(f"recording how step {rec.step_id} ended"):
            with attempt as t:
                t.steps.finish(
                    rec.id,
                    StepState.SUCCEEDED if result.ok else StepState.FAILED,
                    self.clock.now(),
                    exit_code=result.exit_code,
                    tail=rec.tail,
                    error=result.error,
                )
                t.audit.append(
                    AuditEvent(
                        self.clock.now(),
                        "chatops",
                        "step.settled",
                        run.id,
                        run.task_id,
                        run.plan_hash,
                        f"{rec.step_id} on {said}",
                    )
                )
                t.commit()
        return result
