"""Button clicks: approve, reject, mark done, approve a gate, cancel, resume, answer an
escalation; the form's process pick.

Each click is acknowledged at once and handled on the app's worker pool. A repeat of the
same click (same action, message, user and value) is handled once; a refused click is
forgotten again, so a later valid one counts. A value that does not parse (tampered with, or
from an older version of the bot) gets a private refusal and an audit line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from chatops.errors import ChatopsError
from chatops.slack.listeners.services import RUN, RUN_HASH, RUN_STEP, SlackServices
from chatops.slack.views import blocks as bk
from chatops.slack.views import modals

PREFIXED = re.compile(r"(\d{1,12})(:\S*)?")  # run[:anything]: Reject's value


def _click(body: dict[str, Any]) -> tuple[str, str, str, dict[str, Any]]:
    action = (body.get("actions") or [{}])[0]
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id", ""
    )
    ts = (body.get("container") or {}).get("message_ts", "")
    return str((body.get("user") or {}).get("id", "")), channel, ts, action


def register(app: App, s: SlackServices) -> None:
    def handle(
        body: dict[str, Any],
        shape: re.Pattern[str],
        work: Callable[[str, str, str, re.Match[str]], None],
    ) -> None:
        user, channel, ts, action = _click(body)
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

        s.workers.task(guarded, s.ephemeral(channel, user), urgent=True)  # a person's click

    @app.action(bk.A_APPROVE)
    def approve(ack: Ack, body: dict[str, Any]) -> None:
        ack()

        def work(user: str, channel: str, ts: str, v: re.Match[str]) -> None:
            run_id, plan_hash = int(v[1]), v[2]
            status = s.ops.approve(run_id, user, plan_hash)
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

        handle(body, RUN_HASH, work)

    @app.action(bk.A_VIEW)
    def view(ack: Ack, body: dict[str, Any]) -> None:
        """A personal link to the run's page, told to the clicker alone: Slack vouches for
        who clicked (the request is signed), the link names them and expires."""
        ack()
        user, channel, _ts, _action = _click(body)

        def work() -> None:
            run_id = int(s.button(body, RUN)[0])
            path = s.engine.pages.link(run_id, user)
            hours = s.engine.pages.ttl / 3600
            url = s.public_url.rstrip("/") + path
            s.ephemeral(channel, user)(
                f":mag: <{url}|View run #{run_id}>: a link for you alone, valid {hours:g} h "
                "(do not forward it: it opens only for you)"
            )

        s.workers.task(work, s.ephemeral(channel, user))

    @app.action(bk.A_INSIGHTS)
    def insights(ack: Ack, body: dict[str, Any]) -> None:
        """From the App Home: a personal link to the team's numbers, in a modal only the
        clicker sees (a home has no channel to answer in)."""
        ack()
        user = str((body.get("user") or {}).get("id", ""))
        trigger = str(body.get("trigger_id", ""))

        def tell(message: str) -> None:
            s.client.views_open(trigger_id=trigger, view=modals.notice_modal("Insights", message))

        def work() -> None:
            url = s.public_url.rstrip("/") + s.engine.insights.link(user)
            hours = s.engine.insights.ttl / 3600
            tell(
                f":bar_chart: <{url}|The team's delivery numbers>: a link for you alone, "
                f"valid {hours:g} h (do not forward it: it opens only for you)"
            )

        s.workers.task(work, tell)

    def open_view(body: dict[str, Any], make: Callable[[str, int], dict[str, Any]]) -> None:
        """A button that opens a form: the value is checked first, the form opened after."""
        user, channel, _ts, _action = _click(body)

        def work() -> None:
            run_id = int(s.button(body, PREFIXED)[1])
            s.client.views_open(trigger_id=body.get("trigger_id", ""), view=make(channel, run_id))

        s.workers.task(work, s.ephemeral(channel, user))

    @app.action(bk.A_REJECT)
    def reject(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        open_view(
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

        open_view(body, form)

    @app.action(bk.A_DONE)
    def done(ack: Ack, body: dict[str, Any]) -> None:
        ack()

        def work(user: str, channel: str, ts: str, v: re.Match[str]) -> None:
            run_id, step_id = int(v[1]), v[2]
            s.ops.mark_done(run_id, step_id, user)
            s.notifier.answered(
                channel, ts, f":white_check_mark: `{step_id}` marked done by <@{user}>"
            )

        handle(body, RUN_STEP, work)

    @app.action(bk.A_GATE)
    def gate(ack: Ack, body: dict[str, Any]) -> None:
        ack()

        def work(user: str, channel: str, ts: str, v: re.Match[str]) -> None:
            run_id, step_id = int(v[1]), v[2]
            if s.ops.approve_gate(run_id, step_id, user):
                s.notifier.answered(
                    channel, ts, f":white_check_mark: `{step_id}` approved by <@{user}>"
                )
            else:
                s.ephemeral(channel, user)(
                    ":ballot_box_with_check: Recorded; the gate needs more approvals."
                )

        handle(body, RUN_STEP, work)

    @app.action(bk.A_CANCEL)
    def cancel(ack: Ack, body: dict[str, Any]) -> None:
        ack()

        def work(user: str, channel: str, ts: str, v: re.Match[str]) -> None:
            run = s.ops.cancel(int(v[0]), user)
            if run.cancel_requested and not run.state.is_terminal:
                m = s.records.get(run.id)
                if m is not None:
                    s.notifier.reply(
                        m,
                        f":no_entry_sign: <@{user}> cancels: the running command is being "
                        "stopped on its hosts.",
                    )

        handle(body, RUN, work)

    @app.action(bk.A_RESUME)
    def resume(ack: Ack, body: dict[str, Any]) -> None:
        ack()

        def work(user: str, channel: str, ts: str, v: re.Match[str]) -> None:
            run = s.ops.resume(int(v[0]), user)
            s.notifier.answered(
                channel,
                ts,
                f":arrow_forward: Resumed by <@{user}> from step `{run.current_step}`.",
            )

        handle(body, RUN, work)

    @app.action(bk.A_ROLLBACK)
    def roll_back(ack: Ack, body: dict[str, Any]) -> None:
        ack()

        def work(user: str, channel: str, ts: str, v: re.Match[str]) -> None:
            run = s.ops.roll_back(int(v[0]), user)
            s.notifier.answered(
                channel,
                ts,
                f":leftwards_arrow_with_hook: <@{user}> rolls the run back from step "
                f"`{run.current_step}`.",
            )

        handle(body, RUN, work)

    @app.action(bk.A_TAKE_OVER)
    def take_over(ack: Ack, body: dict[str, Any]) -> None:
        """The Architect takes an escalated problem over: the diagnosis ends, a fix form opens."""
        ack()
        trigger = body.get("trigger_id", "")

        def work(user: str, channel: str, ts: str, v: re.Match[str]) -> None:
            run = s.ops.answer_escalation(int(v[0]), user, "take_over")
            preset = {"service": run.service or "", "environment": run.environment or ""}
            # the fix keeps the escalated run's requester, and may be what they may request
            meta = {"channel": channel, "taking_over": str(run.id), "on_behalf_of": run.requester}
            s.client.views_open(trigger_id=trigger, view=s.change_form(user, meta, None, preset))

        handle(body, RUN, work)

    @app.action(bk.A_CLOSE_ESCALATION)
    def close(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        open_view(body, lambda channel, run_id: modals.close_escalation_modal(run_id, channel))

    @app.action(modals.PICK_PROCESS)
    def pick(ack: Ack, body: dict[str, Any], client: Any) -> None:
        ack()
        view = body.get("view") or {}
        action = _click(body)[3]
        process = str((action.get("selected_option") or {}).get("value", ""))
        meta = modals.metadata(view)
        new = s.change_form(str((body.get("user") or {}).get("id", "")), meta, process)
        s.workers.task(
            lambda: client.views_update(view_id=view["id"], hash=view.get("hash"), view=new),
            lambda _m: None,
        )
