"""The plan message: what a lead approves, within Slack's limits (the steps that do not fit
in one message go in the thread), and its fallback text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chatops.engine.approvals.approvers import approval_said
from chatops.engine.domain.run import RunState, RunView
from chatops.engine.planning.drift import facts_said
from chatops.engine.planning.plan import Plan, PlannedStep
from chatops.engine.planning.policy import Verdict
from chatops.engine.planning.starts import starts_said
from chatops.slack.views.blocks import (
    A_ANSWER,
    A_APPROVE,
    A_REJECT,
    CMD_MAX,
    HOSTS_SHOWN,
    MAX_BLOCKS,
    PLAN_TEXT_MAX,
    SECTION_MAX,
    Block,
    button,
    code,
    context,
    cut,
    escape,
    packed,
    requested_by,
    section,
    view_button,
)


def _commands(step: PlannedStep) -> str:
    if step.http is not None:
        return f"GET {step.http.url} → expect {step.http.expect_status}"
    if not step.commands:
        return ""
    same = len({c.command for c in step.commands}) == 1
    if same:
        hosts = ", ".join(c.host for c in step.commands[:HOSTS_SHOWN])
        more = len(step.commands) - HOSTS_SHOWN
        hosts += f" +{more} more" if more > 0 else ""
        return f"{hosts}$ {cut(step.commands[0].command, CMD_MAX)}"
    lines = [f"{c.host}$ {cut(c.command, CMD_MAX)}" for c in step.commands[:HOSTS_SHOWN]]
    if len(step.commands) > HOSTS_SHOWN:
        lines.append(f"… and {len(step.commands) - HOSTS_SHOWN} more hosts")
    return "\n".join(lines)


KIND_LABEL = {
    "manual": "person",
    "ssh": "ssh",
    "check": "check",
    "gate": "approval",
    "pause": "pause",
}


def step_text(i: int, step: PlannedStep) -> str:
    who = f" · {step.role}" if step.role else ""
    who = f" · {', '.join(step.roles)}" if step.roles else who
    head = f"*{i}. {escape(step.title)}*  `{KIND_LABEL[step.kind]}`{who}"
    cmds = _commands(step)
    if step.rollback:
        cmds += f"\n↩ rollback: {cut(step.rollback[0].command, 200)}"
    return head + (f"\n{code(cmds.strip())}" if cmds.strip() else "")


def _unanswered(plan: Plan, run: RunView) -> list[Block]:
    """No Approve until the required planning questions are answered: the way to answer."""
    asks = "\n".join(f"• {escape(plan.questions.get(q, q))}" for q in plan.unanswered())
    example = " ".join(f"{q}=…" for q in plan.unanswered()[:3])
    return [
        section(
            ":question: *Not ready for approval:* the requester answers these planning "
            f"questions first (each answer makes a new version of the plan):\n{asks}"
        ),
        {
            "type": "actions",
            "block_id": f"answer:{run.id}",
            "elements": [
                button("Answer the questions", A_ANSWER, str(run.id), "primary"),
                button("Reject", A_REJECT, f"{run.id}:{plan.sha256}", "danger"),
            ],
        },
        context(f"or type `/change edit {run.id} {example}`"),
    ]


def plan_blocks(plan: Plan, verdict: Verdict, run: RunView, **shown: Any) -> list[Block]:
    """The plan message (the steps that fit in it; `plan_parts` also gives the rest)."""
    return plan_parts(plan, verdict, run, **shown)[0]


def text_size(node: Any) -> int:
    """The characters of text in blocks, as Slack counts them against a message's total."""
    if isinstance(node, dict):
        return sum(
            len(v) if k == "text" and isinstance(v, str) else text_size(v) for k, v in node.items()
        )
    if isinstance(node, list):
        return sum(text_size(x) for x in node)
    return 0


def plan_parts(
    plan: Plan,
    verdict: Verdict,
    run: RunView,
    *,
    approvers: Sequence[str] = (),
    status_line: str | None = None,
    freezes: Sequence[str] = (),
    approval: str = "",
    needs: str = "",
) -> tuple[list[Block], list[list[Block]]]:
    """The plan message, and the thread replies that carry the steps it has no room for: a
    message whose blocks hold more than about 12,000 characters is refused by Slack
    (`msg_blocks_too_long`), so the message keeps to `PLAN_TEXT_MAX` and its buttons."""
    head = _head(plan, approval)
    tail = _verdict(plan, verdict, freezes)
    if run.state == RunState.AWAITING_APPROVAL and verdict.ok and plan.unanswered():
        tail.extend(_unanswered(plan, run))
    elif run.state == RunState.AWAITING_APPROVAL and verdict.ok:
        tail.extend(_decision(plan, run, approvers, needs))
    elif status_line:
        tail.append(section(status_line))
    tail.append({"type": "actions", "block_id": f"view:{run.id}", "elements": [view_button(run)]})
    tail.append(context(f"plan `{plan.task_id}` · sha256 `{plan.short_hash}` · run #{run.id}"))
    room = PLAN_TEXT_MAX - text_size(head) - text_size(tail) - 200
    middle, replies = _steps(plan, room, MAX_BLOCKS - len(head) - len(tail) - 1)
    return head + middle + tail, replies


def _where(plan: Plan) -> str:
    return f"{plan.service} / {plan.environment}" if plan.service else ""


