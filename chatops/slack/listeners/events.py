"""Events: @mentions become requests; the App Home shows what concerns the user."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from chatops.slack.listeners.commands import request_from_text
from chatops.slack.listeners.services import SlackServices


def register(app: App, s: SlackServices) -> None:
    @app.event("app_mention")
    def mention(body: dict[str, Any], event: dict[str, Any]) -> None:
        if not s.first(f"event:{body.get('event_id')}"):
            return  # a retry of a delivery already handled
        user, channel = event.get("user", ""), event["channel"]
        s.workers.task(
            lambda: request_from_text(s, event.get("text", ""), user, channel, ""),
            s.ephemeral(channel, user),
        )

    @app.event("app_home_opened")
    def home(event: dict[str, Any]) -> None:
        user = event.get("user", "")
        if event.get("tab", "home") == "home" and user:
            s.workers.task(lambda: s.home.opened(user), lambda _m: None)
