"""Modal views (pure builders): the /change form, the task import form, the reject reason."""

from __future__ import annotations

import json
from typing import Any

from chatops.engine.planning.config import Config
from chatops.engine.planning.params import Parameter
from chatops.engine.planning.plan import Plan
from chatops.engine.planning.runbook import Runbook
from chatops.errors import ParameterError
from chatops.slack.views.blocks import Block, cut

CHANGE = "chatops.change"
IMPORT = "chatops.import"
REJECT = "chatops.reject_reason"
PICK_PROCESS = "chatops.pick_process"


def _text(text: str, limit: int = 75) -> dict[str, str]:
    return {"type": "plain_text", "text": cut(text, limit)}


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": _text(label), "value": value}


def _input(
    block_id: str,
    label: str,
    *,
    multiline: bool = False,
    initial: str | None = None,
    optional: bool = False,
    hint: str = "",
) -> Block:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": multiline,
        # Slack stops the typing there, so nothing is cut later without notice
        "max_length": 3000 if multiline else 500,
    }
    if initial:
        element["initial_value"] = initial
    b: Block = {
        "type": "input",
        "block_id": block_id,
        "label": _text(label, 2000),
        "element": element,
        "optional": optional,
    }
    if hint:
        b["hint"] = _text(hint, 2000)
    return b


def _process_select(runbooks: dict[str, Runbook], chosen: str | None) -> Block:
    options = [_option(n, f"{n}: {rb.title}") for n, rb in sorted(runbooks.items())]
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": PICK_PROCESS,
        "options": options,
        "placeholder": _text("Choose a process"),
    }
    initial = [o for o in options if o["value"] == chosen]
    if initial:
        element["initial_option"] = initial[0]
    return {
        "type": "input",
        "block_id": "process",
        "dispatch_action": True,
        "label": _text("Process"),
        "element": element,
    }


def _param_input(name: str, p: Parameter, config: Config, preset: dict[str, str]) -> Block:
    """One parameter of the form: a service or a choice picked from a list, anything else
    typed (its default or the preset filled in)."""
    if p.type == "service":
        element: dict[str, Any] = {
            "type": "static_select",
            "action_id": "value",
            "options": [_option(s, s) for s in sorted(config.services)][:100],
        }
        if preset.get(name) in config.services:
            element["initial_option"] = _option(preset[name], preset[name])
        return {
            "type": "input",
            "block_id": f"param:{name}",
            "label": _text(name),
            "element": element,
        }
    if p.type == "choice":
        element = {
            "type": "static_select",
            "action_id": "value",
            "options": [_option(c, c) for c in p.choices][:100],
        }
        if p.default is not None:
            element["initial_option"] = _option(str(p.default), str(p.default))
        return {
            "type": "input",
            "block_id": f"param:{name}",
            "label": _text(name),
            "element": element,
            "optional": p.default is not None,
        }
    initial = preset.get(name) or (None if p.default is None else str(p.default).lower())
    return _input(
        f"param:{name}",
        name,
        initial=initial,
        hint=p.help or p.type,
        optional=not p.required or p.default is not None,
    )


def change_modal(
    runbooks: dict[str, Runbook],
    config: Config,
    meta: dict[str, str],
    process: str | None = None,
    preset: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The /change form; `preset` fills parameters in (e.g. the service a diagnosis was for).
    The preset rides in the form's metadata, so it survives picking the process."""
    if preset:
        meta = {**meta, "preset": json.dumps(preset)}
    preset = preset or json.loads(meta.get("preset") or "{}")
    process = process if process in runbooks else None
    blocks: list[Block] = []
    if meta.get("taking_over"):
        behalf = meta.get("on_behalf_of", "")
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"The fix plan for run #{meta['taking_over']}"
                        + (f", requested on <@{behalf}>'s behalf" if behalf else "")
                        + ". The escalation stays open until it is planned.",
                    }
                ],
            }
        )
    blocks.append(_process_select(runbooks, process))
    if process:
        rb = runbooks[process]
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(rb.description, 2000)}]}
        )
        blocks.extend(_param_input(name, p, config, preset) for name, p in rb.parameters.items())
        if rb.kind != "hotfix":  # approved now, started later (engine/planning/starts.py)
            hint = "22:00, 2026-12-03T22:00 or +2h; empty: once approved"
            blocks.append(_input("param:start_at", "Start at", hint=hint, optional=True))
        for q in rb.questions:
            blocks.append(_input(f"answer:{q.id}", q.ask, multiline=True, optional=not q.required))
        blocks.append(_input("request", "What and why", multiline=True, optional=True))
    return {
        "type": "modal",
        "callback_id": CHANGE,
        "title": _text("Request a change", 24),
        "submit": _text("Plan it", 24),
        "close": _text("Cancel", 24),
        "private_metadata": json.dumps(meta)[:3000],
        "blocks": blocks,
    }


def import_modal(runbooks: dict[str, Runbook], meta: dict[str, str]) -> dict[str, Any]:
    options = [_option(n, f"{n}: {rb.title}") for n, rb in sorted(runbooks.items())]
    return {
        "type": "modal",
        "callback_id": IMPORT,
        "title": _text("Import a task", 24),
        "submit": _text("Plan it", 24),
        "close": _text("Cancel", 24),
        "private_metadata": json.dumps(meta)[:3000],
        "blocks": [
            {
                "type": "input",
                "block_id": "process",
                "optional": True,
                "label": _text("Process"),
                "hint": _text("Leave empty to use the task's command_for_agent", 150),
                "element": {"type": "static_select", "action_id": "value", "options": options},
            },
            _input(
                "params",
                "Parameters",
                optional=True,
                hint="key=value ..., e.g. service=eckwms-global ref=v1.2",
            ),
            _input(
                "task",
                "Task JSON",
                multiline=True,
                hint="target_agent, task_id, objective, steps, validation "
                "(or the long form with payload)",
            ),
        ],
    }


