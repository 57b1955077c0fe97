"""Pure functions from plans and runs to Block Kit, within Slack's limits.

Limits kept here: 50 blocks per message, 3000 characters per section text, 150 per header,
2000 per button value, 255 per action_id, 10 fields per section (2000 characters each).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from chatops.engine.planning.plan import Plan, PlannedStep
from chatops.engine.planning.policy import Verdict
from chatops.engine.runs.run import RunState, RunView, StepRecord, StepState

Block = dict[str, Any]
MAX_BLOCKS = 50
SECTION_MAX = 3000
PLAN_TEXT_MAX = 10_000  # the plan message's text in all; Slack refuses ~12k
CMD_MAX = 400
HOSTS_SHOWN = 3

A_APPROVE = "chatops.approve"
A_REJECT = "chatops.reject"
A_DONE = "chatops.done"
A_GATE = "chatops.gate"
A_CANCEL = "chatops.cancel"
A_TAKE_OVER = "chatops.take_over"
A_CLOSE_ESCALATION = "chatops.close_escalation"

STATE_EMOJI = {
    StepState.PENDING: ":white_circle:",
    StepState.RUNNING: ":arrows_counterclockwise:",
    StepState.WAITING: ":hourglass_flowing_sand:",
    StepState.SUCCEEDED: ":white_check_mark:",
    StepState.FAILED: ":x:",
    StepState.SKIPPED: ":fast_forward:",
    StepState.CANCELLED: ":no_entry_sign:",
    StepState.INTERRUPTED: ":warning:",
}
RUN_EMOJI = {
    RunState.SUCCEEDED: ":white_check_mark:",
    RunState.FAILED: ":x:",
    RunState.ROLLED_BACK: ":leftwards_arrow_with_hook:",
    RunState.CANCELLED: ":no_entry_sign:",
    RunState.INTERRUPTED: ":warning:",
    RunState.RUNNING: ":arrows_counterclockwise:",
    RunState.QUEUED: ":hourglass:",
}


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cut_head(text: str, limit: int) -> str:
    """The end of `text` (output: its last lines and the end of a long line matter)."""
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


def escape_markup(text: str) -> str:
    """&, < and >: no mention (`<!channel>`, `<@U...>`), no link (`<https://x|Approve>`) can
    be made of them. Enough inside a code span or block, where nothing else renders."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_MARKERS = str.maketrans({"*": "\u2217", "~": "\u223c", "`": "\u02cb"})
_UNDERSCORE_EDGE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


def escape(text: str) -> str:
    """Text a person or an agent typed, shown in mrkdwn: it cannot mention, link or format.
    &, < and > are escaped; *, ~ and ` become look-alikes (a typed "*Approved by*" is not
    the bot's bold); an underscore at a word's edge too (snake_case is left as it is)."""
    inert = escape_markup(text).translate(_MARKERS)
    return _UNDERSCORE_EDGE.sub("\uff3f", inert)


_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")


def escape_message(text: str) -> str:
    """A message of ours (an error, a refusal) quoting what someone typed as Python quotes
    it ('...', as `!r` does): nothing in it can mention or link, and the quoted parts cannot
    format either; our own `code` and *bold* stay."""
    out, at = [], 0
    for m in _QUOTED.finditer(text):
        out += [escape_markup(text[at : m.start()]), escape(m.group(0))]
        at = m.end()
    return "".join([*out, escape_markup(text[at:])])


def code_span(text: str) -> str:
    """An inline code span of text typed by someone (nothing in it renders)."""
    return "`" + escape_markup(text).replace("`", "\u02cb") + "`"


def mention(user: str) -> str:
    """A person as Slack shows them; an agent (`agent:<name>`) by its name, with a robot."""
    if user.startswith("agent:"):
        return f":robot_face: {escape(user.removeprefix('agent:'))}"
    return f"<@{user}>"


def requested_by(plan: Plan) -> str:
    if plan.on_behalf_of:
        return f"{mention(plan.requester)} on behalf of <@{plan.on_behalf_of}>"
    return mention(plan.requester)


def code(text: str) -> str:
    return "```" + escape_markup(text).replace("```", "`\u200b``") + "```"


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION_MAX)}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(text, SECTION_MAX)}]}


def button(
    text: str,
    action_id: str,
    value: str,
    style: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    b: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": cut(text, 75)},
        "action_id": action_id[:255],
        "value": value[:2000],
    }
    if style:
        b["style"] = style
    if confirm:
        b["confirm"] = confirm
    return b


def confirm(title: str, text: str, yes: str, no: str = "Not yet") -> dict[str, Any]:
    """A button's confirmation dialog (Slack's limits: title 100, text 300, buttons 30)."""
    return {
        "title": {"type": "plain_text", "text": cut(title, 100)},
        "text": {"type": "mrkdwn", "text": cut(text, 300)},
        "confirm": {"type": "plain_text", "text": cut(yes, 30)},
        "deny": {"type": "plain_text", "text": cut(no, 30)},
    }


def cancel_button(run: RunView) -> dict[str, Any]:
    return button(
        "Cancel run",
        A_CANCEL,
        str(run.id),
        "danger",
        confirm(
            f"Cancel run #{run.id}?",
            "The run ends now: a running command is stopped on its hosts, "
            "and steps not yet started never run.",
            "Cancel the run",
        ),
    )


def when(t: datetime) -> str:
    return f"<!date^{int(t.timestamp())}^{{date_short_pretty}} {{time}}|{t:%Y-%m-%d %H:%M} UTC>"


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


def _packed(texts: Sequence[str], budget: int) -> list[Block]:
    """Join texts into as few sections as fit; never more than `budget` blocks."""
    blocks: list[Block] = []
    current = ""
    for t in texts:
        t = cut(t, SECTION_MAX)
        if current and len(current) + 1 + len(t) > SECTION_MAX:
            blocks.append(section(current))
            current = t
        else:
            current = f"{current}\n{t}" if current else t
    if current:
        blocks.append(section(current))
    if len(blocks) > budget:
        blocks = [
            *blocks[: budget - 1],
            context(f"… {len(blocks) - budget + 1} more sections of steps: see `chatops show`"),
        ]
    return blocks


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
        f"*Approval*\n{plan.approval.quorum} of {', '.join(plan.approval.roles)}"
        + (" (architect required)" if plan.approval.architect else "")
        + (f"\n_{escape(plan.approval_rule)}_" if plan.approval_rule else ""),
        "*Parameters*\n"
        + (escape(", ".join(f"{k}={v}" for k, v in sorted(plan.params.items()))) or "-"),
    ]
    blocks.append(
        {"type": "section", "fields": [{"type": "mrkdwn", "text": cut(f, 2000)} for f in fields]}
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
            for k, q in plan.questions.items()
        ]
        blocks.extend(_packed(answers, 3))
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
    if run.state == RunState.AWAITING_APPROVAL and verdict.ok:
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
        if approvers:
            blocks.append(context("Approved so far by " + ", ".join(f"<@{u}>" for u in approvers)))
    elif status_line:
        blocks.append(section(status_line))
    blocks.append(context(f"plan `{plan.task_id}` · sha256 `{plan.short_hash}` · run #{run.id}"))
    steps = [step_text(i, s) for i, s in enumerate(plan.steps, 1)]
    room = PLAN_TEXT_MAX - text_size(head) - text_size(blocks) - 200
    shown = 0
    used = 0
    while shown < len(steps) and used + len(cut(steps[shown], SECTION_MAX)) + 1 <= room:
        used += len(cut(steps[shown], SECTION_MAX)) + 1
        shown += 1
    middle = _packed(steps[:shown], MAX_BLOCKS - len(head) - len(blocks) - 1)
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
    return head + middle + blocks, [_packed(chunk, MAX_BLOCKS) for chunk in replies]


def plan_fallback(plan: Plan, run: RunView) -> str:
    where = f"{plan.service}/{plan.environment}" if plan.service else ""
    return cut(
        f"Plan for {plan.title} {where} by {requested_by(plan)} (run #{run.id}, {run.state.value})",
        3000,
    )


def status_blocks(
    run: RunView, plan: Plan, records: Sequence[StepRecord], live: str = ""
) -> list[Block]:
    summary = {r.step_id: r for r in records if r.host == "" and r.phase == "main"}
    lines = []
    for i, s in enumerate(plan.steps, 1):
        rec = summary.get(s.id)
        emoji = STATE_EMOJI[rec.state] if rec else STATE_EMOJI[StepState.PENDING]
        lines.append(f"{emoji} {i}. {escape(s.title)}")
    rollback = [r for r in records if r.phase == "rollback" and r.host == ""]
    for r in rollback:
        lines.append(f"{STATE_EMOJI[r.state]} rollback: {r.step_id}")
    head = f"{RUN_EMOJI.get(run.state, '')} *Run #{run.id}: {run.state.value.replace('_', ' ')}*"
    if run.is_hotfix:
        head += "  :rotating_light: hotfix"
    blocks: list[Block] = [section(head)]
    blocks.extend(_packed(lines, 20))
    if live and run.state == RunState.RUNNING:
        blocks.append(
            section(f"*{escape(run.current_step or '')}* (live)\n{code(cut_head(live, 1500))}")
        )
    if run.error and run.state != RunState.RUNNING:
        blocks.append(context(escape(run.error)))
    if run.state in (RunState.RUNNING, RunState.QUEUED):
        blocks.append(
            {
                "type": "actions",
                "block_id": f"run:{run.id}",
                "elements": [cancel_button(run)],
            }
        )
    return blocks


def step_finished_text(
    step_id: str,
    ok: bool,
    lines: Sequence[tuple[str, str, str]],
    phase: str,
    unknown: bool = False,
) -> str:
    """lines: (host, outcome/exit, tail). `unknown`: a host's connection was lost mid-command."""
    emoji = ":white_check_mark:" if ok else ":grey_question:" if unknown else ":x:"
    label = f"rollback `{step_id}`" if phase == "rollback" else f"`{step_id}`"
    said = "finished" if ok else "outcome unknown" if unknown else "failed"
    out = [f"{emoji} {label} {said}"]
    for host, result, tail in lines:
        out.append(f"*{escape(host)}*: {escape(result)}")
        if tail:
            out.append(code(tail))
    return cut("\n".join(out), SECTION_MAX)


