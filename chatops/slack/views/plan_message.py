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
    where = f"{plan.service} / {plan.environment}" if plan.service else ""
    blocks: list[Block] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": cut(f"{plan.title}: {where}", 150)},
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
    head, blocks = blocks, []
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
    if run.state == RunState.AWAITING_APPROVAL and verdict.ok and plan.unanswered():
        blocks.extend(_unanswered(plan, run))
    elif run.state == RunState.AWAITING_APPROVAL and verdict.ok:
        value = f"{run.id}:{plan.sha256}"
        params = ", ".join(f"{k}={v}" for k, v in sorted(plan.params.items()))
        confirm = {
            "title": {"type": "plain_text", "text": cut(f"Approve run #{run.id}?", 100)},
            "text": {
                "type": "mrkdwn",
                "text": cut(
                    f"Run #{run.id}, {escape(plan.title)} on *{where}* ({escape(params)}), "
                    f"plan `{plan.short_hash}`, will run on the servers.",
                    300,
                ),
            },
            "confirm": {"type": "plain_text", "text": "Approve"},
            "deny": {"type": "plain_text", "text": "Not yet"},
        }
        blocks.append(
            {
                "type": "actions",
                "block_id": f"plan:{run.id}",
                "elements": [
                    button("Approve", A_APPROVE, value, "primary", confirm),
                    button("Reject", A_REJECT, value, "danger"),
                ],
            }
        )
        if needs:  # who is still needed, named, and who approved
            blocks.append(context(escape(needs)))
        elif approvers:
            blocks.append(context("Approved so far by " + ", ".join(f"<@{u}>" for u in approvers)))
    elif status_line:
        blocks.append(section(status_line))
    blocks.append({"type": "actions", "block_id": f"view:{run.id}", "elements": [view_button(run)]})
    blocks.append(context(f"plan `{plan.task_id}` · sha256 `{plan.short_hash}` · run #{run.id}"))
    steps = [step_text(i, s) for i, s in enumerate(plan.steps, 1)]
    room = PLAN_TEXT_MAX - text_size(head) - text_size(blocks) - 200
    shown = 0
    used = 0
    while shown < len(steps) and used + len(cut(steps[shown], SECTION_MAX)) + 1 <= room:
        used += len(cut(steps[shown], SECTION_MAX)) + 1
        shown += 1
    middle = packed(steps[:shown], MAX_BLOCKS - len(head) - len(blocks) - 1)
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
    for t in rest:  # each reply within the same total
        if not replies or size + len(t) + 1 > PLAN_TEXT_MAX - 500:
            replies.append([])
            size = 0
        replies[-1].append(t)
        size += len(cut(t, SECTION_MAX)) + 1
    return head + middle + blocks, [packed(chunk, MAX_BLOCKS) for chunk in replies]


def plan_fallback(plan: Plan, run: RunView) -> str:
    where = f"{plan.service}/{plan.environment}" if plan.service else ""
    return cut(
        f"Plan for {plan.title} {where} by {requested_by(plan)} (run #{run.id}, {run.state.value})",
        3000,
    )
