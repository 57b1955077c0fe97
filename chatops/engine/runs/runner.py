"""Executes claimed runs step by step, rolls back on failure, recovers dead ones. A run is
executed by exactly one worker: the one whose claim succeeded in the store, which holds it
(its owner) until the run ends or parks. Manual steps, gates and hosts changed since
approval (engine/runs/drift.py) park the run (no owner) until a person acts; a worker then
claims it again (`claim_ready`), whichever process recorded the decision. Before each step
the worker checks that it still holds the run (`hold`, a compare-and-set): one whose run was
taken over, because it was thought dead, stops before its next command (`Taken`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from chatops.engine.approvals.freezing import holding, in_force, tell_held
from chatops.engine.domain import events as ev
from chatops.engine.domain.run import AuditEvent, RunState, RunView, StepRecord, StepState
from chatops.engine.planning.config import Config
from chatops.engine.planning.plan import Plan, PlannedStep
from chatops.engine.ports import Clock, Executor, HttpGetter
from chatops.engine.runs.batches import only_touched, over_threshold
from chatops.engine.runs.drift import DriftCheck
from chatops.engine.runs.durable import Durable, StoreLost
from chatops.engine.runs.history import step_failure
from chatops.engine.runs.host_steps import HostSteps, hosts_of, step_state
from chatops.engine.runs.scheduled import expire_missed
from chatops.engine.runs.settling import OutcomeUnknown, Settler
from chatops.engine.runs.sink import FLUSH_SECONDS
from chatops.engine.runs.stops import Cancelled, Paused, Taken, main_summary
from chatops.engine.runs.stranded import end_stranded
from chatops.engine.unit_of_work import Transactions, UnitOfWork

__all__ = ["FINISHED", "SALVAGE_PATIENCE", "STORE_PATIENCE", "Runner"]

FINISHED = (StepState.SUCCEEDED, StepState.FAILED, StepState.SKIPPED)
STORE_PATIENCE = 120.0  # seconds a run waits out one database outage before it is interrupted
SALVAGE_PATIENCE = 24 * 3600.0  # how long an interrupted run's last words wait for the store

log = logging.getLogger(__name__)


class Runner:
    def __init__(
        self,
        config: Config,
        tx: Transactions,
        clock: Clock,
        executors: Mapping[str, Executor],
        http: HttpGetter,
        owner: str,
        *,
        max_parallel: int = 8,
        heartbeat_every: float = 10.0,
        cancel_poll: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        store_patience: float = STORE_PATIENCE,
        store_waits: tuple[Callable[[float], None], Callable[[], float]] | None = None,
        site: str | None = None,
    ) -> None:
        self.config = config
        self.site = site  # this worker claims runs of this site only (None: without one)
        self.tx = tx
        self.clock = clock
        self.executors = executors
        self.http = http
        self.owner = owner
        self.max_parallel = max_parallel
        self.heartbeat_every = heartbeat_every
        self.cancel_poll = cancel_poll
        self._cancels: dict[int, threading.Event] = {}
        self._active: set[int] = set()  # runs a worker of this process is executing
        self._why: dict[int, str] = {}  # why a run's worker stopped, for the recovery to say
        self.sleep = sleep
        # how an outage is waited out (sleep, monotonic): real time but for the tests' own
        self.durable = Durable(tx, store_patience, *(store_waits or (time.sleep, time.monotonic)))
        self.settler = Settler(self.durable, clock, executors)
        self.drift = DriftCheck(config, tx, clock, executors, max_parallel)
        self.hosts = HostSteps(
            config, self.durable, clock, executors, http, owner, self._cancels, max_parallel, sleep
        )

    def active(self) -> frozenset[int]:
        """The runs a live worker of this process is executing right now."""
        return frozenset(self._active)

    def orphaned(self, run: RunView, grace: float = 5.0) -> bool:
        """Owned by this process, claimed over `grace` seconds ago, and no worker runs it."""
        if run.owner != self.owner or run.id in self._active:
            return False
        since = run.heartbeat_at or run.updated_at
        return (self.clock.now() - since).total_seconds() > grace

    # -- entry points ----------------------------------------------------------------------
    def drain(self) -> list[RunView]:
        """Start queued runs until none can be claimed; return the runs this process ran."""
        done: list[RunView] = []
        while True:
            with self.tx() as t:
                expire_missed(t, self.config, self.clock.now())  # due, but too late to start
                frozen = in_force(self.config, t.freezes, self.clock)
                held = holding(self.config, frozen) if frozen else None
                run = t.runs.claim_next(self.owner, self.clock.now(), held, self.site)
                if run is not None:
                    self._audit(t, run, "run.started", f"owner {self.owner}")
                else:  # a run whose person acted, wherever that was recorded: go on with it
                    run = t.runs.claim_ready(self.owner, self.clock.now(), self.site)
                if run is None:
                    if frozen:
                        tell_held(self.config, t, frozen, self.clock.now())
                    t.commit()
                    return done
                t.commit()
            done.append(self.execute(run))

    def continue_run(self, run_id: int) -> RunView | None:
        """Continue a parked run (after a manual step or gate). None if another process has it."""
        with self.tx() as t:
            if not t.runs.claim_parked(run_id, self.owner, self.clock.now()):
                return None
            run = t.runs.get(run_id)
            t.commit()
        return self.execute(run)

    def recover(
        self,
        is_dead: Callable[[RunView], bool],
        adopt: Callable[[RunView], bool] | None = None,
    ) -> list[RunView]:
        """Mark runs left `running` by a dead process as interrupted, at the step they were on
        (unless `adopt` takes one over: then it goes on, and is not in the list)."""
        out = []
        with self.tx() as t:
            running = t.runs.list(limit=1000, states=[RunState.RUNNING])
        for run in running:
            if run.owner is None or not is_dead(run):
                continue
            if adopt is not None and adopt(run):
                continue
            cause = self._why.pop(run.id, "the process running it died")
            ended = self._interrupt(run, cause, patience=0.0)
            if ended is not None:
                out.append(ended)
        return out

    def stop_here(self, run_id: int, cause: str) -> RunView | None:
        """This process is stopping mid-run (Ctrl-C in a `--here` terminal): the run it holds
        is interrupted at once, with `cause`, for a lead to resume or roll back."""
        with self.tx() as t:
            run = t.runs.get(run_id)
        if run.owner != self.owner:
            return None
        return self._interrupt(run, cause, patience=0.0)

    def adopt(self, run: RunView) -> RunView | None:
        """Take over a run whose worker died (`run.owner`, as seen dead): this worker holds it
        now; what was running is marked interrupted, to be followed to its true end by the
        execution that comes next (`execute(..., strict=True)`), never started again. None if
        another worker took it first, or it moved on. Only a run in its main phase with no
        failure is taken over: one that was failing or rolling back waits for a lead."""
        dead = run.owner
        if dead is None or dead == self.owner:
            return None
        now = self.clock.now()
        with self.tx() as t:
            records = t.steps.of_run(run.id)
            if any(r.phase != "main" or r.state == StepState.FAILED for r in records):
                return None
            if not t.runs.take_over(run.id, dead, self.owner, now):
                return None
            for rec in records:
                if rec.state == StepState.RUNNING:
                    why = f"its worker {dead} stopped; {self.owner} follows it to its end"
                    t.steps.finish(rec.id, StepState.INTERRUPTED, now, error=why)
            taken = t.runs.get(run.id)
            detail = f"at step {taken.current_step}; from {dead} (stopped), by {self.owner}"
            self._audit(t, taken, "run.taken_over", detail)
            t.events.add(ev.RunTakenOver(taken, taken.current_step, dead, self.owner))
            t.commit()
        return taken

    def _interrupt(self, run: RunView, cause: str, patience: float) -> RunView | None:
        """End a run whose worker stopped: `interrupted` at the step it was on (resumable),
        or `cancelled` if a cancel was asked for meanwhile. Its running steps are marked
        interrupted with the cause. None if the run had moved on (another process did it)."""
        for sink in list(self.hosts.sinks.pop(run.id, ())):
            try:
                sink.flush(durable=True)
            except Exception:  # what could not be stored is said to be lost in the cause
                log.warning("run %s: output could not be stored", run.id, exc_info=True)
        out: list[RunView] = []

        def write(t: UnitOfWork) -> None:
            ended = end_stranded(t, run.id, cause, self.clock.now(), run.owner)
            out[:] = [ended] if ended is not None else []

        if patience <= 0:
            with self.tx() as t:
                write(t)
                t.commit()
        else:
            self.durable.write(f"interrupting run {run.id}", write, patience)
        return out[0] if out else None

    # -- execution -------------------------------------------------------------------------
    def execute(self, run: RunView, strict: bool = False) -> RunView:
        """Run what is left of a run this worker holds. `strict` (a run taken over): every
        command that was running is followed to its true end first; one that nobody can
        follow leaves the run interrupted, for a lead, rather than run twice."""
        with self.tx() as t:
            plan = t.plans.get(run.task_id)
        stop, cancel = threading.Event(), threading.Event()
        self._cancels[run.id] = cancel
        self._active.add(run.id)
        watch = threading.Thread(target=self._watch, args=(run.id, stop, cancel), daemon=True)
        watch.start()
        # the run's sessions and sinks end with this execution: after what a failure's
        # handler saved of the output, and after the watch that flushes it has stopped
        with self.hosts.opened(run):
            try:
                return self._execute(run, plan, strict)
            except Taken:
                log.warning("run %s: no longer held by %s: stopped here", run.id, self.owner)
                with self.tx() as t:
                    return t.runs.get(run.id)
            except Exception as e:  # the store stayed away, or a bug: never leave it `running`
                known = isinstance(e, StoreLost | OutcomeUnknown)
                cause = str(e) if known else f"its worker failed: {e!r}"
                log.error("run %s stopped: %s", run.id, cause, exc_info=not known)
                self._why[run.id] = cause
                self._active.discard(run.id)  # from now on the sweep may end it too
                ended = self._interrupt(run, cause, SALVAGE_PATIENCE)
                self._why.pop(run.id, None)
                return ended or run
            finally:
                self._active.discard(run.id)
                stop.set()
                watch.join(timeout=5)
                self._cancels.pop(run.id, None)

    def _watch(self, run_id: int, stop: threading.Event, cancel: threading.Event) -> None:
        """Beat the heartbeat, turn a cancel request into a signal to the executors, and pass
        on output that has waited long enough."""
        last_beat = time.monotonic()
        while not stop.wait(min(self.cancel_poll, FLUSH_SECONDS)):
            try:
                for sink in list(self.hosts.sinks.get(run_id, ())):
                    sink.flush(older_than=FLUSH_SECONDS)
                with self.tx() as t:
                    if not cancel.is_set() and t.runs.get(run_id).cancel_requested:
                        cancel.set()
                    if time.monotonic() - last_beat >= self.heartbeat_every:
                        t.runs.heartbeat(self.owner, self.clock.now())
                        t.commit()
                        last_beat = time.monotonic()
            except Exception:  # noqa: S112 - the store may be briefly unavailable; try again
                continue

    def _held(self, t: UnitOfWork, run: RunView) -> None:
        """In `t`: this worker still holds `run`, or Taken."""
        if not t.runs.hold(run.id, self.owner, self.clock.now()):
            raise Taken()

    def _execute(self, run: RunView, plan: Plan, strict: bool = False) -> RunView:
        for attempt in self.durable.attempts("starting the run"):
            with attempt as t:
                self._held(t, run)
                records = t.steps.of_run(run.id)
                t.events.add(ev.RunStarted(run))
                t.commit()
        started: list[PlannedStep] = [
            s for s in plan.steps if main_summary(records, s.id) is not None
        ]
        # commands whose outcome was unknown: how did they end? (waits if they still run)
        records, settled_failed = self.settler.settle(
            run, plan, records, hosts_of(self.config, run), strict=strict
        )
        if settled_failed and not run.rollback_requested:
            why = f"step {settled_failed[0]} failed (learned from its host's record of the job)"
            return self._fail(run, plan, started, why)
        if run.rollback_requested:  # a lead chose to roll back an interrupted run
            why = f"a lead chose to roll back at step {run.current_step}"
            return self._fail(run, plan, started, why)
        failure = ""
        try:
            for step in plan.steps:
                summary = main_summary(records, step.id)
                if summary is not None and summary.state in FINISHED:
                    continue
                for attempt in self.durable.attempts(f"starting step {step.id}"):
                    with attempt as t:
                        self._held(t, run)
                        if t.runs.get(run.id).cancel_requested:
                            raise Cancelled()
                        t.runs.set_current_step(run.id, step.id, self.clock.now())
                        t.commit()
                if step.is_machine and not any(s.is_machine for s in started):  # the first:
                    self.drift.check(run, plan, self.hosts.session(run))  # hosts as approved
                if step not in started:
                    started.append(step)
                ok = self._step(run, plan, step, summary)
                if self._cancels.get(run.id, threading.Event()).is_set():
                    raise Cancelled()
                if not ok and step.on_failure == "stop":
                    failure = self._why_failed(run, step.id)
                    break
                too_many = None
                if step.max_failures is not None:  # a rolling batch's end: count failed hosts
                    what = f"counting the failed hosts after step {step.id}"
                    for attempt in self.durable.attempts(what):
                        with attempt as t:
                            too_many = over_threshold(step, t.steps.of_run(run.id))
                if too_many:
                    failure = too_many
                    break
        except Paused as p:
            for attempt in self.durable.attempts(f"parking the run at step {p.step_id}"):
                with attempt as t:
                    self._held(t, run)
                    t.runs.park(run.id, self.owner, self.clock.now(), p.step_id)
                    run = t.runs.get(run.id)
                    t.events.add(ev.RunWaiting(run, p.step_id))
                    t.commit()
            return run
        except Cancelled:
            return self._end(run, RunState.CANCELLED, "run.cancelled", "cancelled", stopped=True)
        if not failure:
            # an error from before (an interruption it was resumed from) is its past now:
            # the run's course tells it (engine/runs/history.py)
            return self._end(run, RunState.SUCCEEDED, "run.succeeded", "")
        return self._fail(run, plan, started, failure)

    def _why_failed(self, run: RunView, step_id: str) -> str:
        """Why a step failed, each failed host named (the run's error: its status message,
        summary, page and `show` say it)."""
        for attempt in self.durable.attempts(f"reading why step {step_id} failed"):
            with attempt as t:
                records = t.steps.of_run(run.id)
        return step_failure(records, step_id)

    def _end(
        self,
        run: RunView,
        state: RunState,
        action: str,
        error: str | None,
        stopped: bool = False,
        detail: str | None = None,
    ) -> RunView:
        """The run's last transition, its audit row and RunFinished, in one transaction."""
        for attempt in self.durable.attempts(f"recording the end of the run ({state.value})"):
            with attempt as t:
                keep = state == RunState.SUCCEEDED
                now = self.clock.now()
                if not t.runs.transition(
                    run.id, state, now, error=error, keep_owner=keep, held_by=self.owner
                ):
                    raise Taken()
                run = t.runs.get(run.id)
                if stopped:
                    detail = f"stopped at step {run.current_step}"
                self._audit(t, run, action, detail if detail is not None else (error or ""))
                t.events.add(ev.RunFinished(run, run.state))
                t.commit()
        return run

    def _fail(self, run: RunView, plan: Plan, started: list[PlannedStep], failure: str) -> RunView:
        for attempt in self.durable.attempts("recording the failure"):
            with attempt as t:
                self._held(t, run)
                self._audit(t, run, "run.step_failed", failure)
                t.commit()
        rollbacks = [s for s in reversed(started) if s.rollback]
        # The plan's own rollback (e.g. restart on the previous revision) runs once something
        # was undone, or when it is the only rollback the plan declares.
        declared = any(s.rollback for s in plan.steps)
        plan_level = only_touched(plan.rollback, started) if (rollbacks or not declared) else []
        if not rollbacks and not plan_level:
            why = "nothing had changed to roll back" if declared else "no rollback declared"
            return self._end(
                run, RunState.FAILED, "run.failed", failure, detail=f"{failure}; {why}"
            )
        for attempt in self.durable.attempts("starting the rollback"):
            with attempt as t:
                t.events.add(ev.RollbackStarted(run, failure))
                t.commit()
        ok = True
        for step in rollbacks:
            rb = step.model_copy(
                update={
                    "commands": step.rollback,
                    "rollback": [],
                    "title": f"Roll back: {step.title}",
                    "kind": "ssh",
                }
            )
            ok = self._machine(run, rb, "rollback") and ok
        for step in plan_level:
            ok = self._step(run, plan, step, None, phase="rollback") and ok
        state = RunState.ROLLED_BACK if ok else RunState.FAILED
        detail = failure + ("; rolled back" if ok else "; rollback failed too")
        return self._end(run, state, f"run.{state.value}", detail)

    def _step(
        self,
        run: RunView,
        plan: Plan,
        step: PlannedStep,
        summary: StepRecord | None,
        phase: str = "main",
    ) -> bool:
        if step.kind == "pause":
            return self._pause(run, step, phase)
        if step.kind in ("manual", "gate"):
            if summary is None:
                for attempt in self.durable.attempts(f"starting step {step.id}"):
                    with attempt as t:
                        now = self.clock.now()
                        t.steps.start(run.id, phase, step.id, "", now, StepState.WAITING)
                        self._audit(t, run, "step.waiting", step.id)
                        t.commit()
            raise Paused(step.id)
        return self._machine(run, step, phase)

    def _machine(self, run: RunView, step: PlannedStep, phase: str) -> bool:
        for attempt in self.durable.attempts(f"starting step {step.id}"):
            with attempt as t:
                self._held(t, run)
                summary_id = t.steps.start(run.id, phase, step.id, "", self.clock.now())
                t.events.add(ev.StepStarted(run, step.id, phase))
                t.commit()
        if step.http is not None:
            results = [self.hosts.http_step(run, step, phase)]
        else:
            results = self.hosts.on_hosts(run, step, phase)
        unknown = [r for r in results if r.outcome == "unknown"]
        ok = all(r.ok for r in results) and bool(results)
        exit_codes = [r.exit_code for r in results if r.exit_code is not None]
        error = "; ".join(f"{r.host}: {r.error or r.outcome}" for r in results if not r.ok)
        for attempt in self.durable.attempts(f"recording the end of step {step.id}"):
            with attempt as t:
                self._held(t, run)  # taken over meanwhile: the new owner learns how it ended
                t.steps.finish(
                    summary_id,
                    step_state(ok, bool(unknown)),
                    self.clock.now(),
                    exit_code=max(exit_codes) if exit_codes else None,
                    error=error,
                )
                t.events.add(ev.StepFinished(run, step.id, phase, ok, tuple(results)))
                t.commit()
        if unknown:
            hosts = ", ".join(r.host for r in unknown)
            raise OutcomeUnknown(
                f"connection to {hosts} lost during `{step.id}`; the command may have "
                "finished; check the host, then resume or roll back"
            )
        return ok

    def _pause(self, run: RunView, step: PlannedStep, phase: str) -> bool:
        """Between two batches of a rolling deploy: watch; a cancel ends the wait at once."""
        for attempt in self.durable.attempts(f"starting step {step.id}"):
            with attempt as t:
                self._held(t, run)
                rec = t.steps.start(run.id, phase, step.id, "", self.clock.now())
                t.events.add(ev.StepStarted(run, step.id, phase))
                t.commit()
        if self.sleep is time.sleep:
            self._cancels.get(run.id, threading.Event()).wait(step.timeout)
        else:
            self.sleep(step.timeout)
        for attempt in self.durable.attempts(f"recording the end of step {step.id}"):
            with attempt as t:
                t.steps.finish(rec, StepState.SUCCEEDED, self.clock.now())
                t.events.add(ev.StepFinished(run, step.id, phase, True, ()))
                t.commit()
        return True

    def _audit(self, t: UnitOfWork, run: RunView, action: str, detail: str = "") -> None:
        t.audit.append(
            AuditEvent(
                self.clock.now(), "chatops", action, run.id, run.task_id, run.plan_hash, detail
            )
        )
