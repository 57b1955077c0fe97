"""An approved run a change freeze holds: said once in its thread. A part of
the thread (SlackNotifier gives it the plumbing)."""

from __future__ import annotations

from chatops.engine.bus import Handlers
from chatops.engine.domain import events as ev
from chatops.slack.records import RunMessages
from chatops.slack.thread.notices import Thread
from chatops.slack.views import blocks as bk


class FreezeNotices:
    def __init__(self, thread: Thread) -> None:
        self.thread = thread

    def register(self, handlers: Handlers[RunMessages]) -> None:
        handlers.on(ev.RunHeld, self.on_held)

    def on_held(self, e: ev.RunHeld, m: RunMessages) -> None:
        self.thread.reply(
            m,
            f":snowflake: Approved, but held: {bk.escape(e.reason)}. "
            "It stays queued and starts by itself when the freeze ends.",
        )
