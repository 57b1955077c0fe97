"""Block Kit for prompts: the messages in a run's thread whose buttons wait on people (a
person's step, a gate, an escalation's answers). Each also offers Cancel, and each is
recorded so its buttons are replaced when the run ends."""

from __future__ import annotations

from chatops.engine.domain.run import RunView
from chatops.engine.planning.plan import PlannedStep
from chatops.slack.views.blocks import (
    A_CLOSE_ESCALATION,
    A_DONE,
    A_GATE,
    A_TAKE_OVER,
    Block,
    button,
    cancel_button,
    confirm,
    escape,
    section,
)


def waiting_blocks(run: RunView, step: PlannedStep) -> list[Block]:
    value = f"{run.id}:{step.id}"
    if step.kind == "gate":
        text = (
            f":raised_hand: *{escape(step.title)}* waits for approval by {', '.join(step.roles)}."
        )
        el = button(
            "Approve step",
            A_GATE,
            value,
            "primary",
            confirm("Approve this step?", f"Run #{run.id} goes on past `{step.id}`.", "Approve"),
        )
    else:
        who = f" ({step.role})" if step.role else ""
        text = f":bust_in_silhouette: *{escape(step.title)}*{who}: do it, then mark it done."
        el = button(
            "Mark done",
            A_DONE,
            value,
            "primary",
            confirm(
                "Mark this step done?",
                f"`{step.id}`: {step.title}. Run #{run.id} goes on with its next step.",
                "Mark done",
            ),
        )
    return [
        section(text),
        {
            "type": "actions",
            "block_id": f"wait:{run.id}:{step.id}",
            "elements": [el, cancel_button(run)],
        },
    ]


def escalation_blocks(text: str, run: RunView) -> list[Block]:
    """Process 4: the Architect answers an escalation in the thread."""
    return [
        section(text),
        {
            "type": "actions",
            "block_id": f"escalation:{run.id}",
            "elements": [
                button(
                    "Take over (fix plan)",
                    A_TAKE_OVER,
                    str(run.id),
                    "primary",
                    confirm(
                        "Take this problem over?",
                        "A form opens for the fix plan; the diagnosis ends when it is planned.",
                        "Take over",
                    ),
                ),
                button("Close with a reason", A_CLOSE_ESCALATION, str(run.id)),
                cancel_button(run),
            ],
        },
    ]


def taken_over_blocks(text: str, run: RunView) -> list[Block]:
    """Process 4, taken over: the escalation stays open until the fix plan exists; its form
    opens again from here (a form closed unsubmitted loses nothing)."""
    return [
        section(text),
        {
            "type": "actions",
            "block_id": f"escalation:{run.id}",
            "elements": [
                button("Write the fix plan", A_TAKE_OVER, str(run.id), "primary"),
                button("Close with a reason", A_CLOSE_ESCALATION, str(run.id)),
                cancel_button(run),
            ],
        },
    ]
