"""Slash commands: /change (requests, the form, imports), and the on-call commands."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from chatops.engine.runs.commands import Request, Revise
from chatops.errors import ParameterError
from chatops.slack.listeners.services import SlackServices
from chatops.slack.requests import ON_CALL, parse_change, usage
from chatops.slack.views import modals


def request_from_text(
    s: SlackServices,
    text: str,
    user: str,
    channel: str,
    trigger_id: str,
) -> int | None:
    """Turn typed text into a plan message, a form or an on-call answer; errors reach the
    user privately. The run whose plan is left to the event stream to post (Slack would not
    take it now), if any: it still waits to be posted."""
    runbooks = s.changes.runbooks
    req = parse_change(text, runbooks, s.changes.config.services)
    meta = {"channel": channel}
    if req.action in ON_CALL:
        from chatops.slack.listeners.oncall import post_logs, post_status, start_hotfix

        work = {"status": post_status, "logs": post_logs, "hotfix": start_hotfix}[req.action]
        work(s, req.text, user, channel)
    elif req.action == "help" or (req.action == "modal" and not trigger_id):
        s.ephemeral(channel, user)(usage(runbooks))
    elif req.action == "modal":
        s.client.views_open(trigger_id=trigger_id, view=s.change_form(user, meta))
    elif req.action == "edit":
        # the words after -- say why; the request keeps its own (request="..." changes it)
        s.ops.handle(Revise(req.run_id, user, req.params, why=req.text))
        s.ephemeral(channel, user)(
            f":pencil2: Plan of run #{req.run_id} changed; approvals start over."
        )
    elif req.action == "import":
        s.client.views_open(trigger_id=trigger_id, view=modals.import_modal(runbooks, meta))
    else:
        try:
            # the plan is posted in the channel (or, failing that, from the event stream)
            origin = f"slack:{channel}"
            made = s.ops.handle(
                Request(req.process, req.params, user, req.text, req.answers, origin)
            )
        except ParameterError as e:  # say what is wrong, then how to write it
            raise ParameterError(f"{e}\n{usage(runbooks, only=req.process)}") from None
        if not s.post_plan(made, channel):
            return made.run.id
    return None


def register(app: App, s: SlackServices) -> None:
    @app.command("/change")
    def change(ack: Ack, command: dict[str, Any]) -> None:
        ack()
        user, channel = command["user_id"], command["channel_id"]
        if not s.first(f"command:{command.get('trigger_id')}"):
            return
        # their earlier ones may still wait to be posted: here, or by the event stream
        if not s.admission.admit(user, channel, s.plan_posted):
            said = s.admission.refusal(user, channel)
            if said is not None:
                s.workers.task(lambda: s.ephemeral(channel, user)(said), lambda _m: None)
            return

        def work() -> None:
            waiting = None
            try:
                text, trigger = command.get("text", ""), command["trigger_id"]
                waiting = request_from_text(s, text, user, channel, trigger)
            finally:
                s.admission.release(user, channel, waiting)

        s.workers.task(work, s.ephemeral(channel, user))
