"""The bolt app and the Web API client (bootstrap wires them to the engine)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    ServerErrorRetryHandler,
)

from chatops.errors import ChatopsError
from chatops.settings import Settings
from chatops.slack.budget import SlackBudget
from chatops.slack.client import SafeWebClient
from chatops.slack.listeners import (
    approvals,
    change_form,
    commands,
    debugging,
    escalations,
    events,
    freezes,
    links,
    oncall,
    postmortems,
    steering,
    steps,
    views,
)
from chatops.slack.listeners.services import SlackServices
from chatops.slack.workers import explain

log = logging.getLogger(__name__)


def web_client(settings: Settings, budget: SlackBudget | None = None) -> SafeWebClient:
    """Slack's Web API client: redacts what it sends, keeps to the workspace's budget (a 429
    pauses its method for every caller, `slack/client.py`); 5xx are retried a few times."""
    kwargs: dict[str, Any] = {}
    if settings.slack_api_url:
        kwargs["base_url"] = settings.slack_api_url.rstrip("/") + "/"
    return SafeWebClient(
        token=settings.slack_bot_token,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
        budget=budget,
        **kwargs,
    )


def create_app(services: SlackServices, signing_secret: str | None) -> App:
    """The bolt app: every request signature-checked, every listener registered.

    Listeners run on the thread that dispatches the request (`process_before_response`):
    in HTTP mode the 200 was sent before bolt ran (`slack/http.py`), and every listener only
    acks and hands its work to the app's workers, so nothing waits on it; and so the
    request's work is known to be started when dispatch returns (the inbox counts on it)."""
    client = services.client
    app = App(
        client=client,
        signing_secret=signing_secret,
        process_before_response=True,
        raise_error_for_unhandled_request=False,
        request_verification_enabled=True,
    )
    listeners = (
        commands,
        approvals,
        steps,
        steering,
        links,
        escalations,
        change_form,
        views,
        events,
        oncall,
        postmortems,
        debugging,
        freezes,
    )
    for module in listeners:
        module.register(app, services)

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse | None:
        """A listener failed before its ack. Input it could not read (a field missing or of
        the wrong type, a value that does not parse) is a 400 with one log line; a known
        refusal is told to the user; anything else is logged with an error id."""
        unreadable = isinstance(
            error, (KeyError, ValueError, TypeError, IndexError, AttributeError)
        )
        refused = isinstance(error, ChatopsError)
        if unreadable:
            log.warning("could not read a request: %s: %s", type(error).__name__, str(error)[:200])
            text = (
                ":warning: chatops could not read that request (it may come from an older "
                "message): try again from the latest one."
            )
        else:
            text = explain(error)
        user = (body.get("user") or {}).get("id") or body.get("user_id")
        channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
        if user and channel:
            try:
                client.chat_postEphemeral(channel=channel, user=user, text=text)
            except Exception:
                log.exception("could not tell %s about an error", user)
        return BoltResponse(status=400, body="") if unreadable or refused else None

    return app
