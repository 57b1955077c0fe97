"""The change form's process pick: the form is drawn again for the process picked (its
parameters, its questions), keeping what was filled in."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from chatops.slack.listeners.clicks import click
from chatops.slack.listeners.services import SlackServices
from chatops.slack.views import modals


def register(app: App, s: SlackServices) -> None:
    @app.action(modals.PICK_PROCESS)
    def pick(ack: Ack, body: dict[str, Any], client: Any) -> None:
        ack()
        view = body.get("view") or {}
        action = click(body)[3]
        process = str((action.get("selected_option") or {}).get("value", ""))
        meta = modals.metadata(view)
        new = s.change_form(str((body.get("user") or {}).get("id", "")), meta, process)
        s.workers.task(
            lambda: client.views_update(view_id=view["id"], hash=view.get("hash"), view=new),
            lambda _m: None,
        )
