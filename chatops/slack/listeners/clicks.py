"""What every button's listener shares: who clicked where, a click handled once on the
app's workers (a repeat of the same click is not; a refused one is forgotten again, so a
later valid one counts), a button that opens a form. A value that does not parse (tampered
with, or from an older version of the bot) gets a private refusal and an audit line."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from chatops.errors import ChatopsError
from chatops.slack.listeners.services import SlackServices

__all__ = ["PREFIXED", "Work", "click", "handle", "open_view"]

PREFIXED = re.compile(r"(\d{1,12})(:\S*)?")  # run[:anything]: Reject's value
#: what a click does: (user, channel, message ts, the parsed value)
Work = Callable[[str, str, str, re.Match[str]], None]


def click(body: dict[str, Any]) -> tuple[str, str, str, dict[str, Any]]:
    """Who clicked, in which channel, on which message, and the action."""
    action = (body.get("actions") or [{}])[0]
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id", ""
    )
    ts = (body.get("container") or {}).get("message_ts", "")
    return str((body.get("user") or {}).get("id", "")), channel, ts, action


def handle(s: SlackServices, body: dict[str, Any], shape: re.Pattern[str], work: Work) -> None:
    """The click's `work`, once, on the workers (a person's click goes first)."""
    user, channel, ts, action = click(body)
    value = str(action.get("value", ""))
    key = f"{action.get('action_id')}:{ts}:{user}:{value}"
    if not user or not s.first(key):
        return

    def guarded() -> None:
        try:
            work(user, channel, ts, s.button(body, shape))
        except ChatopsError:
            s.records.forget(key)
            raise

    s.workers.task(guarded, s.ephemeral(channel, user), urgent=True)


def open_view(
    s: SlackServices, body: dict[str, Any], make: Callable[[str, int], dict[str, Any]]
) -> None:
    """A button that opens a form: the value is checked first, the form opened after."""
    user, channel, _ts, _action = click(body)

    def work() -> None:
        run_id = int(s.button(body, PREFIXED)[1])
        s.client.views_open(trigger_id=body.get("trigger_id", ""), view=make(channel, run_id))

    s.workers.task(work, s.ephemeral(channel, user))
