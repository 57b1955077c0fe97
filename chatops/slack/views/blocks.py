"""Pure functions from plans and runs to Block Kit, within Slack's limits.

Limits kept here: 50 blocks per message, 3000 characters per section text, 150 per header,
2000 per button value, 255 per action_id, 10 fields per section (2000 characters each).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from chatops.engine.domain.run import RunState, RunView, StepRecord, StepState
from chatops.engine.planning.plan import Plan
from chatops.engine.planning.starts import starts_said

Block = dict[str, Any]
MAX_BLOCKS = 50
SECTION_MAX = 3000
PLAN_TEXT_MAX = 10_000  # the plan message's text in all; Slack refuses ~12k
CMD_MAX = 400
HOSTS_SHOWN = 3

A_APPROVE = "chatops.approve"
A_REJECT = "chatops.reject"
A_ANSWER = "chatops.answer"
A_DONE = "chatops.done"
A_GATE = "chatops.gate"
A_CANCEL = "chatops.cancel"
A_VIEW = "chatops.view"  # a personal link to the run's web page, answered privately
A_INSIGHTS = "chatops.insights"  # a personal link to the team's numbers (the App Home's)
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


def view_button(run: RunView) -> dict[str, Any]:
    """View run: answered to the clicker alone with a link made for them (never public)."""
    return button("View run", A_VIEW, str(run.id))


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


def packed(texts: Sequence[str], budget: int) -> list[Block]:
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


def status_word(run: RunView, plan: Plan, now: datetime | None) -> str:
    """The run's state as its status message says it: "scheduled" for one approved to start
    later, not yet due."""
    later = plan.start is not None and run.state == RunState.QUEUED
    if later and now is not None and run.not_before is not None and run.not_before > now:
        return "scheduled"
    return run.state.value


def status_blocks(
    run: RunView,
    plan: Plan,
    records: Sequence[StepRecord],
    live: str = "",
    now: datetime | None = None,
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
    said = status_word(run, plan, now).replace("_", " ")
    later = said == "scheduled"
    head = f"{':alarm_clock:' if later else RUN_EMOJI.get(run.state, '')} *Run #{run.id}: {said}*"
    if run.is_hotfix:
        head += "  :rotating_light: hotfix"
    blocks: list[Block] = [section(head)]
    if later and plan.start is not None:
        blocks.append(section(f"Starts at {starts_said(plan.start, now)}."))
    blocks.extend(packed(lines, 20))
    if live and run.state == RunState.RUNNING:
        blocks.append(
            section(f"*{escape(run.current_step or '')}* (live)\n{code(cut_head(live, 1500))}")
        )
    if run.error and run.state != RunState.RUNNING:
        blocks.append(context(escape(run.error)))
    cancellable = run.state in (RunState.RUNNING, RunState.QUEUED)
    blocks.append(
        {
            "type": "actions",
            "block_id": f"run:{run.id}",
            "elements": [*([cancel_button(run)] if cancellable else []), view_button(run)],
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


def summary_text(run: RunView, plan: Plan, records: Sequence[StepRecord], course: str = "") -> str:
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
    if course:  # more than started and ended: how it went
        parts.append(f"*Course:* {escape(course)}")
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