#: Step purposes that change a server; a plan without them is a read-only diagnosis.
CHANGING = frozenset({"update", "install", "restart", "migrate", "datafix", "other"})


def summary_text(run: RunView, plan: Plan, records: Sequence[StepRecord]) -> str:
    """The Coder's report of the seed team: done, deploy, validation."""
    main = [r for r in records if r.host == "" and r.phase == "main"]
    ok = [r.step_id for r in main if r.state == StepState.SUCCEEDED]
    failed = [r.step_id for r in main if r.state == StepState.FAILED]
    checks = [s.id for s in plan.steps if s.kind == "check"]
    passed = [c for c in checks if c in ok]
    rolled = [r.step_id for r in records if r.phase == "rollback" and r.host == ""]
    state = run.state.value.replace("_", " ")
    head = f"{RUN_EMOJI.get(run.state, '')} *Run #{run.id} {state}*: {escape(plan.title)}"
    if plan.service:
        head += f" on {plan.service}/{plan.environment}"
    if plan.kind == "hotfix":
        head = f":rotating_light: *Hotfix* · {head}"
    if rolled:
        deploy = f"rolled back ({', '.join(rolled)})"
    else:
        deploy = "applied" if run.state == RunState.SUCCEEDED else "not completed"
    changes = any(s.is_machine and s.purpose in CHANGING for s in plan.steps)
    parts = [
        head,
        f"*Done:* {len(ok)} of {len(plan.steps)} steps"
        + (f"; failed: {', '.join(failed)}" if failed else ""),
        f"*Deploy:* {deploy}" if changes else "*Changes:* none (a diagnosis only reads)",
        f"*Validation:* {len(passed)} of {len(checks)} checks passed"
        + (f" ({', '.join(passed)})" if passed else ""),
    ]
    if run.error:
        parts.append(f"_{escape(run.error)}_")
    return cut("\n".join(parts), SECTION_MAX)


A_PM_WRITE = "chatops.pm_write"
A_PM_SNOOZE = "chatops.pm_snooze"


A_FIX_CODE = "chatops.fix_code"
A_FIX_CONFIG = "chatops.fix_config"
A_FIX_DATA = "chatops.fix_data"
A_ESCALATE = "chatops.escalate"


A_RESUME = "chatops.resume"
A_ROLLBACK = "chatops.rollback"
