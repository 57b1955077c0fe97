"""A waiting step's buttons: Mark done (a people's step), Approve (a gate)."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App

from chatops.engine.runs.commands import ApproveGate, MarkDone
from chatops.slack.listeners.clicks import handle
from chatops.slack.listeners.services import RUN_STEP, SlackServices
from chatops.slack.views import blocks as bk


def register(app: App, s: SlackServices) -> None:
    @app.action(bk.A_DONE)
    def done(ack: Ack, body: dict[str, Any]) -> None:
        ack()

        def work(user: str, channel: str, ts: str, v: re.Match[str]) -> None:
            run_id, step_id = int(v[1]), v[2]
            s.ops.handle(MarkDone(run_id, step_id, user))
            s.notifier.answered(
                channel, ts, f":white_check_mark: `{step_id}` marked done by <@{user}>"
            )

        handle(s, body, RUN_STEP, work)

    @app.action(bk.A_GATE)
    def gate(ack: Ack, body: dict[str, Any]) -> None:
        ack()

        def work(user: str, channel: str, ts: str, v: re.Match[str]) -> None:
            run_id, step_id = int(v[1]), v[2]
            if s.ops.handle(ApproveGate(run_id, step_id, user)):
                s.notifier.answered(
                    channel, ts, f":white_check_mark: `{step_id}` approved by <@{user}>"
                )
            else:
                s.ephemeral(channel, user)(
                    ":ballot_box_with_check: Recorded; the gate needs more approvals."
                )

        handle(s, body, RUN_STEP, work)
