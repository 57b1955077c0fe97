"""What happened to a run, as a person says it: its course, from its audit trail
("interrupted at step migrate (the process running it died), resumed by bob, succeeded"),
shown where a run's end alone would mislead; and why a step failed, each failed host named
("step pull failed on web-2: exit 1; web-3: name does not resolve")."""

from __future__ import annotations

import re

from chatops.engine.domain.run import AuditEvent, RunView, StepRecord, StepState

__all__ = ["course", "step_failure"]

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


def step_failure(records: list[StepRecord], step_id: str) -> str:
    """Why step `step_id` failed: each host whose last try did not succeed, and why."""
    mine = [r for r in records if r.step_id == step_id and r.phase == "main" and r.host]
    latest = {r.host: r for r in mine}  # a host's last try
    bad = [r for r in latest.values() if r.state != StepState.SUCCEEDED]
    if not bad:
        return f"step {step_id} failed"
    said = "; ".join(f"{r.host}: {_host_why(r)}" for r in bad[:5])
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    return f"step {step_id} failed on {said}{more}"[:1000]


def _host_why(r: StepRecord) -> str:
    """Why a host's step failed, in a few words: its error (without the host's name, said
    already), else its exit code, else its state."""
    if r.error:
        return r.error.split("): ", 1)[-1] if r.error.startswith(f"{r.host} (") else r.error
    return r.code or r.state.value
