"""An approved run a change freeze holds: said once in its thread. Mixed into
SlackNotifier, which provides the plumbing."""

from __future__ import annotations

from chatops.engine import events as ev
from chatops.slack import blocks as bk
from chatops.slack.notices import Notices
from chatops.slack.records import RunMessages


class FreezeNotices(Notices):
    def on_held(self, e: ev.RunHeld, m: RunMessages) -> None:
        self.reply(
            m,
            f":snowflake: Approved, but held: {bk.escape(e.reason)}. "
            "It stays queued and starts by itself when the freeze ends.",
        )
