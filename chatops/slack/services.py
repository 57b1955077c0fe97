"""What the listeners need, in one place: the engine, the Slack client, records, workers."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk import WebClient

from chatops.bootstrap import Wired
from chatops.engine.changes import ChangeService, Requested
from chatops.engine.run import RunState
from chatops.slack import blocks as bk
from chatops.slack.home import HomePublisher
from chatops.slack.notifier import SlackNotifier
from chatops.slack.workers import Tell, Workers
from chatops.store.slack import SqlSlackRecords

log = logging.getLogger(__name__)


@dataclass
class SlackServices:
    wired: Wired
    client: WebClient
    records: SqlSlackRecords
    notifier: SlackNotifier
    workers: Workers
    home: HomePublisher

    @property
    def changes(self) -> ChangeService:
        return self.wired.changes

    def ephemeral(self, channel: str, user: str) -> Tell:
        def tell(text: str) -> None:
            self.client.chat_postEphemeral(channel=channel, user=user, text=text)

        return tell

    def dm(self, user: str) -> Tell:
        def tell(text: str) -> None:
            self.client.chat_postMessage(channel=user, text=text)

        return tell

    def first(self, key: str) -> bool:
        return self.records.first_delivery(key, self.wired.clock.now())

    def post_plan(self, req: Requested, channel: str) -> str:
        """Post the plan message in the channel and remember where it is."""
        blocks = bk.plan_blocks(req.plan, req.verdict, req.run)
        resp = self.client.chat_postMessage(
            channel=channel,
            text=bk.plan_fallback(req.plan, req.run),
            blocks=blocks,
            unfurl_links=False,
        )
        ts = str(resp["ts"])
        self.records.save(req.run.id, channel, ts)
        if not req.verdict.ok:
            reasons = "\n".join(f"• {r}" for r in req.verdict.reasons)
            self.client.chat_postMessage(
                channel=channel,
                thread_ts=ts,
                text=f":no_entry: This plan breaks the process and cannot be approved:\n{reasons}",
            )
        return ts

    def kick(self) -> None:
        """Start whatever queued runs this process can claim, on the run pool."""
        self.workers.run(self.wired.runner.drain)

    def continue_run(self, run_id: int) -> None:
        def go() -> None:
            self.wired.runner.continue_run(run_id)
            self.wired.runner.drain()

        self.workers.run(go)

    def after_approval(self, run_id: int) -> None:
        if self.wired.store.get_run(run_id).state == RunState.QUEUED:
            pos = self.wired.store.queue_position(run_id)
            if pos > 1:
                m = self.records.get(run_id)
                if m is not None:
                    self.notifier.reply(
                        m,
                        f":hourglass: Queued at position {pos}: another run "
                        "on this service and environment goes first.",
                    )
            self.kick()
