"""Steering a run: Cancel, and for an interrupted run Resume or Roll back (a lead's)."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App

from chatops.engine.runs.commands import Cancel, Resume, RollBack
from chatops.slack.listeners.clicks import handle
from chatops.slack.listeners.services import RUN, SlackServices
from chatops.slack.views import blocks as bk


def register(app: App, s: SlackServices) -> None:
    @app.action(bk.A_CANCEL)
    def cancel(ack: Ack, body: dict[str, Any]) -> None:
        ack()

        def work(user: str, channel: str, ts: str, v: re.Match[str]) -> None:
            run = s.ops.handle(Cancel(int(v[0]), user))
            if run.cancel_requested and not run.state.is_terminal:
                m = s.records.get(run.id)
                if m is not None:
                    s.notifier.reply(
                        m,
                        f":no_entry_sign: <@{user}> cancels: the running command is being "
                        "stopped on its hosts.",
                    )

        handle(s, body, RUN, work)

    @app.action(bk.A_RESUME)
    def resume(ack: Ack, body: dict[str, Any]) -> None:
        ack()

        def work(user: str, channel: str, ts: str, v: re.Match[str]) -> None:
            run = s.ops.handle(Resume(int(v[0]), user))
            s.notifier.answered(
                channel,
                ts,
                f":arrow_forward: Resumed by <@{user}> from step `{run.current_step}`.",
            )

        handle(s, body, RUN, work)

    @app.action(bk.A_ROLLBACK)
    def roll_back(ack: Ack, body: dict[str, Any]) -> None:
        ack()

        def work(user: str, channel: str, ts: str, v: re.Match[str]) -> None:
            run = s.ops.handle(RollBack(int(v[0]), user))
            s.notifier.answered(
                channel,
                ts,
                f":leftwards_arrow_with_hook: <@{user}> rolls the run back from step "
                f"`{run.current_step}`.",
            )

        handle(s, body, RUN, work)
