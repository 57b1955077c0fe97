"""A plan's approval clock and its decisions, told to people: past its SLA the approvers
are reminded in the thread and by DM, past `escalate_after` the leads and on-call; and the
person who asked (the one an agent acts for, too) gets a DM at every decision: approved by
whom (and when it starts, if later), rejected with the reason, expired, or a scheduled
start missed. A part of the thread."""

from __future__ import annotations

from chatops.engine.bus import Handlers
from chatops.engine.domain import events as ev
from chatops.engine.domain.agent_rules import is_agent
from chatops.engine.domain.run import RunView
from chatops.engine.planning.starts import starts_said
from chatops.slack.records import RunMessages
from chatops.slack.thread.notices import Thread
from chatops.slack.views import blocks as bk


def asker(thread: Thread, run: RunView) -> list[str]:
    """The person to tell of what became of a request: the requester, or whom an agent
    acts for (nobody, if it acts for no one)."""
    if not is_agent(run.requester):
        return [run.requester]
    person = thread.store.load_plan(run.task_id).on_behalf_of
    return [person] if person else []


class ApprovalNotices:
    def __init__(self, thread: Thread) -> None:
        self.thread = thread

    def register(self, handlers: Handlers[RunMessages]) -> None:
        handlers.on(ev.ApprovalOverdue, self.on_overdue)
        handlers.on(ev.RunApproved, self.on_approved)
        handlers.on(ev.RunRejected, self.on_rejected)
        handlers.on(ev.RunExpired, self.on_expired)
        handlers.on(ev.StartMissed, self.on_start_missed)

    def _what(self, run: RunView) -> str:
        return f"run #{run.id} ({run.runbook} on {run.service}/{run.environment})"

    def on_overdue(self, e: ev.ApprovalOverdue, m: RunMessages) -> None:
        run = e.run
        needs = "; ".join(e.missing) or "its approvals"
        who = ", ".join(bk.mention(u) for u in e.told) or "nobody (no one may approve it)"
        if e.stage == "escalate":
            line = (
                f":rotating_light: Still not approved after {e.waited}: {self._what(run)} "
                f"needs {needs}. Leads and on-call: {who}."
            )
        else:
            line = (
                f":alarm_clock: Waiting for approval for {e.waited} (its SLA): "
                f"{self._what(run)} needs {needs}. {who}, please review."
            )
        self.thread.reply(m, line)
        self.thread.dm(list(e.told), f"{line} The plan is in <#{m.channel}>.")

    def on_approved(self, e: ev.RunApproved, m: RunMessages) -> None:
        who = ", ".join(bk.mention(u) for u in e.approvers)
        self.thread.dm(
            asker(self.thread, e.run),
            f":white_check_mark: Your {self._what(e.run)} was approved by {who}."
            + self._starts(e.run),
        )

    def _starts(self, run: RunView) -> str:
        start = self.thread.store.load_plan(run.task_id).start
        if start is None or start.earliest <= self.thread.clock.now():
            return ""
        return f" It starts at {starts_said(start, self.thread.clock.now())}."

    def on_start_missed(self, e: ev.StartMissed, m: RunMessages) -> None:
        self.thread.dm(
            asker(self.thread, e.run),
            f":hourglass: Your {self._what(e.run)} did not start: {bk.escape(e.reason)}. "
            "Request it again if it is still needed.",
        )

    def on_rejected(self, e: ev.RunRejected, m: RunMessages) -> None:
        self.thread.dm(
            asker(self.thread, e.run),
            f":no_entry: Your {self._what(e.run)} was rejected by {bk.mention(e.by)}: "
            f"{bk.escape(e.reason)}",
        )

    def on_expired(self, e: ev.RunExpired, m: RunMessages) -> None:
        self.thread.dm(
            asker(self.thread, e.run),
            f":hourglass: Your {self._what(e.run)} expired without enough approvals: "
            "request it again if it is still needed.",
        )
