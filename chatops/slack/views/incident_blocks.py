"""Block Kit for incidents: post-mortem reminders, a diagnosis's fix paths, an interrupted run."""

from __future__ import annotations

from collections.abc import Sequence

from chatops.engine.domain.run import RunView, StepRecord
from chatops.engine.planning.plan import Plan
from chatops.slack.views.blocks import (
    A_ESCALATE,
    A_FIX_CODE,
    A_FIX_CONFIG,
    A_FIX_DATA,
    A_PM_SNOOZE,
    A_PM_WRITE,
    A_RESUME,
    A_ROLLBACK,
    STATE_EMOJI,
    Block,
    button,
    cancel_button,
    confirm,
    cut,
    escape,
    section,
)


def postmortem_blocks(text: str, run_id: int, done: bool = False) -> list[Block]:
    blocks: list[Block] = [section(text)]
    if not done:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"pm:{run_id}",
                "elements": [
                    button("Write post-mortem", A_PM_WRITE, str(run_id), "primary"),
                    button("Snooze 1 day", A_PM_SNOOZE, str(run_id)),
                ],
            }
        )
    return blocks


def diagnosis_blocks(run: RunView, plan: Plan, records: Sequence[StepRecord]) -> list[Block]:
    """Process 4: the diagnosis at a glance (it stays; the fix paths are a prompt)."""
    summary = {r.step_id: r for r in records if r.host == "" and r.phase == "main"}
    lines = [f":stethoscope: *Diagnosis of {plan.service}/{plan.environment}*"]
    for s in plan.steps:
        rec = summary.get(s.id)
        if s.is_machine and rec is not None:
            lines.append(
                f"{STATE_EMOJI[rec.state]} {escape(s.title)}"
                + (f": {escape(cut(rec.error, 200))}" if rec.error else "")
            )
    return [section("\n".join(lines))]


FIX_PATHS = "Fix it by the kind of problem, or escalate to the Architect:"


def fix_path_blocks(run: RunView) -> list[Block]:
    """Process 4's three ways to fix, or escalate: a prompt, retired when the run ends."""
    value = str(run.id)
    return [
        section(FIX_PATHS),
        {
            "type": "actions",
            "block_id": f"fix:{run.id}",
            "elements": [
                button("Code: hotfix", A_FIX_CODE, value, "primary"),
                button("Configuration: update + restart", A_FIX_CONFIG, value),
                button("Data: fix with approval", A_FIX_DATA, value),
                button("Escalate to Architect", A_ESCALATE, value, "danger"),
            ],
        },
    ]


def interrupted_blocks(text: str, run: RunView) -> list[Block]:
    again = confirm(
        "Resume this run?",
        f"Step `{run.current_step}` will run again from its start. Check its hosts first.",
        "Resume",
    )
    back = confirm(
        "Roll this run back?",
        "The rollbacks of the steps that started run in reverse order, then the plan's own "
        "rollback. Check that the step's command is no longer running first.",
        "Roll back",
    )
    return [
        section(text),
        {
            "type": "actions",
            "block_id": f"resume:{run.id}",
            "elements": [
                button("Resume (lead)", A_RESUME, str(run.id), "primary", again),
                button("Roll back (lead)", A_ROLLBACK, str(run.id), "danger", back),
                cancel_button(run),
            ],
        },
    ]
