"""A run's steps in its thread: a "started" reply that becomes the step's result, long
output as a file, the status message kept current. Under pressure, progress gives way: a
"started" reply is posted only if the channel has room, and a finished run's step result is
told by its status message and summary when other runs wait for the channel."""

from __future__ import annotations

import contextlib
import threading

from chatops.engine.bus import Handlers
from chatops.engine.domain import events as ev
from chatops.engine.domain.run import RunView
from chatops.slack.budget import POST, Priority
from chatops.slack.records import RunMessages
from chatops.slack.thread.notices import Thread
from chatops.slack.thread.output_text import result_lines, shown_file
from chatops.slack.views import blocks as bk

PROGRESS_POST_WAIT = 2.0  # a progress reply that cannot go by then is skipped


class StepNotices:
    def __init__(self, thread: Thread) -> None:
        self.thread = thread
        self._lock = threading.Lock()
        # a step's "started" reply, kept until its result replaces it (a retry updates the
        # same message)
        self._step_ts: dict[tuple[int, str, str], str] = {}

    def register(self, handlers: Handlers[RunMessages]) -> None:
        handlers.on(ev.StepStarted, self.on_step_started)
        handlers.on(ev.StepOutput, self.on_step_output)
        handlers.on(ev.StepFinished, self.on_step_finished)
        handlers.on(ev.RunFinished, self.on_run_finished)

    def on_run_finished(self, e: ev.RunFinished, m: RunMessages) -> None:
        """The run is over: a "started" reply whose result never came (the run was cancelled
        mid-step) is not kept in memory for ever."""
        with self._lock:
            for key in [k for k in self._step_ts if k[0] == e.run.id]:
                del self._step_ts[key]

    def on_step_started(self, e: ev.StepStarted, m: RunMessages) -> None:
        run = e.run
        self.thread.live.start(run.id)
        step_id, phase = e.step, str(e.phase or "main")
        label = f"rollback `{step_id}`" if phase == "rollback" else f"`{step_id}`"
        ts = None
        # progress: posted only if the channel has room soon (else the result is a reply),
        # and not at all once the step is over (its result is the reply: the thread is
        # behind the run, and catches up sooner without it) or the run is (its status
        # message and summary tell the steps)
        if not self._step_over(run.id, step_id, phase) and self.thread.budget.acquire(
            POST, m.channel, Priority.PROGRESS, timeout=PROGRESS_POST_WAIT
        ):
            with getattr(self.thread.client, "paid", contextlib.nullcontext)():
                ts = self.thread.reply(m, f":arrow_forward: {label} started")
        if ts is not None:
            with self._lock:
                self._step_ts[(run.id, step_id, phase)] = ts
        self.thread.refresh_status(run.id)

    def _step_over(self, run_id: int, step_id: str, phase: str) -> bool:
        """The step has finished on every host, or the run has ended."""
        if self._over(run_id):
            return True
        mine = [
            r for r in self.thread.store.steps(run_id) if r.step_id == step_id and r.phase == phase
        ]
        return bool(mine) and all(r.finished_at is not None for r in mine)

    def _over(self, run_id: int) -> bool:
        """The run has ended (the events being handled may be behind it)."""
        return self.thread.store.get_run(run_id).state.is_terminal

    def on_step_output(self, e: ev.StepOutput, m: RunMessages) -> None:
        run = e.run
        chunk = e.chunk
        self.thread.live.add(run.id, chunk)
        self.thread.refresh_status(run.id)

    def on_step_finished(self, e: ev.StepFinished, m: RunMessages) -> None:
        run = e.run
        results = e.results
        step_id, phase = e.step, str(e.phase or "main")
        lines, long_hosts = result_lines(results)
        unknown = any(r.outcome == "unknown" for r in results)
        text = bk.step_finished_text(step_id, e.ok, lines, phase, unknown)
        with self._lock:  # kept until the update succeeds: a retry updates the same message
            ts = self._step_ts.get((run.id, step_id, phase))
        over = e.ok and self._over(run.id)  # the run ended before Slack heard of this step
        if over and ts is not None:
            # its "started" reply becomes the result when the budget has room, as progress:
            # the run's end (its status message and summary) is not held behind it
            self.thread.call("update step", lambda: None, once=True)
            self.thread.show(
                m.channel, ts, lambda: (text, [bk.section(text)]), Priority.PROGRESS, False
            )
            with self._lock:
                self._step_ts.pop((run.id, step_id, phase), None)
        elif over and not self.thread.budget.room(POST, m.channel, Priority.STEP):
            # other runs wait for the channel (ten runs in one channel share a post a
            # second): its status message and summary tell it; the slot is spent
            self.thread.call("step result told by the summary", lambda: None, once=True)
        elif ts is None:
            self.thread.reply(m, text, [bk.section(text)])
        else:  # the step's "started" reply becomes its result
            # the reply above's slot is spent: handled again, this event posts nothing
            self.thread.call("update step", lambda: None, once=True)
            self.thread.show(m.channel, ts, lambda: (text, [bk.section(text)]), Priority.STEP, True)
            with self._lock:
                self._step_ts.pop((run.id, step_id, phase), None)
        for host in long_hosts:
            self._upload(run, m, step_id, host, phase)
        self.thread.refresh_status(run.id)  # progress: the run goes on

    def _upload(self, run: RunView, m: RunMessages, step_id: str, host: str, phase: str) -> None:
        recs = [
            r
            for r in self.thread.store.steps(run.id)
            if r.step_id == step_id and r.host == host and r.phase == phase
        ]
        if not recs:
            return
        with shown_file(self.thread.store.output_chunks(recs[-1].id)) as path:
            self.thread.call(
                "upload",
                lambda: self.thread.client.files_upload_v2(
                    channel=m.channel,
                    thread_ts=m.plan_ts,
                    file=path,
                    filename=f"run-{run.id}-{step_id}-{host}.log",
                    title=f"Run #{run.id} {step_id} on {host}: full output",
                ),
                once=True,
            )
