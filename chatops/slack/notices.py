"""What the thread's notice mixins (plans, escalations, post-mortems) need from
SlackNotifier, which provides it."""

from __future__ import annotations

from collections.abc import Sequence

from chatops.engine.domain.run import RunView
from chatops.slack import blocks as bk
from chatops.slack.records import RunMessages, SlackRecords


class Notices:
    records: SlackRecords

    def reply(
        self,
        m: RunMessages,
        text: str,
        blocks: list[bk.Block] | None = None,
        broadcast: bool = False,
    ) -> str | None:
        raise NotImplementedError

    def prompt(self, run: RunView, m: RunMessages, text: str, blocks: list[bk.Block]) -> str | None:
        raise NotImplementedError

    def retire_prompts(self, run_id: int, text: str, about: str = "run") -> None:
        raise NotImplementedError

    def _dm(
        self, users: Sequence[str], text: str, blocks: list[bk.Block] | None = None
    ) -> list[tuple[str, str]]:
        raise NotImplementedError
