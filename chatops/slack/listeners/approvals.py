"""A plan's buttons: Approve, Reject (a form for the reason), Answer (the planning
questions' form)."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App

from chatops.engine.runs.commands import Approve
from chatops.slack.listeners.clicks import handle, open_view
from chatops.slack.listeners.services import RUN_HASH, SlackServices
from chatops.slack.views import blocks as bk
from chatops.slack.views import modals


def register(app: App, s: SlackServices) -> None:
    @app.action(bk.A_APPROVE)
    def approve(ack: Ack, body: dict[str, Any]) -> None:
        ack()

        def work(user: str, channel: str, ts: str, v: re.Match[str]) -> None:
            run_id, plan_hash = int(v[1]), v[2]
            status = s.ops.handle(Approve(run_id, user, plan_hash))
            if not status.complete:  # the plan message is redrawn from ApprovalAdded
                s.ephemeral(channel, user)(
                    ":ballot_box_with_check: Your approval is recorded; still needed: "
                    + "; ".join(status.missing)
                )
                return
            idle = s.ops.idle_note(status.run)  # its site's workers: none alive
            m = s.records.get(run_id) if idle is not None else None
            if idle is not None and m is not None:  # said in the thread: nobody waits blind
                s.notifier.reply(m, f":hourglass_flowing_sand: {idle[0].upper()}{idle[1:]}")

        handle(s, body, RUN_HASH, work)

    @app.action(bk.A_REJECT)
    def reject(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        open_view(
            s,
            body,
            lambda channel, run_id: modals.reject_modal(
                {"run_id": str(run_id), "channel": channel}
            ),
        )

    @app.action(bk.A_ANSWER)
    def answer(ack: Ack, body: dict[str, Any]) -> None:
        ack()

        def form(channel: str, run_id: int) -> dict[str, Any]:
            user = str((body.get("user") or {}).get("id", ""))
            return modals.answers_modal(
                run_id, channel, s.changes.revisions.to_answer(run_id, user)
            )

        open_view(s, body, form)
