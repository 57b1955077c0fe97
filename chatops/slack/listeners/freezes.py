"""Change freezes from Slack: `/freeze SERVICE|all DURATION reason`, `/unfreeze SERVICE|all`.
Leads only (refusals are audited); announced in the channel, so everyone sees the freeze."""

from __future__ import annotations

from slack_bolt import App

from chatops.errors import ParameterError
from chatops.slack.listeners.oncall import slash_command
from chatops.slack.listeners.services import SlackServices
from chatops.slack.views import blocks as bk

FREEZE_USAGE = "usage: `/freeze SERVICE|all DURATION reason`, e.g. `/freeze all 2h incident open`"


def declare(s: SlackServices, text: str, user: str, channel: str) -> None:
    words = text.split(None, 2)
    if len(words) < 3:
        raise ParameterError(FREEZE_USAGE)
    target, duration, reason = words
    f = s.engine.freezes.freeze(target, duration, reason, user)
    allowed = ", ".join(["hotfix", *s.engine.config.freezes.allow])
    s.client.chat_postMessage(
        channel=channel,
        text=(
            f":snowflake: <@{user}> declared a {bk.escape(f.describe())}. "
            f"Until then only {allowed} may be planned or started; approved runs stay queued. "
            f"`/unfreeze {target}` lifts it."
        ),
    )


def lift(s: SlackServices, text: str, user: str, channel: str) -> None:
    words = text.split()
    if len(words) != 1:
        raise ParameterError("usage: `/unfreeze SERVICE|all`")
    lifted = s.engine.freezes.unfreeze(words[0], user)
    still = s.engine.freezes.active(None if words[0] == "all" else words[0])
    if not lifted:  # nothing changed: only the one who asked hears of it
        held = "; ".join(bk.escape(f.describe()) for f in still)
        s.ephemeral(channel, user)(
            f"No freeze declared with /freeze is in force on {bk.escape(words[0])}."
            + (f" In force from chatops.yml (not lifted by /unfreeze): {held}" if held else "")
        )
        return
    text_ = (
        f":sunny: <@{user}> lifted {lifted} freeze{'s' if lifted > 1 else ''} "
        f"on {bk.escape(words[0])}."
    )
    if still:
        text_ += " Still in force: " + "; ".join(bk.escape(f.describe()) for f in still)
    else:
        text_ += " Queued runs start now."
    s.client.chat_postMessage(channel=channel, text=text_)
    s.engine.ops.kick()


def register(app: App, s: SlackServices) -> None:
    slash_command(app, s, "/freeze", declare)
    slash_command(app, s, "/unfreeze", lift)
