"""The decisions on a plan, on its message and in its thread: approvals so far, approved
(and where it is queued, or when it starts), revised, rejected, expired, cancelled, a
scheduled start missed. A part of the thread (SlackNotifier gives it the plumbing)."""

from __future__ import annotations

from chatops.engine.bus import Handlers
from chatops.engine.domain import events as ev
from chatops.engine.planning.starts import starts_said
from chatops.slack.records import RunMessages
from chatops.slack.thread.notices import Thread
from chatops.slack.views import blocks as bk


class DecisionNotices:
    def __init__(self, thread: Thread) -> None:
        self.thread = thread

    def register(self, handlers: Handlers[RunMessages]) -> None:
        handlers.on(ev.ApprovalAdded, self.on_approval_added)
        handlers.on(ev.RunApproved, self.on_approved)
        handlers.on(ev.PlanRevised, self.on_revised)
        handlers.on(ev.RunRejected, self.on_rejected)
        handlers.on(ev.RunExpired, self.on_expired)
        handlers.on(ev.RunCancelled, self.on_cancelled)
        handlers.on(ev.StartMissed, self.on_start_missed)

    def on_approved(self, e: ev.RunApproved, m: RunMessages) -> None:
        run = e.run
        approvers = e.approvers
        who = ", ".join(f"<@{u}>" for u in approvers)
        self.thread.refresh_plan(
            run, f":white_check_mark: Approved by {who} at {bk.when(self.thread.clock.now())}"
        )
        start = self.thread.store.load_plan(run.task_id).start
        now = self.thread.clock.now()
        if start is not None and start.earliest > now:
            self.thread.reply(
                m,
                f":alarm_clock: Approved early: it starts at {starts_said(start, now)}. "
                "Until then it can be cancelled (Cancel run below).",
            )
        elif e.position > 1:
            self.thread.reply(
                m,
                f":hourglass: Queued at position {e.position}: another run "
                "on this service and environment goes first.",
            )
        self.thread.post_status(run)

    def on_approval_added(self, e: ev.ApprovalAdded, m: RunMessages) -> None:
        self.thread.refresh_plan(e.run)  # "approved so far by", and the buttons for the rest

    def on_revised(self, e: ev.PlanRevised, m: RunMessages) -> None:
        run = e.run
        self.thread.refresh_plan(run)
        old = e.old_hash[:10]
        self.thread.reply(
            m,
            f":pencil2: {bk.mention(run.requester)} changed the plan (was `{old}`)"
            + (f": {bk.escape(e.why)}" if e.why else "")
            + ". Approvals given to the earlier version no longer count.",
        )

    def on_rejected(self, e: ev.RunRejected, m: RunMessages) -> None:
        run = e.run
        reason = bk.escape(e.reason)
        line = f":no_entry: Rejected by {bk.mention(e.by)}: {reason}"
        self.thread.refresh_plan(run, line)
        self.thread.reply(m, line)

    def on_expired(self, e: ev.RunExpired, m: RunMessages) -> None:
        run = e.run
        self.thread.refresh_plan(
            run, ":hourglass: Expired: not enough approvals in time. Request it again."
        )
        self.thread.reply(m, ":hourglass: This request expired without enough approvals.")

    def on_start_missed(self, e: ev.StartMissed, m: RunMessages) -> None:
        run = e.run
        line = f":hourglass: Not started: {bk.escape(e.reason)}. Request it again if still needed."
        self.thread.refresh_plan(run, line)
        self.thread.refresh_status(run.id)
        self.thread.reply(m, line)

    def on_cancelled(self, e: ev.RunCancelled, m: RunMessages) -> None:
        run = e.run
        self.thread.retire_prompts(run.id, f"_No longer waiting: run #{run.id} was cancelled._")
        self.thread.refresh_plan(run, f":no_entry_sign: Cancelled by {bk.mention(e.by)}")
        self.thread.reply(m, f":no_entry_sign: Cancelled by {bk.mention(e.by)}.")
