"""A run's steps in its thread: a "started" reply that becomes the step's result, long
output as a file, the status message kept current. Under pressure, progress gives way: a
"started" reply is posted only if the channel has room, and a finished run's step result is
told by its status message and summary when other runs wait for the channel."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from chatops.engine import events as ev
from chatops.engine.domain.run import RunView
from chatops.engine.runs.queries import Queries
from chatops.slack import blocks as bk
from chatops.slack.budget import POST, Priority, SlackBudget
from chatops.slack.desk import Render
from chatops.slack.notices import Notices
from chatops.slack.output_text import LIVE_CHARS, result_lines, shown_file
from chatops.slack.records import RunMessages

PROGRESS_POST_WAIT = 2.0  # a progress reply that cannot go by then is skipped


class StepNotices(Notices):
    client: WebClient
    store: Queries
    budget: SlackBudget
    _lock: threading.Lock
    _live: dict[int, str]
    _step_ts: dict[tuple[int, str, str], str]

    def _call(self, what: str, fn: Callable[[], Any], once: bool = False) -> Any:
        raise NotImplementedError

    def show(self, channel: str, ts: str, render: Render, priority: Priority, wait: bool) -> None:
        raise NotImplementedError

    def refresh_status(
        self, run_id: int, priority: Priority = Priority.PROGRESS, wait: bool = False
    ) -> None:
        raise NotImplementedError

    def on_step_started(self, e: ev.StepStarted, m: RunMessages) -> None:
        run = e.run
        with self._lock:
            self._live[run.id] = ""
        step_id, phase = e.step, str(e.phase or "main")
        label = f"rollback `{step_id}`" if phase == "rollback" else f"`{step_id}`"
        ts = None
        # progress: posted only if the channel has room now (else the result is a reply), and
        # not at all once the run is over (its status message and summary tell the steps)
        if not self._over(run.id) and self.budget.acquire(
            POST, m.channel, Priority.PROGRESS, timeout=PROGRESS_POST_WAIT
        ):
            with getattr(self.client, "paid", contextlib.nullcontext)():
                ts = self.reply(m, f":arrow_forward: {label} started")
        if ts is not None:
            with self._lock:
                self._step_ts[(run.id, step_id, phase)] = ts
        self.refresh_status(run.id)

    def _over(self, run_id: int) -> bool:
        """The run has ended (the events being handled may be behind it)."""
        return self.store.get_run(run_id).state.is_terminal

    def on_step_output(self, e: ev.StepOutput, m: RunMessages) -> None:
        run = e.run
        chunk = e.chunk
        with self._lock:
            self._live[run.id] = (self._live.get(run.id, "") + chunk)[-LIVE_CHARS:]
        self.refresh_status(run.id)

    def on_step_finished(self, e: ev.StepFinished, m: RunMessages) -> None:
        run = e.run
        results = e.results
        step_id, phase = e.step, str(e.phase or "main")
        lines, long_hosts = result_lines(results)
        unknown = any(r.outcome == "unknown" for r in results)
        text = bk.step_finished_text(step_id, e.ok, lines, phase, unknown)
        with self._lock:  # kept until the update succeeds: a retry updates the same message
            ts = self._step_ts.get((run.id, step_id, phase))
        if (
            ts is None
            and e.ok
            and self._over(run.id)
            and not self.budget.room(POST, m.channel, Priority.STEP)
        ):
            # the run ended before Slack heard of this step and other runs wait for the
            # channel (ten runs in one channel share a post a second): its status message
            # and summary tell it; the slot is spent
            self._call("step result told by the summary", lambda: None, once=True)
        elif ts is None:
            self.reply(m, text, [bk.section(text)])
        else:  # the step's "started" reply becomes its result
            # the reply above's slot is spent: handled again, this event posts nothing
            self._call("update step", lambda: None, once=True)
            self.show(m.channel, ts, lambda: (text, [bk.section(text)]), Priority.STEP, True)
            with self._lock:
                self._step_ts.pop((run.id, step_id, phase), None)
        for host in long_hosts:
            self._upload(run, m, step_id, host, phase)
        self.refresh_status(run.id)  # progress: the run goes on

    def _upload(self, run: RunView, m: RunMessages, step_id: str, host: str, phase: str) -> None:
        recs = [
            r
            for r in self.store.steps(run.id)
            if r.step_id == step_id and r.host == host and r.phase == phase
        ]
        if not recs:
            return
        with shown_file(self.store.output_chunks(recs[-1].id)) as path:
            self._call(
                "upload",
                lambda: self.client.files_upload_v2(
                    channel=m.channel,
                    thread_ts=m.plan_ts,
                    file=path,
                    filename=f"run-{run.id}-{step_id}-{host}.log",
                    title=f"Run #{run.id} {step_id} on {host}: full output",
                ),
                once=True,
            )
