"""What each part of a run's thread (plans, decisions, steps, escalations, post-mortems,
freezes) is given: the thread's plumbing, as SlackNotifier provides it. A part registers
its handlers on the thread's registry and calls back only through this."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from slack_sdk import WebClient

from chatops.engine.bus import Handlers
from chatops.engine.domain.run import RunView
from chatops.engine.ports import Clock
from chatops.engine.runs.queries import Queries
from chatops.slack.budget import Priority, SlackBudget
from chatops.slack.records import RunMessages, SlackRecords
from chatops.slack.thread.desk import Render
from chatops.slack.thread.output_text import LiveOutput
from chatops.slack.views import blocks as bk


class Thread(Protocol):
    client: WebClient
    store: Queries
    records: SlackRecords
    clock: Clock
    budget: SlackBudget
    live: LiveOutput

    def call(self, what: str, fn: Callable[[], Any], once: bool = False) -> Any:
        """One Slack call; with `once`, keyed by the event being handled (never twice)."""

    def show(
        self, channel: str, ts: str, render: Render, priority: Priority, wait: bool
    ) -> None: ...

    def reply(
        self,
        m: RunMessages,
        text: str,
        blocks: list[bk.Block] | None = None,
        broadcast: bool = False,
    ) -> str | None: ...

    def prompt(
        self, run: RunView, m: RunMessages, text: str, blocks: list[bk.Block]
    ) -> str | None: ...

    def answered(self, channel: str, ts: str, text: str) -> None: ...

    def retire_prompts(self, run_id: int, text: str, about: str = "run") -> None: ...

    def dm(
        self, users: Sequence[str], text: str, blocks: list[bk.Block] | None = None
    ) -> list[tuple[str, str]]: ...

    def refresh_plan(self, run: RunView, status_line: str | None = None) -> None: ...

    def refresh_status(
        self, run_id: int, priority: Priority = Priority.PROGRESS, wait: bool = False
    ) -> None: ...

    def post_status(self, run: RunView) -> None: ...


class Part(Protocol):
    """A part of the thread: the events it tells, registered on the thread's handlers."""

    def register(self, handlers: Handlers[RunMessages]) -> None: ...
