"""What the listeners need, in one place: the engine, the Slack client, records, workers."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient

from chatops.engine.approvals.changes import ChangeService
from chatops.engine.approvals.parts import Requested
from chatops.engine.front.services import Services
from chatops.engine.runs.operations import Operations
from chatops.slack.admission import Admission
from chatops.slack.budget import Priority
from chatops.slack.home import HomePublisher
from chatops.slack.records import SlackRecords
from chatops.slack.thread.notifier import SlackNotifier
from chatops.slack.thread.plan_notices import transient
from chatops.slack.views import modals
from chatops.slack.workers import Tell, Workers

log = logging.getLogger(__name__)
RUN = re.compile(r"\d{1,12}")
RUN_STEP = re.compile(r"(\d{1,12}):([a-z0-9][a-z0-9_-]{0,63})")
RUN_HASH = re.compile(r"(\d{1,12}):([0-9a-f]{64})")


@dataclass
class SlackServices:
    engine: Services
    client: WebClient
    records: SlackRecords
    notifier: SlackNotifier
    workers: Workers
    home: HomePublisher
    delivering: Callable[[], bool] = lambda: False
    public_url: str = "http://127.0.0.1:3000"  # where people reach serve: links start there
    admission: Admission = field(default_factory=Admission)  # one person's queued requests

    @property
    def busy(self) -> bool:
        """Work in flight: a listener's task, or events not yet told to Slack."""
        return self.workers.busy or self.delivering()

    @property
    def changes(self) -> ChangeService:
        return self.engine.changes

    @property
    def ops(self) -> Operations:
        return self.engine.ops

    def ephemeral(self, channel: str, user: str) -> Tell:
        def tell(text: str) -> None:
            self.client.chat_postEphemeral(channel=channel, user=user, text=text)

        return tell

    def dm(self, user: str) -> Tell:
        def tell(text: str) -> None:
            self.client.chat_postMessage(channel=user, text=text)

        return tell

    def button(self, body: dict[str, Any], shape: re.Pattern[str] = RUN) -> re.Match[str]:
        """A clicked button's value, read strictly. One that does not parse (tampered with,
        or from an older version of the bot) is refused and audited as denied.<action>."""
        user = str((body.get("user") or {}).get("id", ""))
        action = (body.get("actions") or [{}])[0]
        value = str(action.get("value", ""))
        found = shape.fullmatch(value)
        if found is None:
            raise self.changes.bad_input(
                user,
                str(action.get("action_id", "")).removeprefix("chatops."),
                f"this button's value {value[:40]!r} is not one this version of chatops "
                "reads (the message may be from an older version): use the latest message",
            )
        return found

    def change_form(
        self,
        user: str,
        meta: dict[str, str],
        process: str | None = None,
        preset: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The /change form as `user` may fill it: only the processes they may request (a
        fix plan of an escalation they took over: also those its requester may)."""
        behalf = meta.get("on_behalf_of") or None
        allowed = set(self.changes.requestable(user, behalf))
        runbooks = {n: rb for n, rb in self.changes.runbooks.items() if n in allowed}
        return modals.change_modal(runbooks, self.changes.config, meta, process, preset)

    def plan_posted(self, run_id: int) -> bool:
        """Whether the plan message of run `run_id` is in Slack (posted by any process)."""
        return self.records.get(run_id) is not None

    def first(self, key: str) -> bool:
        """The first time this click or command is seen. A request handed over again after
        its process died goes on even if it was seen: its first try may have died after."""
        first = self.records.first_delivery(key, self.engine.clock.now())
        done = self.workers.completion
        return first or (done is not None and done.replaying)

    def post_plan(self, req: Requested, channel: str) -> bool:
        """Post the plan at once, from the request's own task; if Slack fails now, the event
        stream posts it when Slack answers again (once: the post is claimed either way).
        Whether it is posted now."""
        # a hotfix's plan takes the channel's next post; an ordinary one waits its turn
        budget = getattr(self.client, "budget", None)  # the SafeWebClient's (tests: none)
        rank = Priority.NOW if req.run.is_hotfix else Priority.ACT
        try:
            with budget.at(rank) if budget is not None else contextlib.nullcontext():
                return self.notifier.post_plan(req.run, req.plan, req.verdict, channel)
        except Exception as e:
            log.warning(
                "could not post the plan of run %s now (%s); the event stream will",
                req.run.id,
                e,
                exc_info=not transient(e),  # Slack down or its limit: expected, no traceback
            )
            return False