ANSWERS = "chatops.answers"


def answers_modal(run_id: int, channel: str, plan: Plan) -> dict[str, Any]:
    """The requester answers a plan's planning questions (the unanswered required ones must
    be filled; the others show what was said, to change it)."""
    open_ = set(plan.unanswered())
    blocks: list[Block] = [
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": cut(
                        f"Run #{run_id}, {plan.title}. Saving makes a new version of the plan; "
                        "approvals start over.",
                        2000,
                    ),
                }
            ],
        }
    ]
    for q, ask in plan.asked():
        blocks.append(
            _input(
                f"answer:{q}",
                ask,
                multiline=True,
                initial=plan.answers.get(q) or None,
                optional=q not in open_,
            )
        )
    return {
        "type": "modal",
        "callback_id": ANSWERS,
        "title": _text("Planning questions", 24),
        "submit": _text("Save answers", 24),
        "close": _text("Cancel", 24),
        "private_metadata": json.dumps({"run_id": str(run_id), "channel": channel}),
        "blocks": blocks[:100],
    }


def reject_modal(meta: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": REJECT,
        "title": _text("Reject the plan", 24),
        "submit": _text("Reject", 24),
        "close": _text("Cancel", 24),
        "private_metadata": json.dumps(meta)[:3000],
        "blocks": [_input("reason", "Why is it rejected?", multiline=True)],
    }


def notice_modal(title: str, text: str) -> dict[str, Any]:
    """A modal that only tells something (a personal link, a refusal): no form, no submit."""
    return {
        "type": "modal",
        "title": _text(title, 24),
        "close": _text("Close", 24),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}],
    }


def values(view: dict[str, Any]) -> dict[str, str]:
    """Flatten a submitted view's state to {block_id: value}; what is not shaped like Slack's
    state is left out."""
    out: dict[str, str] = {}
    state = view.get("state")
    blocks = state.get("values") if isinstance(state, dict) else None
    if not isinstance(blocks, dict):
        return out
    for block_id, actions in blocks.items():
        if not isinstance(actions, dict):
            continue
        for action in actions.values():
            if not isinstance(action, dict):
                continue
            if action.get("type") == "static_select":
                opt = action.get("selected_option")
                if isinstance(opt, dict) and isinstance(opt.get("value"), str):
                    out[str(block_id)] = opt["value"]
            elif isinstance(action.get("value"), str):
                out[str(block_id)] = action["value"]
    return out


def metadata(view: dict[str, Any]) -> dict[str, str]:
    """A form's private metadata; {} when it is not what chatops put there."""
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except (TypeError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}


def run_of(meta: dict[str, str]) -> int:
    """The run a form is about; ParameterError when the form does not name one."""
    value = meta.get("run_id", "")
    if not value.isdigit() or len(value) > 12:
        raise ParameterError("this form does not come from chatops (it names no run)")
    return int(value)


POSTMORTEM = "chatops.postmortem"


def postmortem_modal(run_id: int, timeline: str, answers: dict[str, str]) -> dict[str, Any]:
    from chatops.engine.domain.postmortem import QUESTIONS

    blocks: list[Block] = [
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": cut(
                        f"Hotfix run #{run_id}. The timeline below comes from the audit trail: "
                        "commands, hosts, exit codes, approvals and refusals. "
                        "Correct it if it misses something.",
                        2000,
                    ),
                }
            ],
        },
    ]
    for key, question in QUESTIONS:
        blocks.append(_input(key, question, multiline=True, initial=answers.get(key) or None))
    blocks.append(
        _input(
            "timeline",
            "Timeline",
            multiline=True,
            initial=cut(answers.get("timeline") or timeline, 3000),
            optional=True,
        )
    )
    return {
        "type": "modal",
        "callback_id": POSTMORTEM,
        "title": _text("Post-mortem", 24),
        "submit": _text("Save", 24),
        "close": _text("Later", 24),
        "private_metadata": json.dumps({"run_id": run_id}),
        "blocks": blocks,
    }


ESCALATE = "chatops.escalate_reason"


def escalate_modal(run_id: int, channel: str) -> dict[str, Any]:
    from chatops.engine.approvals.handoffs import ESCALATION_REASONS

    options = [_option(k, v[:1].upper() + v[1:]) for k, v in ESCALATION_REASONS.items()]
    return {
        "type": "modal",
        "callback_id": ESCALATE,
        "title": _text("Escalate", 24),
        "submit": _text("Escalate", 24),
        "close": _text("Cancel", 24),
        "private_metadata": json.dumps({"run_id": run_id, "channel": channel}),
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "label": _text("Why does it need the Architect?"),
                "element": {"type": "static_select", "action_id": "value", "options": options},
            },
            _input("details", "What do you know so far?", multiline=True, optional=True),
        ],
    }


CLOSE_ESCALATION = "chatops.close_escalation_reason"


def close_escalation_modal(run_id: int, channel: str) -> dict[str, Any]:
    """The Architect closes an escalated problem, saying why (it goes to the audit trail)."""
    return {
        "type": "modal",
        "callback_id": CLOSE_ESCALATION,
        "title": _text("Close the escalation", 24),
        "submit": _text("Close it", 24),
        "close": _text("Cancel", 24),
        "private_metadata": json.dumps({"run_id": run_id, "channel": channel}),
        "blocks": [_input("reason", "Why is it closed?", multiline=True)],
    }
