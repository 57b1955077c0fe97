"""The seed's Architect -> Coder task format, both ways.

Short form: {target_agent, task_id, objective, steps, validation}. Long form: the same under
'payload' beside context, validation_steps and expected_outcome, with command_for_agent and
agent_environment at the top. A step written "[step-id] text" names a runbook step; only such
steps become machine steps, rendered from the runbook and validated parameters. Free text
becomes a manual step. Nothing in imported JSON is ever run as a command.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from chatops.engine.planning.config import Config
from chatops.engine.planning.params import as_text
from chatops.engine.planning.plan import Plan, PlannedStep
from chatops.engine.planning.planner import build_plan
from chatops.engine.planning.runbook import Runbook
from chatops.errors import TaskFormatError

__all__ = [
    "COMMAND_TO_RUNBOOK",
    "MAX_STEPS",
    "STEP_REF_RE",
    "TASK_ID_RE",
    "export_task",
    "import_task",
]

COMMAND_TO_RUNBOOK = {
    "implement_feature": "feature",
    "fix_bug": "hotfix",
    "deploy_code": "deploy",
    "run_migration": "migration",
    "add_endpoint": "endpoint",
    "refactor": "refactor",
    "debug": "debug",
}
TASK_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,79}$")
STEP_REF_RE = re.compile(r"^\[([a-z][a-z0-9_-]{0,39})\]\s*(.*)$", re.DOTALL)
MAX_STEPS = 60


def export_task(plan: Plan, *, long: bool = False) -> dict[str, Any]:
    steps = [f"[{s.id}] {s.title}" for s in plan.steps]
    extension = {
        "runbook": plan.runbook,
        "params": plan.params,
        "answers": plan.answers,
        "requester": plan.requester,
        "request": plan.request,
        "created_at": plan.created_at,
        "plan_sha256": plan.sha256,
    }
    if not long:
        return {
            "target_agent": plan.target_agent,
            "task_id": plan.task_id,
            "objective": plan.objective,
            "steps": steps,
            "validation": list(plan.validation),
            "chatops": extension,
        }
    command = next((k for k, v in COMMAND_TO_RUNBOOK.items() if v == plan.kind), plan.kind)
    return {
        "target_agent": plan.target_agent,
        "agent_environment": f"{plan.environment or 'production'} ({plan.service or '-'})",
        "command_for_agent": command,
        "task_id": plan.task_id,
        "payload": {
            "objective": plan.objective,
            "context": plan.context,
            "steps": steps,
            "validation_steps": list(plan.validation),
            "expected_outcome": plan.expected_outcome,
        },
        "chatops": extension,
    }


def _str_list(value: object, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TaskFormatError(f"'{key}' must be a list of strings")
    return [v for v in value]


def _str(value: object, key: str, *, required: bool = False) -> str:
    if value is None:
        if required:
            raise TaskFormatError(f"'{key}' is required")
        return ""
    if not isinstance(value, str):
        raise TaskFormatError(f"'{key}' must be a string")
    return value


def _runbook_of(
    data: dict[str, Any], ext: dict[str, Any], given: str | None, runbooks: dict[str, Runbook]
) -> str:
    """The runbook a task is for: given, named by its chatops block, or by its command."""
    name = given or ext.get("runbook") or COMMAND_TO_RUNBOOK.get(str(data.get("command_for_agent")))
    if not isinstance(name, str) or name not in runbooks:
        raise TaskFormatError(
            "which runbook? give one of " + ", ".join(sorted(runbooks)) + " (or command_for_agent)"
        )
    return name


def _task_steps(raw_steps: list[str], base: Plan) -> list[PlannedStep]:
    """The task's steps: '[step-id] text' is the runbook's step, anything else a people's
    step of role coder (its text never becomes a command)."""
    by_id = {s.id: s for s in base.steps}
    steps: list[PlannedStep] = []
    for i, text in enumerate(raw_steps, start=1):
        m = STEP_REF_RE.match(text.strip())
        if m and m.group(1) in by_id:
            steps.append(by_id[m.group(1)])
            continue
        steps.append(
            PlannedStep(
                id=f"task-{i}",
                title=(text.strip()[:147] + "...")
                if len(text.strip()) > 150
                else text.strip() or "-",
                kind="manual",
                purpose="other",
                description=text,
                role="coder",
                source="imported",
            )
        )
    ids = [s.id for s in steps]
    if len(ids) != len(set(ids)):
        raise TaskFormatError("a runbook step is named twice")
    return steps


def import_task(
    data: object,
    runbooks: dict[str, Runbook],
    config: Config,
    *,
    requester: str,
    now: datetime,
    runbook: str | None = None,
    params: dict[str, str] | None = None,
) -> Plan:
    """Turn task JSON (already parsed) into a Plan. Raises TaskFormatError with a reason."""
    if not isinstance(data, dict):
        raise TaskFormatError("a task must be a JSON object")
    body: dict[str, Any] = data
    payload = data.get("payload")
    if payload is not None:
        if not isinstance(payload, dict):
            raise TaskFormatError("'payload' must be an object")
        body = {**data, **payload}
    ext = data.get("chatops") if isinstance(data.get("chatops"), dict) else {}
    assert isinstance(ext, dict)
    task_id = _str(body.get("task_id"), "task_id", required=True)
    if not TASK_ID_RE.fullmatch(task_id):
        raise TaskFormatError("'task_id' must be letters, digits and . _ : - (at most 80)")
    objective = _str(body.get("objective"), "objective", required=True).strip()
    if not objective:
        raise TaskFormatError("'objective' is empty")
    raw_steps = _str_list(body.get("steps"), "steps")
    if not raw_steps:
        raise TaskFormatError("'steps' must list at least one step")
    if len(raw_steps) > MAX_STEPS:
        raise TaskFormatError(f"at most {MAX_STEPS} steps")
    validation = _str_list(body.get("validation", body.get("validation_steps")), "validation")
    rb = runbooks[_runbook_of(data, ext, runbook, runbooks)]
    given = dict(params or {})
    if not given and isinstance(ext.get("params"), dict):
        given = as_text(ext["params"])
    answers = ext.get("answers") if isinstance(ext.get("answers"), dict) else {}
    assert isinstance(answers, dict)
    created = ext.get("created_at")
    try:
        when = datetime.fromisoformat(created) if isinstance(created, str) else now
    except ValueError:
        raise TaskFormatError("'chatops.created_at' is not an ISO 8601 time") from None
    base = build_plan(
        rb,
        config,
        given,
        requester=str(ext.get("requester") or requester),
        now=when,
        request=str(ext.get("request", objective)),
        answers={str(k): str(v) for k, v in answers.items()},
        task_id=task_id,
    )
    steps = _task_steps(raw_steps, base)
    return base.model_copy(
        update={
            "steps": steps,
            "validation": validation or base.validation,
            "objective": objective[:500],
            "target_agent": _str(data.get("target_agent"), "target_agent") or base.target_agent,
            "context": _str(body.get("context"), "context"),
            "expected_outcome": _str(body.get("expected_outcome"), "expected_outcome"),
        }
    )
