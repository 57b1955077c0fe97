"""Slack-side records: deliveries already handled, and each run's messages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from chatops.slack.records import RunMessages
from chatops.store.models import DeliveryRow, HomeUserRow, SlackMessageRow, SlackPromptRow


class SqlSlackRecords:
    def __init__(self, engine: Engine) -> None:
        self.session = sessionmaker(engine, expire_on_commit=False)

    def first_delivery(self, key: str, now: datetime) -> bool:
        """True the first time a key is seen, by any replica; False for every repeat."""
        try:
            with self.session.begin() as s:
                s.add(DeliveryRow(key=key[:300], at=now))
            return True
        except IntegrityError:
            return False

    def forget(self, key: str) -> None:
        """Let a key count again (after a refused click, so a later valid one is handled)."""
        with self.session.begin() as s:
            row = s.get(DeliveryRow, key[:300])
            if row is not None:
                s.delete(row)

    def save(self, run_id: int, channel: str, plan_ts: str) -> None:
        with self.session.begin() as s:
            s.merge(
                SlackMessageRow(run_id=run_id, channel=channel, plan_ts=plan_ts, status_ts=None)
            )

    def set_status(self, run_id: int, status_ts: str) -> bool:
        """Record the status message once; False if another process already did."""
        with self.session.begin() as s:
            res = s.execute(
                update(SlackMessageRow)
                .where(SlackMessageRow.run_id == run_id, SlackMessageRow.status_ts.is_(None))
                .values(status_ts=status_ts)
            )
            return bool(res.rowcount)  # type: ignore[attr-defined]

    def get(self, run_id: int) -> RunMessages | None:
        with self.session() as s:
            row = s.get(SlackMessageRow, run_id)
            if row is None:
                return None
            return RunMessages(row.run_id, row.channel, row.plan_ts, row.status_ts)

    def add_prompt(self, run_id: int, channel: str, ts: str, about: str = "run") -> None:
        """Remember a message whose buttons wait on people."""
        with self.session.begin() as s:
            s.merge(SlackPromptRow(ts=ts, run_id=run_id, channel=channel, about=about))

    def drop_prompt(self, ts: str) -> bool:
        """Forget a prompt (its buttons were answered); False if it was gone already."""
        with self.session.begin() as s:
            res = s.execute(delete(SlackPromptRow).where(SlackPromptRow.ts == ts))
            return bool(res.rowcount)  # type: ignore[attr-defined]

    def prompts(self, run_id: int, about: str = "run") -> list[tuple[str, str]]:
        """(channel, ts) of every prompt of a run (or its post-mortem) still showing buttons."""
        with self.session() as s:
            rows = s.scalars(
                select(SlackPromptRow).where(
                    SlackPromptRow.run_id == run_id, SlackPromptRow.about == about
                )
            )
            return [(r.channel, r.ts) for r in rows]

    def home_opened(self, user: str, now: datetime) -> None:
        with self.session.begin() as s:
            s.merge(HomeUserRow(user_id=user, opened_at=now))

    def home_users(self) -> list[str]:
        with self.session() as s:
            return list(s.scalars(select(HomeUserRow.user_id).order_by(HomeUserRow.user_id)))
