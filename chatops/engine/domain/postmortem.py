"""Post-mortems: every hotfix ends in one, with reminders until it is written (Process 7).

The truth is in the post-mortem's own record: when it is due, how many reminders were sent
and when, whether it is snoozed, whether the leads were told, whether it is done. A
reminder is claimed by a compare-and-set on the count before it is sent, so restarts and
several replicas never send one twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = ["QUESTIONS", "PostMortem", "add_business_days", "due_at", "markdown"]

QUESTIONS = (
    ("why", "Why did the problem happen?"),
    ("prevent", "How could it have been prevented?"),
    ("process", "What must change in the process?"),
    ("docs", "Which documentation was updated?"),
)


@dataclass(frozen=True)
class PostMortem:
    run_id: int
    service: str | None
    owners: tuple[str, ...]
    opened_at: datetime
    due_at: datetime
    reminders_sent: int = 0
    last_reminded_at: datetime | None = None
    snoozed_until: datetime | None = None
    escalated_at: datetime | None = None
    done_at: datetime | None = None
    author: str | None = None
    answers: dict[str, str] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.done_at is not None

    def next_reminder(self, every: timedelta) -> datetime:
        """When the next reminder is due (the due time first, then every `every`)."""
        base = self.due_at if self.last_reminded_at is None else self.last_reminded_at + every
        if self.snoozed_until is not None and self.snoozed_until > base:
            return self.snoozed_until
        return base

    def overdue(self, now: datetime) -> bool:
        return not self.done and now >= self.due_at


def add_business_days(start: datetime, days: int) -> datetime:
    """`days` working days later (Saturday and Sunday do not count)."""
    t = start
    left = days
    while left > 0:
        t += timedelta(days=1)
        if t.weekday() < 5:
            left -= 1
    return t


def due_at(opened: datetime, due: timedelta) -> datetime:
    """Whole days count as business days (the default '2d' is two working days)."""
    if due.seconds == 0 and due.days > 0:
        return add_business_days(opened, due.days)
    return opened + due


def markdown(pm: PostMortem, title: str, timeline: str) -> str:
    lines = [f"# Post-mortem: {title}", ""]
    lines.append(f"- Run: #{pm.run_id}" + (f" on {pm.service}" if pm.service else ""))
    lines.append(f"- Opened: {pm.opened_at:%Y-%m-%d %H:%M} UTC; due {pm.due_at:%Y-%m-%d %H:%M} UTC")
    if pm.done_at:
        lines.append(f"- Written by {pm.author} at {pm.done_at:%Y-%m-%d %H:%M} UTC")
    lines.append(f"- Owners: {', '.join(pm.owners)}")
    lines.append("")
    for key, question in QUESTIONS:
        lines += [f"## {question}", "", pm.answers.get(key, "").strip() or "_(not answered)_", ""]
    lines += ["## Timeline", "", "```", (pm.answers.get("timeline") or timeline).strip(), "```", ""]
    return "\n".join(lines)