def _head(plan: Plan, approval: str) -> list[Block]:
    """What is asked: the title, who asked, the process, where, the approval it needs, the
    parameters, when it starts, the request's words and its planning answers."""
    blocks: list[Block] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": cut(f"{plan.title}: {_where(plan)}", 150)},
        },
    ]
    fields = [
        f"*Requested by*\n{requested_by(plan)}",
        "*Process*\n"
        + (":rotating_light: " if plan.kind == "hotfix" else "")
        + plan.runbook
        + (f" ({plan.kind})" if plan.kind != plan.runbook else ""),
        f"*Service*\n{plan.service or '-'}",
        f"*Environment*\n{plan.environment or '-'}",
        f"*Approval*\n{escape(approval or approval_said(plan, plan.approval.quorum))}",
        "*Parameters*\n"
        + (escape(", ".join(f"{k}={v}" for k, v in sorted(plan.params.items()))) or "-"),
    ]
    blocks.append(
        {"type": "section", "fields": [{"type": "mrkdwn", "text": cut(f, 2000)} for f in fields]}
    )
    if plan.start is not None:
        blocks.append(
            section(
                f":alarm_clock: *Starts* at {starts_said(plan.start)}: approved before, it "
                "waits until then (freezes and approvals are checked again when it starts)."
            )
        )
    if plan.request:
        blocks.append(section(f"*Request*\n{escape(plan.request)}"))
    if plan.requester.startswith("agent:") and plan.objective != plan.request:
        blocks.append(section(f"*Objective*\n{escape(plan.objective)}"))
    if plan.requester.startswith("agent:") and plan.validation:
        checks = "\n".join(f"• {escape(v)}" for v in plan.validation[:10])
        blocks.append(section(f"*Validation*\n{checks}"))
    if plan.questions:
        answers = [
            f"*{escape(q)}*\n"
            + (escape(plan.answers[k]) if plan.answers.get(k) else "_not answered_")
            for k, q in plan.asked()
        ]
        blocks.extend(packed(answers, 3))
    blocks.append({"type": "divider"})
    return blocks


def _verdict(plan: Plan, verdict: Verdict, freezes: Sequence[str]) -> list[Block]:
    """The rollback, the freezes it may pass, the policy's verdict, the hosts as read."""
    blocks: list[Block] = []
    if plan.rollback:
        blocks.append(context("On failure: " + "; ".join(escape(s.title) for s in plan.rollback)))
    blocks.append({"type": "divider"})
    for f in freezes[:3]:
        blocks.append(context(f":snowflake: {escape(f)} (this process may run)"))
    if verdict.ok:
        blocks.append(section(":white_check_mark: *Policy:* this plan follows the process."))
    else:
        reasons = "\n".join(f"• {escape(r)}" for r in verdict.reasons)
        blocks.append(section(f":no_entry: *Refused by policy:*\n{reasons}"))
    as_read = facts_said(plan.facts)  # what approving it approves, as read when it was made
    if as_read:
        unknown = any("facts unknown" in s for s in as_read)
        mark = ":warning: *Facts unknown:* " if unknown else ":mag: *Hosts as shown:* "
        blocks.append(context(mark + escape("; ".join(as_read))[:2900]))
    return blocks


def _decision(plan: Plan, run: RunView, approvers: Sequence[str], needs: str) -> list[Block]:
    """Approve (confirmed, naming what it approves) and Reject, and who is still needed."""
    value = f"{run.id}:{plan.sha256}"
    params = ", ".join(f"{k}={v}" for k, v in sorted(plan.params.items()))
    confirm = {
        "title": {"type": "plain_text", "text": cut(f"Approve run #{run.id}?", 100)},
        "text": {
            "type": "mrkdwn",
            "text": cut(
                f"Run #{run.id}, {escape(plan.title)} on *{_where(plan)}* ({escape(params)}), "
                f"plan `{plan.short_hash}`, will run on the servers.",
                300,
            ),
        },
        "confirm": {"type": "plain_text", "text": "Approve"},
        "deny": {"type": "plain_text", "text": "Not yet"},
    }
    blocks: list[Block] = [
        {
            "type": "actions",
            "block_id": f"plan:{run.id}",
            "elements": [
                button("Approve", A_APPROVE, value, "primary", confirm),
                button("Reject", A_REJECT, value, "danger"),
            ],
        }
    ]
    if needs:  # who is still needed, named, and who approved
        blocks.append(context(escape(needs)))
    elif approvers:
        blocks.append(context("Approved so far by " + ", ".join(f"<@{u}>" for u in approvers)))
    return blocks


def _steps(plan: Plan, room: int, budget: int) -> tuple[list[Block], list[list[Block]]]:
    """The steps that fit in `room` characters (and `budget` blocks) of the message, and
    the thread replies that carry the rest (each within the same total)."""
    steps = [step_text(i, s) for i, s in enumerate(plan.steps, 1)]
    shown = 0
    used = 0
    while shown < len(steps) and used + len(cut(steps[shown], SECTION_MAX)) + 1 <= room:
        used += len(cut(steps[shown], SECTION_MAX)) + 1
        shown += 1
    middle = packed(steps[:shown], budget)
    rest = steps[shown:]
    if rest:
        middle.append(
            context(
                f":scroll: Steps {shown + 1}-{len(steps)} are in the thread: the whole plan "
                "is too long for one Slack message. The buttons approve all of it."
            )
        )
    replies: list[list[str]] = []
    size = 0
    for t in rest:
        if not replies or size + len(t) + 1 > PLAN_TEXT_MAX - 500:
            replies.append([])
            size = 0
        replies[-1].append(t)
        size += len(cut(t, SECTION_MAX)) + 1
    return middle, [packed(chunk, MAX_BLOCKS) for chunk in replies]


def plan_fallback(plan: Plan, run: RunView) -> str:
    where = f"{plan.service}/{plan.environment}" if plan.service else ""
    return cut(
        f"Plan for {plan.title} {where} by {requested_by(plan)} (run #{run.id}, {run.state.value})",
        3000,
    )
