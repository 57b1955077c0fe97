"""Personal links, told to the clicker alone: View run (a run's page), Insights (the
team's numbers, from the App Home). Slack vouches for who clicked (the request is signed);
the link names them and expires."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from chatops.slack.listeners.clicks import click
from chatops.slack.listeners.services import RUN, SlackServices
from chatops.slack.views import blocks as bk
from chatops.slack.views import modals


def register(app: App, s: SlackServices) -> None:
    @app.action(bk.A_VIEW)
    def view(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        user, channel, _ts, _action = click(body)

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
        """In a modal only the clicker sees (a home has no channel to answer in)."""
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
