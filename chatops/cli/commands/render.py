"""Plain-text renderings of plans, runs and audit trails for the terminal."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from chatops.engine.domain.run import AuditEvent, RunView, StepRecord
from chatops.engine.planning.drift import facts_said

if TYPE_CHECKING:
    from chatops.engine.planning.plan import Plan
    from chatops.engine.planning.policy import Verdict

KIND_MARK = {"manual": "person", "ssh": "ssh", "check": "check", "gate": "gate", "pause": "pause"}


def plan_text(plan: Plan, verdict: Verdict, run: RunView | None = None) -> str:
    lines = [
        f"{plan.title}  [{plan.kind}]  plan {plan.task_id}  sha256 {plan.short_hash}",
        f"  requested by {plan.requester}"
        + (f"  service {plan.service} / {plan.environment}" if plan.service else ""),
    ]
    if plan.params:
        lines.append(
            "  parameters: " + ", ".join(f"{k}={v}" for k, v in sorted(plan.params.items()))
        )
    if plan.request:
        lines.append(f"  request: {plan.request}")
    if plan.start is not None:
        from chatops.engine.planning.starts import starts_said

        lines.append(f"  starts at {starts_said(plan.start)} (approved before, it waits)")
    for qid, ask in plan.asked():
        shown = plan.answers.get(qid) or (
            "(NOT ANSWERED: required before approval)"
            if qid in plan.unanswered()
            else "(not answered)"
        )
        lines.append(f"  {ask} [{qid}]: {shown}")
    # the approval's words need the config's models (pydantic): a plan is shown by `show`
    # and `plan`, not by `runs` or `audit`, which start without them
    from chatops.engine.approvals.approvers import approval_said

    lines.append(f"  approval: {approval_said(plan, plan.approval.quorum)}")
    for said in facts_said(plan.facts):  # what approving it approves, as read when made
        lines.append(f"  hosts as shown: {said}")
    lines.append("")
    for i, s in enumerate(plan.steps, 1):
        who = f" ({s.role})" if s.role else ""
        lines.append(f"  {i:>2}. [{KIND_MARK[s.kind]}] {s.title}{who}")
        for hc in s.commands:
            lines.append(f"        {hc.host}$ {hc.command}")
        if s.http:
            lines.append(f"        GET {s.http.url} -> expect {s.http.expect_status}")
        for hc in s.rollback:
            lines.append(f"        rollback {hc.host}$ {hc.command}")
    if plan.rollback:
        lines.append("  on failure:")
        for s in plan.rollback:
            lines.append(f"      - {s.title}")
            lines.extend(f"        {hc.host}$ {hc.command}" for hc in s.commands)
    lines.append("")
    if verdict.ok:
        lines.append("  policy: ok")
    else:
        lines.append("  policy: REFUSED")
        lines.extend(f"    - {r}" for r in verdict.reasons)
    if plan.unanswered():
        flags = " ".join(f"--answer {q}=..." for q in plan.unanswered())
        lines.append(
            f"  not ready for approval: answer {', '.join(plan.unanswered())} first ({flags}"
            + (
                f"; or chatops edit {run.id} {plan.unanswered()[0]}=... --as {run.requester}"
                if run
                else ""
            )
            + ")"
        )
    if run is not None:
        lines.append(f"  run #{run.id}: {run.state.value}")
    return "\n".join(lines)


def runs_table(runs: list[RunView]) -> str:
    rows = [("RUN", "STATE", "PROCESS", "SERVICE", "ENV", "REQUESTER", "STEP", "CREATED")]
    for r in runs:
        rows.append(
            (
                str(r.id),
                r.state.value + (" (hotfix)" if r.is_hotfix else ""),
                r.runbook,
                r.service or "-",
                r.environment or "-",
                r.requester,
                r.current_step or "-",
                r.created_at.strftime("%Y-%m-%d %H:%M"),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def steps_text(steps: list[StepRecord]) -> str:
    """Each step once: a step run on one host (or by a person) in one line; a step over
    several hosts as its summary, then a line per host."""
    groups: dict[tuple[str, str], list[StepRecord]] = {}
    for s in steps:
        groups.setdefault((s.phase, s.step_id), []).append(s)
    out: list[str] = []
    for (phase, step_id), records in groups.items():
        summary = next((r for r in records if not r.host), None)
        hosts = [r for r in records if r.host]
        if len(hosts) == 1 and (summary is None or summary.state == hosts[0].state):
            out += _step_lines(hosts[0], f"  [{phase}] {step_id}@{hosts[0].host}", "      ")
            if summary is not None and summary.error and summary.error != hosts[0].error:
                out.append(f"      {summary.error}")
            continue
        if summary is not None:
            out += _step_lines(summary, f"  [{phase}] {step_id}", "      ")
        for r in hosts:
            out += _step_lines(r, f"      on {r.host}", "        ")
    return "\n".join(out)


def _step_lines(s: StepRecord, head: str, indent: str) -> list[str]:
    code = f" {s.code}" if s.code else ""
    who = f" by {s.actor}" if s.actor else ""
    lines = [f"{head}: {s.state.value}{code}{who}"]
    if s.error:
        lines.append(f"{indent}{s.error}")
    if s.tail and s.host:
        lines.append(textwrap.indent(s.tail.rstrip()[-1500:], f"{indent}| "))
    return lines


def audit_text(events: list[AuditEvent]) -> str:
    return "\n".join(
        f"{e.at.isoformat()}  {e.actor:<12} {e.action:<22} {e.detail}"
        + (f"  plan {e.plan_hash[:10]}" if e.plan_hash else "")
        for e in events
    )
