"""The Slack adapter's own port: what it remembers about deliveries, a run's messages, its
prompts and who opened the App Home. The SQL store implements it (`store/slack.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class RunMessages:
    run_id: int
    channel: str
    plan_ts: str
    status_ts: str | None


class SlackRecords(Protocol):
    def first_delivery(self, key: str, now: datetime) -> bool:
        """True the first time a key is seen, by any replica; False for every repeat."""
        ...

    def forget(self, key: str) -> None: ...

    def save(self, run_id: int, channel: str, plan_ts: str) -> None: ...

    def set_status(self, run_id: int, status_ts: str) -> bool: ...

    def get(self, run_id: int) -> RunMessages | None: ...

    def add_prompt(self, run_id: int, channel: str, ts: str, about: str = "run") -> None: ...

    def drop_prompt(self, ts: str) -> bool: ...

    def prompts(self, run_id: int, about: str = "run") -> list[tuple[str, str]]: ...

    def home_opened(self, user: str, now: datetime) -> None: ...

    def home_users(self) -> list[str]: ...
