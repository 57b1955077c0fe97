"""Process 4 after a diagnosis: the three fix paths, and escalation to the Architect."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from chatops.engine.runs.commands import Request
from chatops.slack.listeners.services import SlackServices
from chatops.slack.views import blocks as bk
from chatops.slack.views import modals


def where(body: dict[str, Any]) -> tuple[str, str]:
    """Who clicked, in which channel."""
    user = str((body.get("user") or {}).get("id", ""))
    return user, str((body.get("channel") or {}).get("id", ""))


def diagnosed(s: SlackServices, body: dict[str, Any]) -> tuple[int, dict[str, str]]:
    """The diagnosis run a button is about, and the service and environment it names."""
    run, _plan = s.changes.get(int(s.button(body)[0]))
    return run.id, {"service": run.service or "", "environment": run.environment or ""}


def register(app: App, s: SlackServices) -> None:
    def form(process: str) -> Any:
        def open_form(ack: Ack, body: dict[str, Any], client: Any) -> None:
            ack()
            user, channel = where(body)

            def work() -> None:
                _run_id, preset = diagnosed(s, body)
                view = s.change_form(user, {"channel": channel}, process, preset)
                client.views_open(trigger_id=body.get("trigger_id", ""), view=view)

            s.workers.task(work, s.ephemeral(channel, user))

        return open_form

    app.action(bk.A_FIX_CODE)(form("hotfix"))
    app.action(bk.A_FIX_DATA)(form("data-fix"))

    @app.action(bk.A_FIX_CONFIG)
    def config(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        user, channel = where(body)

        def work() -> None:
            run_id, preset = diagnosed(s, body)
            if not s.first(f"fix_config:{run_id}:{user}"):
                return
            why = f"configuration fix after the diagnosis in run #{run_id}"
            made = s.ops.handle(Request("config-fix", preset, user, why, origin=f"slack:{channel}"))
            s.post_plan(made, channel)

        s.workers.task(work, s.ephemeral(channel, user))

    @app.action(bk.A_ESCALATE)
    def escalate(ack: Ack, body: dict[str, Any], client: Any) -> None:
        ack()
        user, channel = where(body)

        def work() -> None:
            run_id, _preset = diagnosed(s, body)
            view = modals.escalate_modal(run_id, channel)
            client.views_open(trigger_id=body.get("trigger_id", ""), view=view)

        s.workers.task(work, s.ephemeral(channel, user))
