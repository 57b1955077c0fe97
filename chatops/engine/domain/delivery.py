"""The team's delivery numbers (the DORA four, and how long the gate takes), from the runs
and their audit rows: pure, so the CLI, the page and the metrics say the same.

- deployment frequency: deploying runs (deploy, migration, hotfix) that succeeded, a day;
- lead time for changes: a deploying run's request to its success (its validation passed:
  a run succeeds only when every check does);
- change failure rate: deploying runs that failed or rolled back, or were followed by a
  hotfix of the same service within 24 h, over the deploying runs that ended;
- time to restore: a hotfix's request to its success;
- time to approve: a plan's request to its quorum (the run queued), p50 and p90;
- time waiting on people: a manual step or a gate mid-run, from the run reaching it to the
  person saying done or approving it, p50 and p90.
Each overall and by service, by process and by requester kind (person or agent); `weekly`
gives the series the insights page draws.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from chatops.engine.domain.agent_rules import is_agent
from chatops.engine.domain.run import AuditEvent, RunState, RunView

__all__ = [
    "DEPLOYING",
    "FAILED",
    "FOLLOWED_WITHIN",
    "Change",
    "changes_of",
    "numbers",
    "percentile",
    "time_to_approve",
    "weekly",
]

DEPLOYING = frozenset({"deploy", "migration", "hotfix"})
FOLLOWED_WITHIN = timedelta(hours=24)  # a hotfix this soon after a deploy marks it failed
FAILED = {RunState.FAILED, RunState.ROLLED_BACK}


@dataclass(frozen=True)
class Change:
    run_id: int
    process: str
    kind: str
    service: str | None
    requester: str
    state: RunState
    requested_at: datetime
    approved_at: datetime | None
    ended_at: datetime | None
    waits: tuple[float, ...] = ()  # seconds each of its people's steps waited for them

    @property
    def requester_kind(self) -> str:
        return "agent" if is_agent(self.requester) else "person"


def changes_of(runs: Iterable[RunView], audit: Iterable[AuditEvent]) -> list[Change]:
    """Each run with when it was approved (queued), when it ended and how long its people's
    steps waited, from its audit rows."""
    approved: dict[int, datetime] = {}
    ended: dict[int, datetime] = {}
    reached: dict[tuple[int, str], datetime] = {}  # a people's step the run waits at
    waits: dict[int, list[float]] = {}
    for e in audit:
        if e.run_id is None:
            continue
        if e.action == "run.queued":
            approved.setdefault(e.run_id, e.at)
        elif e.action in ("run.succeeded", "run.failed", "run.rolled_back"):
            ended[e.run_id] = e.at
        elif e.action == "step.waiting":
            reached[(e.run_id, e.detail)] = e.at
        elif e.action in ("step.done", "gate.approved"):
            step = e.detail.split(":", 1)[0].strip()
            since = reached.pop((e.run_id, step), None)
            if since is not None:
                waits.setdefault(e.run_id, []).append((e.at - since).total_seconds())
    return [
        Change(
            r.id,
            r.runbook,
            r.kind,
            r.service,
            r.requester,
            r.state,
            r.created_at,
            approved.get(r.id),
            ended.get(r.id),
            tuple(waits.get(r.id, ())),
        )
        for r in runs
    ]


def time_to_approve(run: RunView, audit: Iterable[AuditEvent]) -> float | None:
    """Seconds from the run's request to its quorum (its first `run.queued`), or None."""
    for e in audit:
        if e.run_id == run.id and e.action == "run.queued":
            return max(0.0, (e.at - run.created_at).total_seconds())
    return None


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0-100) by nearest rank; None of no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]


def _spread(seconds: list[float]) -> dict[str, float | int | None]:
    return {"n": len(seconds), "p50_s": percentile(seconds, 50), "p90_s": percentile(seconds, 90)}


def _four(changes: list[Change], everything: list[Change], days: float) -> dict[str, object]:
    deploying = [c for c in changes if c.kind in DEPLOYING]
    shipped = [c for c in deploying if c.state == RunState.SUCCEEDED and c.ended_at]
    hotfixes = [c for c in everything if c.kind == "hotfix"]

    def followed(c: Change) -> bool:
        return c.kind != "hotfix" and any(
            h.service == c.service
            and c.ended_at is not None
            and c.ended_at < h.requested_at <= c.ended_at + FOLLOWED_WITHIN
            for h in hotfixes
        )

    ended = [c for c in deploying if c.state in FAILED or (c.state == RunState.SUCCEEDED)]
    failed = [c for c in ended if c.state in FAILED or followed(c)]
    lead = [
        (c.ended_at - c.requested_at).total_seconds() for c in shipped if c.ended_at is not None
    ]
    restore = [
        (c.ended_at - c.requested_at).total_seconds()
        for c in shipped
        if c.kind == "hotfix" and c.ended_at is not None
    ]
    approve = [
        (c.approved_at - c.requested_at).total_seconds()
        for c in changes
        if c.approved_at is not None
    ]
    waited = [w for c in changes for w in c.waits]
    return {
        "deployment_frequency": {
            "count": len(shipped),
            "per_day": round(len(shipped) / days, 3) if days > 0 else None,
        },
        "lead_time": _spread(lead),
        "change_failure_rate": {
            "failed": len(failed),
            "total": len(ended),
            "rate": round(len(failed) / len(ended), 3) if ended else None,
        },
        "time_to_restore": _spread(restore),
        "time_to_approve": _spread(approve),
        "time_waiting_on_people": _spread(waited),
    }


def numbers(
    changes: Sequence[Change], since: datetime, until: datetime, service: str | None = None
) -> dict[str, object]:
    """The numbers of the changes requested in [since, until) (of one service, if given):
    overall, and by service, by process and by requester kind."""
    window = _window(changes, since, until, service)
    days = (until - since).total_seconds() / 86400
    out = _four(window, list(changes), days)

    def by(key: str) -> dict[str, object]:
        groups: dict[str, list[Change]] = {}
        for c in window:
            groups.setdefault(str(getattr(c, key) or "-"), []).append(c)
        return {name: _four(group, list(changes), days) for name, group in sorted(groups.items())}

    out["since"] = since.isoformat()
    out["until"] = until.isoformat()
    out["by_service"] = by("service")
    out["by_process"] = by("process")
    out["by_requester_kind"] = by("requester_kind")
    return out


def weekly(
    changes: Sequence[Change], since: datetime, until: datetime, service: str | None = None
) -> list[dict[str, object]]:
    """The numbers a week at a time (weeks start on Monday, UTC), oldest first: what the
    insights page charts (lead time and time to approve over weeks)."""
    start = (since - timedelta(days=since.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    out: list[dict[str, object]] = []
    while start < until:
        end = start + timedelta(days=7)
        a, b = max(start, since), min(end, until)
        week = _window(changes, a, b, service)
        got = _four(week, list(changes), (b - a).total_seconds() / 86400)
        out.append({"week": start.date().isoformat(), **got})
        start = end
    return out


def _window(
    changes: Sequence[Change], since: datetime, until: datetime, service: str | None = None
) -> list[Change]:
    return [
        c
        for c in changes
        if since <= c.requested_at < until and (service is None or c.service == service)
    ]
