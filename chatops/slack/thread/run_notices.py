"""A run's life in its thread: the status message posted when it starts and kept current,
a prompt when it waits for a person or is interrupted, a reply when it rolls back, and the
summary broadcast to the channel when it ends. A part of the thread (SlackNotifier gives it
the plumbing)."""

from __future__ import annotations

from chatops.engine.bus import Handlers
from chatops.engine.domain import events as ev
from chatops.engine.runs.history import course
from chatops.slack.budget import Priority
from chatops.slack.records import RunMessages
from chatops.slack.thread.notices import Thread
from chatops.slack.views import blocks as bk
from chatops.slack.views import incident_blocks as ib
from chatops.slack.views import prompt_blocks as pb


class RunNotices:
    def __init__(self, thread: Thread) -> None:
        self.thread = thread

    def register(self, handlers: Handlers[RunMessages]) -> None:
        handlers.on(ev.RunStarted, self.on_running)
        handlers.on(ev.RunWaiting, self.on_waiting)
        handlers.on(ev.RollbackStarted, self.on_rolling_back)
        handlers.on(ev.RunInterrupted, self.on_interrupted)
        handlers.on(ev.RunTakenOver, self.on_taken_over)
        handlers.on(ev.RunFinished, self.on_finished)

    def on_running(self, e: ev.RunStarted, m: RunMessages) -> None:
        run = e.run
        self.thread.post_status(run)
        self.thread.refresh_status(run.id)

    def on_waiting(self, e: ev.RunWaiting, m: RunMessages) -> None:
        run = e.run
        plan = self.thread.store.load_plan(run.task_id)
        step = plan.step(e.step)
        if plan.runbook == "debug" and step.purpose == "diagnose":
            blocks = ib.diagnosis_blocks(run, plan, self.thread.store.steps(run.id))
            self.thread.reply(m, f"Diagnosis of {plan.service}", blocks)
            self.thread.prompt(run, m, ib.FIX_PATHS, ib.fix_path_blocks(run))
        self.thread.prompt(run, m, f"Waiting: {step.title}", pb.waiting_blocks(run, step))
        self.thread.refresh_status(run.id, Priority.ACT)

    def on_rolling_back(self, e: ev.RollbackStarted, m: RunMessages) -> None:
        reason = bk.escape(e.reason)
        self.thread.reply(m, f":leftwards_arrow_with_hook: Rolling back: {reason}")

    def on_interrupted(self, e: ev.RunInterrupted, m: RunMessages) -> None:
        run = e.run
        why = run.error.partition(": ")[2] or "the process running it died"
        text = (
            f":warning: Run #{run.id} was interrupted at step `{e.step}`: {bk.escape(why)}. "
            "Nothing will re-run until a lead resumes it."
        )
        self.thread.live.drop(run.id)  # resumed or not, its live output is over
        self.thread.prompt(run, m, text, ib.interrupted_blocks(text, run))
        self.thread.refresh_status(run.id, Priority.FINAL, wait=True)

    def on_taken_over(self, e: ev.RunTakenOver, m: RunMessages) -> None:
        """Who runs it now: a worker died mid-run and another goes on, first learning how
        what was running ended (never starting it again)."""
        text = (
            f":arrows_counterclockwise: Run #{e.run.id}: worker `{bk.escape(e.dead)}` stopped "
            f"at step `{e.step}`; worker `{bk.escape(e.by)}` took over. It follows what was "
            "running to its end before going on; nothing runs twice."
        )
        self.thread.reply(m, text)
        self.thread.refresh_status(e.run.id, Priority.FINAL)

    def on_finished(self, e: ev.RunFinished, m: RunMessages) -> None:
        run = e.run
        self.thread.live.drop(run.id)
        self.thread.refresh_status(run.id, Priority.FINAL, wait=True)
        plan = self.thread.store.load_plan(run.task_id)
        trail = self.thread.store.audit_for_run(run.id)
        text = bk.summary_text(run, plan, self.thread.store.steps(run.id), course(run, trail))
        self.thread.retire_prompts(run.id, f"_No longer waiting: {text.splitlines()[0]}_")
        self.thread.reply(m, text, [bk.section(text)], broadcast=True)
        self.thread.refresh_plan(run, text.splitlines()[0])
