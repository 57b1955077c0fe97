"""A run's course as a person says it, from its audit trail: "interrupted at step migrate
(the process running it died), resumed by bob, succeeded". Shown where a run's end alone
would mislead (a resumed run that succeeded once carried the error of its interruption)."""

from __future__ import annotations

import re

from chatops.engine.domain.run import AuditEvent, RunView

__all__ = ["course"]

_STEP = re.compile(r"(?:at|from) step (\S+?)[;:,]?(?:\s|$)")


def _step(detail: str) -> str:
    found = _STEP.search(detail)
    return found.group(1) if found else ""


def _said(e: AuditEvent) -> str | None:
    step = _step(e.detail)
    at = f" at step {step}" if step else ""
    if e.action == "run.interrupted":
        cause = e.detail.rsplit("; ", 1)[-1] if "; " in e.detail else ""
        return f"interrupted{at}" + (f" ({cause})" if cause and cause != e.detail else "")
    if e.action == "run.resumed":
        return f"resumed by {e.actor}{' from step ' + step if step else ''}"
    if e.action == "run.rollback_requested":
        return f"rolled back as {e.actor} asked"
    if e.action == "run.taken_over":
        return f"taken over{at} by a live worker (its worker had died)"
    if e.action == "run.held":
        return f"held by the freeze {e.detail}" if e.detail else "held by a freeze"
    return None


def course(run: RunView, trail: list[AuditEvent]) -> str:
    """The run's course, when it was more than started and ended; "" when it was not."""
    moments = [said for e in trail if (said := _said(e)) is not None]
    if not moments:
        return ""
    if run.state.is_terminal:
        moments.append(run.state.value.replace("_", " "))
    return ", ".join(moments)
