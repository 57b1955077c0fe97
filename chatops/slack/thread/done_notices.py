"""A people's step reported done by the Coder agent: its evidence in the thread, and the
step's Done button retired (a person's click answers its own prompt). A part of
the thread (SlackNotifier gives it the plumbing)."""

from __future__ import annotations

from chatops.engine.bus import Handlers
from chatops.engine.domain import events as ev
from chatops.slack.records import RunMessages
from chatops.slack.thread.notices import Thread
from chatops.slack.views import blocks as bk


class DoneNotices:
    def __init__(self, thread: Thread) -> None:
        self.thread = thread

    def register(self, handlers: Handlers[RunMessages]) -> None:
        handlers.on(ev.StepDone, self.on_step_done)

    def on_step_done(self, e: ev.StepDone, m: RunMessages) -> None:
        if not e.evidence:
            return  # a person clicked Done: their click updated the prompt already
        who = bk.mention(e.by)
        self.thread.retire_prompts(e.run.id, f"_Done by {who}: see its evidence in the thread._")
        lines = [f":white_check_mark: {bk.code_span(e.step)} done by {who}. Evidence:"]
        lines += [f"> {bk.escape(line)}" for line in e.evidence.strip().splitlines()[:30]]
        lines += [f"• <{link}>" for link in e.links]
        self.thread.reply(m, bk.cut("\n".join(lines), 3000))
