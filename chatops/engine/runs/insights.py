"""The team's delivery numbers, for the terminal (`chatops report`), the insights page and
the App Home: read from the history of runs and their audit rows, computed by the domain's
`delivery` (so every front end says the same numbers).

The insights page is behind personal links like a run's page (`links.INSIGHTS`), for the
holders of `policies.insights_roles` (the leads), checked at each request and audited when
refused. The App Home's four numbers are read at most once a minute: every home is
published again after each change, and the numbers need every run of the window.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from chatops.engine.domain.delivery import Change, changes_of, numbers, weekly
from chatops.engine.domain.links import INSIGHTS, LinkRefused, read_token, token_for
from chatops.engine.domain.roles import Roles
from chatops.engine.domain.run import AuditEvent, RunState, RunView
from chatops.engine.planning.config import Config
from chatops.engine.ports import Clock
from chatops.engine.runs.refusals import Refusals
from chatops.engine.unit_of_work import Transactions
from chatops.errors import PermissionDenied

__all__ = [
    "HOME_EVERY",
    "WEEKS",
    "WINDOW",
    "History",
    "Insights",
    "InsightsPage",
    "TeamNumbers",
    "changes_since",
    "delivery",
]

#: What the App Home and the page's headline show: the last 30 days.
WINDOW = timedelta(days=30)
#: The insights page's charts go back this far, a week at a time.
WEEKS = 12
HOME_EVERY = 60.0  # seconds the App Home's numbers are kept before they are read again


class History(Protocol):
    """The runs and audit rows as stored (the store's read-only Reader)."""

    def list_runs(self, limit: int = 50, states: Sequence[RunState] = ()) -> list[RunView]: ...

    def audit_since(self, since: datetime) -> Iterator[AuditEvent]: ...

    def close(self) -> None: ...


def changes_since(history: History, since: datetime) -> list[Change]:
    """The changes asked since `since`, with their approvals, ends and waits."""
    runs = [r for r in history.list_runs(limit=10_000_000) if r.created_at >= since]
    return changes_of(runs, history.audit_since(since))


def delivery(
    history: History, since: datetime, until: datetime, service: str | None = None
) -> dict[str, object]:
    """The numbers of the changes asked in [since, until) (of one service, if given)."""
    return numbers(changes_since(history, since), since, until, service)


@dataclass(frozen=True)
class TeamNumbers:
    """The four numbers of the last 30 days, as the App Home shows them."""

    deploys: int
    per_day: float | None
    lead_p50_s: float | None
    failure_rate: float | None
    failed: int
    ended: int
    restore_p50_s: float | None


@dataclass(frozen=True)
class InsightsPage:
    viewer: str
    since: datetime
    until: datetime
    numbers: dict[str, object]  # the last 30 days
    weeks: list[dict[str, object]]  # the last 12 weeks, a week at a time
    service: str | None = None


class Insights:
    def __init__(
        self,
        history: Callable[[], History] | None,
        config: Config,
        roles: Roles,
        clock: Clock,
        tx: Transactions,
        key: bytes,
        ttl: float = 3600.0,
        refusals: Refusals | None = None,
    ) -> None:
        self.refusals = refusals or Refusals(clock)  # shared with the run pages: one limit
        self.history = history  # None: a store the numbers cannot be read from (memory)
        self.config = config
        self.roles = roles
        self.clock = clock
        self.tx = tx
        self.key = key
        self.ttl = ttl
        self._lock = threading.Lock()
        self._home: tuple[float, TeamNumbers | None] | None = None

    def changes(self, since: datetime) -> list[Change]:
        if self.history is None:
            raise PermissionDenied("the delivery numbers need a database (SQLite or PostgreSQL)")
        history = self.history()
        try:
            return changes_since(history, since)
        finally:
            history.close()

    def link(self, user: str) -> str:
        """The path of `user`'s own link to the insights page: `/insights?t=<token>`."""
        self._check(user)
        if not self.key:
            raise PermissionDenied(
                "web pages are off: set CHATOPS_LINK_SECRET (or SLACK_SIGNING_SECRET)"
            )
        expires = int(self.clock.now().timestamp() + self.ttl)
        return f"/insights?t={token_for(self.key, INSIGHTS, user, expires)}"

    def open(self, token: str, service: str | None = None, client: str = "unknown") -> InsightsPage:
        """The page for the user `token` names: LinkRefused or PermissionDenied (audited, up
        to a client address's limit: then RateLimited, and a summary row a minute)."""
        try:
            granted = read_token(self.key, token, INSIGHTS, self.clock.now().timestamp())
        except LinkRefused as e:
            why = f"{e}; from {client}"
            self.refusals.refused(
                client,
                lambda: self._deny("link", why),
                lambda said: self._deny("link", said),
            )
            raise
        self._check(granted.user)
        until = self.clock.now()
        since = until - timedelta(weeks=WEEKS)
        changes = self.changes(since)
        return InsightsPage(
            granted.user,
            since,
            until,
            numbers(changes, until - WINDOW, until, service),
            weekly(changes, since, until, service),
            service,
        )

    def team(self) -> TeamNumbers | None:
        """The four numbers of the last 30 days (None without a SQL store), kept a minute."""
        now = self.clock.now()
        with self._lock:
            if self._home is not None and now.timestamp() - self._home[0] < HOME_EVERY:
                return self._home[1]
            got = None
            if self.history is not None:
                got = _team(numbers(self.changes(now - WINDOW), now - WINDOW, now))
            self._home = (now.timestamp(), got)
            return got

    def _check(self, user: str) -> None:
        allowed = set(self.config.policies.insights_roles)
        if not self.roles.of(user) & allowed:
            why = f"only {', '.join(sorted(allowed))} may see the team's numbers"
            self._deny(user, why)
            raise PermissionDenied(why)

    def _deny(self, actor: str, why: str) -> None:
        with self.tx() as t:
            t.audit.append(AuditEvent(self.clock.now(), actor, "denied.insights", detail=why))
            t.commit()


def _team(got: dict[str, object]) -> TeamNumbers:
    df, lead, cfr, ttr = (
        got["deployment_frequency"],
        got["lead_time"],
        got["change_failure_rate"],
        got["time_to_restore"],
    )
    assert isinstance(df, dict) and isinstance(lead, dict)
    assert isinstance(cfr, dict) and isinstance(ttr, dict)
    return TeamNumbers(
        df["count"],
        df["per_day"],
        lead["p50_s"],
        cfr["rate"],
        cfr["failed"],
        cfr["total"],
        ttr["p50_s"],
    )
