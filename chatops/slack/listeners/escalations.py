"""An escalated problem: its form (why the diagnosis is escalated), and its buttons: the
Architect takes it over (the diagnosis ends, a fix form opens, the fix asked on the
requester's behalf) or closes it (a form for why)."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App

from chatops.engine.runs.commands import AnswerEscalation, Escalate
from chatops.errors import ChatopsError
from chatops.slack.listeners.clicks import handle, open_view
from chatops.slack.listeners.services import RUN, SlackServices
from chatops.slack.views import blocks as bk
from chatops.slack.views import modals


def register(app: App, s: SlackServices) -> None:
    @app.action(bk.A_TAKE_OVER)
    def take_over(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        trigger = body.get("trigger_id", "")

        def work(user: str, channel: str, ts: str, v: re.Match[str]) -> None:
            run = s.ops.handle(AnswerEscalation(int(v[0]), user, "take_over"))
            preset = {"service": run.service or "", "environment": run.environment or ""}
            # the fix keeps the escalated run's requester, and may be what they may request
            meta = {"channel": channel, "taking_over": str(run.id), "on_behalf_of": run.requester}
            s.client.views_open(trigger_id=trigger, view=s.change_form(user, meta, None, preset))

        handle(s, body, RUN, work)

    @app.action(bk.A_CLOSE_ESCALATION)
    def close(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        open_view(s, body, lambda channel, run_id: modals.close_escalation_modal(run_id, channel))

    @app.view(modals.ESCALATE)
    def escalated(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = modals.metadata(view)
        vals = modals.values(view)
        try:
            s.ops.handle(
                Escalate(
                    modals.run_of(meta),
                    body["user"]["id"],
                    vals.get("reason", ""),
                    vals.get("details", ""),
                )
            )
        except ChatopsError as e:
            ack(response_action="errors", errors={"reason": str(e)[:300]})
            return
        ack()

    @app.view(modals.CLOSE_ESCALATION)
    def closed(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = modals.metadata(view)
        reason = modals.values(view).get("reason", "")
        try:
            run_id, user = modals.run_of(meta), body["user"]["id"]
            s.ops.handle(AnswerEscalation(run_id, user, "close", reason))
        except ChatopsError as e:
            ack(response_action="errors", errors={"reason": str(e)[:300]})
            return
        ack()
