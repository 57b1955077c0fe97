"""Modal submissions: the /change form, the task import, the reject reason.

Planning is fast and local, so submissions are validated before the ack: a bad value shows
under its field in the form instead of a message elsewhere.
"""

from __future__ import annotations

import json
import re
from typing import Any

from slack_bolt import Ack, App

from chatops.engine.runs.commands import Import, Reject, Request, Revise
from chatops.errors import ChatopsError, ParameterError, PermissionDenied, TaskFormatError
from chatops.slack.listeners.services import SlackServices
from chatops.slack.views import modals


def _field_for(message: str, view: dict[str, Any], default: str) -> str:
    """The form field an error is about (a parameter it names), so Slack shows it there."""
    names = [
        str(b.get("block_id", "")).split(":", 1)[1]
        for b in view.get("blocks", [])
        if b.get("type") == "input" and str(b.get("block_id", "")).startswith("param:")
    ]
    for pattern in (r"\b{}=", r"\b{}\b"):  # "ref=…" named first, a mere mention after
        for name in names:
            if re.search(pattern.format(re.escape(name)), message):
                return f"param:{name}"
    return default


def register(app: App, s: SlackServices) -> None:
    @app.view(modals.CHANGE)
    def change(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        submit_change(s, ack, body, view)

    @app.view(modals.IMPORT)
    def import_(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        submit_import(s, ack, body, view)

    @app.view(modals.ANSWERS)
    def answers(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        submit_answers(s, ack, body, view)

    @app.view(modals.REJECT)
    def reject(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        submit_reject(s, ack, body, view)


def submit_change(s: SlackServices, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
    """The /change form: planned before the ack, so a bad value shows under its field."""
    user = body["user"]["id"]
    meta = modals.metadata(view)
    vals = modals.values(view)
    process = vals.get("process", "")
    params = {k.split(":", 1)[1]: v for k, v in vals.items() if k.startswith("param:") and v}
    answers = {k.split(":", 1)[1]: v for k, v in vals.items() if k.startswith("answer:") and v}
    taken = meta.get("taking_over", "")
    try:
        made = s.ops.handle(
            Request(
                process,
                params,
                user,
                vals.get("request", ""),
                answers,
                origin=f"slack:{meta['channel']}",
                # the fix plan of an escalation this architect took over
                taking_over=int(taken) if taken.isdigit() else None,
            )
        )
    except ChatopsError as e:
        ack(response_action="errors", errors={_field_for(str(e), view, "process"): str(e)[:300]})
        return
    ack()
    s.workers.task(lambda: s.post_plan(made, meta["channel"]), s.ephemeral(meta["channel"], user))


def submit_import(s: SlackServices, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
    """A task pasted as JSON: read and planned before the ack (errors under the field)."""
    from chatops.engine.planning.params import parse_assignments

    user = body["user"]["id"]
    meta = modals.metadata(view)
    vals = modals.values(view)
    try:
        data = json.loads(vals.get("task", ""))
    except json.JSONDecodeError as e:
        ack(response_action="errors", errors={"task": f"not JSON: {e.msg} at line {e.lineno}"})
        return
    try:
        params = parse_assignments(vals.get("params", "").split())
        origin = f"slack:{meta['channel']}"
        made = s.ops.handle(Import(data, user, vals.get("process") or None, params or None, origin))
    except (TaskFormatError, PermissionDenied) as e:
        ack(response_action="errors", errors={"task": str(e)[:300]})
        return
    except ChatopsError as e:
        block = "params" if isinstance(e, ParameterError) else "task"
        ack(response_action="errors", errors={block: str(e)[:300]})
        return
    ack()
    s.workers.task(lambda: s.post_plan(made, meta["channel"]), s.ephemeral(meta["channel"], user))


def submit_answers(s: SlackServices, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
    """The planning questions answered: the plan is revised (approvals start over)."""
    user = body["user"]["id"]
    meta = modals.metadata(view)
    vals = modals.values(view)
    given = {k.split(":", 1)[1]: v for k, v in vals.items() if k.startswith("answer:")}
    try:
        s.ops.handle(Revise(modals.run_of(meta), user, answers=given))
    except ChatopsError as e:
        first = next(iter(vals), "answer")
        ack(response_action="errors", errors={first: str(e)[:300]})
        return
    ack()


def submit_reject(s: SlackServices, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
    """A rejection needs a reason the requester can read."""
    user = body["user"]["id"]
    meta = modals.metadata(view)
    reason = modals.values(view).get("reason", "").strip()
    if len(reason) < 3 or reason.lower() in ("yes", "no", "ok"):
        ack(
            response_action="errors",
            errors={"reason": "say why it is rejected: the requester reads it"},
        )
        return
    try:
        s.ops.handle(Reject(modals.run_of(meta), user, reason))
    except ChatopsError as e:
        ack(response_action="errors", errors={"reason": str(e)[:300]})
        return
    ack()
