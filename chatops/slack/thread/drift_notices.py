"""A run whose hosts changed since its plan was approved: what changed, in its thread and to
the person who asked, before the prompt to approve again (the drift step's gate). A part of
the thread (SlackNotifier gives it the plumbing)."""

from __future__ import annotations

from chatops.engine.bus import Handlers
from chatops.engine.domain import events as ev
from chatops.slack.records import RunMessages
from chatops.slack.thread.approval_notices import asker
from chatops.slack.thread.notices import Thread
from chatops.slack.views import blocks as bk


class DriftNotices:
    def __init__(self, thread: Thread) -> None:
        self.thread = thread

    def register(self, handlers: Handlers[RunMessages]) -> None:
        handlers.on(ev.DriftFound, self.on_drift)

    def on_drift(self, e: ev.DriftFound, m: RunMessages) -> None:
        run = e.run
        changed = "\n".join(f"• {bk.escape(d)}" for d in e.differences[:20])
        more = len(e.differences) - 20
        if more > 0:
            changed += f"\n• and {more} more (the run's page lists them)"
        text = (
            f":warning: Run #{run.id} stopped before touching a host: the hosts changed since "
            f"its plan was approved.\n{changed}\nIts approvers may approve it again against "
            "the hosts as they are now, or cancel it."
        )
        self.thread.reply(m, text, [bk.section(bk.cut(text, 2900))], broadcast=True)
        self.thread.dm(asker(self.thread, run), f"{text} The plan is in <#{m.channel}>.")
