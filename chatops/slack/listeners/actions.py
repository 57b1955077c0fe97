"""Button clicks: approve, reject, mark done, approve a gate, cancel; the form's process pick.

Each click is acknowledged at once and handled on the app's worker pool. A repeat of the
same click (same action, message, user and value) is handled once; a refused click is
forgotten again, so a later valid one counts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from chatops.errors import ChatopsError
from chatops.slack import blocks as bk
from chatops.slack import modals
from chatops.slack.services import SlackServices


def _click(body: dict[str, Any]) -> tuple[str, str, str, dict[str, Any]]:
    action = body["actions"][0]
    channel = (body.get("channel") or {}).get("id") or body.get("container", {}).get(
        "channel_id", ""
    )
    ts = body.get("container", {}).get("message_ts", "")
    return body["user"]["id"], channel, ts, action


def register(app: App, s: SlackServices) -> None:
    def handle(body: dict[str, Any], work: Callable[[str, str, str, str], None]) -> None:
        user, channel, ts, action = _click(body)
        key = f"{action['action_id']}:{ts}:{user}:{action.get('value', '')}"
        if not s.first(key):
            return

        def guarded() -> None:
            try:
                work(user, channel, ts, action.get("value", ""))
            except ChatopsError:
                s.records.forget(key)
                raise

        s.workers.task(guarded, s.ephemeral(channel, user))

    @app.action(bk.A_APPROVE)
    def approve(ack: Ack, body: dict[str, Any]) -> None:
        ack()

        def work(user: str, channel: str, ts: str, value: str) -> None:
            run_id, _, plan_hash = value.partition(":")
            status = s.changes.approve(int(run_id), user, plan_hash)
            if status.complete:
                s.after_approval(int(run_id))
            else:
                s.notifier.refresh_plan(status.run)
                s.ephemeral(channel, user)(
                    ":ballot_box_with_check: Your approval is recorded; still needed: "
                    + "; ".join(status.missing)
                )

        handle(body, work)

    @app.action(bk.A_REJECT)
    def reject(ack: Ack, body: dict[str, Any], client: Any) -> None:
        ack()
        user, channel, _ts, action = _click(body)
        run_id, _, _ = action["value"].partition(":")
        meta = {"run_id": run_id, "channel": channel}
        s.workers.task(
            lambda: client.views_open(
                trigger_id=body["trigger_id"], view=modals.reject_modal(meta)
            ),
            s.ephemeral(channel, user),
        )

    @app.action(bk.A_DONE)
    def done(ack: Ack, body: dict[str, Any]) -> None:
        ack()

        def work(user: str, channel: str, ts: str, value: str) -> None:
            run_id, _, step_id = value.partition(":")
            s.changes.mark_done(int(run_id), step_id, user)
            s.client.chat_update(
                channel=channel,
                ts=ts,
                text=f"{step_id}: done by <@{user}>",
                blocks=[bk.section(f":white_check_mark: `{step_id}` marked done by <@{user}>")],
            )
            s.continue_run(int(run_id))

        handle(body, work)

    @app.action(bk.A_GATE)
    def gate(ack: Ack, body: dict[str, Any]) -> None:
        ack()

        def work(user: str, channel: str, ts: str, value: str) -> None:
            run_id, _, step_id = value.partition(":")
            if s.changes.approve_gate(int(run_id), step_id, user):
                s.client.chat_update(
                    channel=channel,
                    ts=ts,
                    text=f"{step_id}: approved",
                    blocks=[bk.section(f":white_check_mark: `{step_id}` approved by <@{user}>")],
                )
                s.continue_run(int(run_id))
            else:
                s.ephemeral(channel, user)(
                    ":ballot_box_with_check: Recorded; the gate needs more approvals."
                )

        handle(body, work)

    @app.action(bk.A_CANCEL)
    def cancel(ack: Ack, body: dict[str, Any]) -> None:
        ack()

        def work(user: str, channel: str, ts: str, value: str) -> None:
            run = s.changes.cancel(int(value), user)
            if run.cancel_requested:
                m = s.records.get(run.id)
                if m is not None:
                    s.notifier.reply(
                        m,
                        f":no_entry_sign: <@{user}> cancels: it stops before its next step.",
                    )

        handle(body, work)

    @app.action(bk.A_RESUME)
    def resume(ack: Ack, body: dict[str, Any]) -> None:
        ack()

        def work(user: str, channel: str, ts: str, value: str) -> None:
            run = s.changes.resume(int(value), user)
            s.client.chat_update(
                channel=channel,
                ts=ts,
                text=f"Resumed by <@{user}>",
                blocks=[
                    bk.section(
                        f":arrow_forward: Resumed by <@{user}> from step `{run.current_step}`."
                    )
                ],
            )
            s.kick()

        handle(body, work)

    @app.action(modals.PICK_PROCESS)
    def pick(ack: Ack, body: dict[str, Any], client: Any) -> None:
        ack()
        view = body["view"]
        process = body["actions"][0]["selected_option"]["value"]
        meta = json.loads(view.get("private_metadata") or "{}")
        new = modals.change_modal(s.changes.runbooks, s.changes.config, meta, process)
        s.workers.task(
            lambda: client.views_update(view_id=view["id"], hash=view.get("hash"), view=new),
            lambda _m: None,
        )
