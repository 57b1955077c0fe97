"""A machine step on its hosts: serially or in parallel (bounded), each host's command run
as a job named for its record, its output streamed into a Sink, its end recorded; an HTTP
check from the bot. What every write goes through is the runner's `Durable`."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor

from chatops.engine.domain import events as ev
from chatops.engine.domain.result import CommandResult, job_name
from chatops.engine.domain.run import AuditEvent, RunView, StepState
from chatops.engine.planning.config import Config
from chatops.engine.planning.inventory import Host
from chatops.engine.planning.plan import HostCommand, PlannedStep
from chatops.engine.ports import Clock, Executor, HttpGetter
from chatops.engine.runs.batches import remaining
from chatops.engine.runs.checks import http_check, output_matches
from chatops.engine.runs.durable import Durable
from chatops.engine.runs.sink import Sink
from chatops.engine.unit_of_work import UnitOfWork

__all__ = ["HostSteps", "hosts_of", "step_state"]


class HostSteps:
    def __init__(
        self,
        config: Config,
        durable: Durable,
        clock: Clock,
        executors: Mapping[str, Executor],
        http: HttpGetter,
        owner: str,
        cancels: dict[int, threading.Event],
        max_parallel: int = 8,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.durable = durable
        self.clock = clock
        self.executors = executors
        self.http = http
        self.owner = owner
        self.cancels = cancels  # the runner's: a cancel reaches every host's command
        self.max_parallel = max_parallel
        # hosts at once across every run of this process: a step's pool is within it
        self.slots = threading.BoundedSemaphore(max_parallel)
        self.sleep = sleep
        self.sinks: dict[int, set[Sink]] = {}  # a run's output not stored yet, per host

    @contextlib.contextmanager
    def opened(self, run: RunView) -> Iterator[None]:
        """The run's sessions (a connection per host, opened on first use) and its output
        sinks, for as long as this process executes it: closed when it ends or parks for a
        person, whatever ended it (a failure, a cancel, the store lost, a bug)."""
        try:
            yield
        finally:
            self.close(run)

    def close(self, run: RunView) -> None:
        """The run ended or parked: its sinks and its connections go."""
        for sink in self.sinks.pop(run.id, ()):
            sink.close()
        for executor in {id(e): e for e in self.executors.values()}.values():
            executor.close_session(self.session(run))

    def http_step(self, run: RunView, step: PlannedStep, phase: str) -> CommandResult:
        assert step.http is not None
        for attempt in self.durable.attempts(f"starting step {step.id}"):
            with attempt as t:
                rec = t.steps.start(run.id, phase, step.id, "bot", self.clock.now())
                self._audit(t, run, "step.started", step.id, phase, "bot")
                t.commit()
        result = http_check(step.http, self.http, self.sleep)
        self._finish(rec, result, run=run, step=step.id, phase=phase)
        return result

    def _audit(
        self,
        t: UnitOfWork,
        run: RunView,
        action: str,
        step: str,
        phase: str,
        host: str,
        how: str = "",
    ) -> None:
        """A machine step's start or end on one host, in the audit trail (with its record)."""
        where = f"{step}{' (rollback)' if phase == 'rollback' else ''} on {host}"
        t.audit.append(
            AuditEvent(
                self.clock.now(),
                "chatops",
                action,
                run.id,
                run.task_id,
                run.plan_hash,
                where + (f": {how}" if how else ""),
            )
        )

    def on_hosts(self, run: RunView, step: PlannedStep, phase: str) -> list[CommandResult]:
        hosts = hosts_of(self.config, run)
        if step.batch is not None:
            for attempt in self.durable.attempts(f"planning step {step.id}"):
                with attempt as t:
                    todo = remaining(step, t.steps.of_run(run.id))
            step = step.model_copy(update={"commands": todo})
        if step.hosts == "serial":
            results = []
            for hc in step.commands:
                r = self._one(run, step, phase, hosts[hc.host], hc)
                results.append(r)
                if r.failed and step.on_failure == "stop":
                    break
            return results
        wide = min(self.max_parallel, step.max_parallel or self.max_parallel)
        workers = max(1, min(wide, len(step.commands)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chatops-host") as pool:
            futures = [
                pool.submit(self._one, run, step, phase, hosts[hc.host], hc) for hc in step.commands
            ]
            return [f.result() for f in futures]

    def _one(
        self, run: RunView, step: PlannedStep, phase: str, host: Host, hc: HostCommand
    ) -> CommandResult:
        now = self.clock.now()

        def start(t: UnitOfWork) -> int:
            rec = t.steps.start(run.id, phase, step.id, host.name, now)
            self._audit(t, run, "step.started", step.id, phase, host.name)
            return rec

        rec = self.durable.together(  # with the other hosts' starts of the moment
            f"starting step {step.id} on {host.name}", start
        )
        sink = Sink(self.durable, rec, lambda chunk: ev.StepOutput(run, step.id, host.name, chunk))
        self.sinks.setdefault(run.id, set()).add(sink)
        executor = self.executors[host.transport]
        try:
            with self.slots:  # within the process's fan-out, whatever the runs at once
                result = executor.run(
                    host,
                    hc.command,
                    timeout=step.timeout,
                    on_output=sink,
                    cancel=self.cancels.get(run.id),
                    session=self.session(run),
                    job=job_name(run.task_id, run.id, rec),
                )
        except Exception as e:  # an executor bug must not leave the run hanging
            result = CommandResult(host.name, hc.command, "error", None, "", 0.0, error=repr(e))
        rest = sink.rest()  # stored with the step's end; salvaged if that write fails
        if step.kind == "check":
            result = output_matches(result, step.expect)
        self._finish(rec, result, rest, run=run, step=step.id, phase=phase)
        sink.stored(rest[0])
        self.sinks.get(run.id, set()).discard(sink)
        sink.close()
        return result

    def _finish(
        self,
        rec: int,
        r: CommandResult,
        rest: tuple[str, ev.StepOutput | None] = ("", None),
        *,
        run: RunView,
        step: str,
        phase: str,
    ) -> None:
        text, told = rest
        now = self.clock.now()
        state = step_state(r.ok, r.outcome == "unknown")
        how = state.value + (f", {r.code}" if r.exit_code is not None else "")
        if r.error:
            how += f": {r.error[:200]}"

        def end(t: UnitOfWork) -> None:
            if told is not None:
                t.steps.append_output(rec, text)
                t.events.add(told)
            t.steps.finish(
                rec,
                state,
                now,
                exit_code=r.exit_code,
                tail=r.tail_lines(40),
                error=r.error,
            )
            self._audit(t, run, "step.finished", step, phase, r.host, how)

        self.durable.together("recording a step's end", end)  # with the other hosts' ends

    def session(self, run: RunView) -> str:
        """A run's connections, while this process executes it."""
        return f"run-{run.id}@{self.owner}"


def step_state(ok: bool, unknown: bool) -> StepState:
    if unknown:
        return StepState.INTERRUPTED  # neither done nor failed: a lead looks and decides
    return StepState.SUCCEEDED if ok else StepState.FAILED


def hosts_of(config: Config, run: RunView) -> dict[str, Host]:
    if run.service is None or run.environment is None:
        return {}
    env = config.services[run.service].environments[run.environment]
    return {h.name: h for h in env.hosts}
