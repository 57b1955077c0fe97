"""Process 4 in the thread: an escalation to the Architect (with Take over / Close / Cancel,
and a direct message to each architect), and the Architect's answer. A part of
the thread (SlackNotifier gives it the plumbing)."""

from __future__ import annotations

from chatops.engine.bus import Handlers
from chatops.engine.domain import events as ev
from chatops.slack.records import RunMessages
from chatops.slack.thread.notices import Thread
from chatops.slack.views import blocks as bk
from chatops.slack.views import prompt_blocks as pb


class EscalationNotices:
    def __init__(self, thread: Thread) -> None:
        self.thread = thread

    def register(self, handlers: Handlers[RunMessages]) -> None:
        handlers.on(ev.RunEscalated, self.on_escalated)
        handlers.on(ev.EscalationAnswered, self.on_escalation_answered)

    def on_escalated(self, e: ev.RunEscalated, m: RunMessages) -> None:
        run = e.run
        users = e.architects
        groups = e.groups
        who = (
            " ".join([*(f"<@{u}>" for u in users), *(f"<!subteam^{g}>" for g in groups)])
            or "Architect"
        )
        details = bk.escape(e.details)
        text = f":sos: {who}: <@{e.by}> escalates this to the Architect: *{e.reason}*." + (
            f"\n>{details}" if details else ""
        )
        self.thread.prompt(run, m, text, pb.escalation_blocks(text, run))
        self.thread.dm([str(u) for u in users], text + f"\n(run #{run.id}, {run.service})")

    def on_escalation_answered(self, e: ev.EscalationAnswered, m: RunMessages) -> None:
        run = e.run
        by = e.by
        if e.how == "take_over":
            text = f":hammer_and_wrench: <@{by}> takes this over: a fix plan follows."
            self.thread.retire_prompts(run.id, text)
            self.thread.prompt(run, m, text, pb.taken_over_blocks(text, run))
            return
        if e.how == "fixed":
            text = f":hammer_and_wrench: <@{by}> planned the fix: {bk.escape(e.reason)}."
        else:
            text = f":white_check_mark: <@{by}> closes this: {bk.escape(e.reason)}"
        self.thread.retire_prompts(run.id, text)
        self.thread.reply(m, text)
