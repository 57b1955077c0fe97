"""The JSON schema of a proposal (`POST /plans`) for one deployment and one agent: a branch
per runbook the agent may propose, its parameters typed from the runbook (services it can
run on, each service's environments, git refs, patterns, numbers, yes/no), its required
planning questions required, and the seed's task form beside it. What the schema allows, the
server accepts; what the server refuses, the schema says (the suite runs schemathesis on it).
Without a token the document carries the generic form (`generic_proposal`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chatops.engine.planning.config import Config
from chatops.engine.planning.params import Parameter
from chatops.engine.planning.runbook import Runbook
from chatops.engine.planning.taskformat import MAX_STEPS

Json = dict[str, Any]

# a character no reader takes for a space: Python's strip() also drops \x1c-\x1f and \x85,
# ECMA's \s also matches \ufeff, so "not blank" excludes them all (the request models
# validate with it too, so what the document calls valid is what the server takes)
NOT_BLANK = "[^\\s\\u001c-\\u001f\\u0085\\ufeff]"
# what engine/planning/params.py refuses in any value (SAFE_TEXT_RE)
CONTROL = {"pattern": "[\\u0000-\\u0008\\u000b-\\u001f\\u007f]"}
# engine/planning/params.py GIT_REF_RE, with its three extra rules as lookaheads
GIT_REF = r"^(?!.*\.\.)(?!.*(\.lock|/|\.)$)[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$"
# a path may not start with / nor have a .. part
PATH_ESCAPE = {"pattern": r"^/|(^|/)\.\.(/|$)"}
TASK_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,79}$"
PERSON = r"^[UW][A-Z0-9_]{2,20}$"
BIG = 2**53 - 1
YES_NO = ["yes", "no", "true", "false", "1", "0", "on", "off"]

REASON: Json = {
    "type": "string",
    "maxLength": 2000,
    "pattern": NOT_BLANK,
    "description": "Why this change: shown to the approvers.",
}
ON_BEHALF_OF: Json = {
    "type": "string",
    "pattern": PERSON,
    "description": "The Slack user id of the person the agent acts for (four-eyes covers them).",
}
STRINGS: Json = {"type": "array", "items": {"type": "string"}}


def _value(p: Parameter, services: Sequence[str], environments: Sequence[str]) -> Json:
    """One parameter's values, as the server reads them (engine/planning/params.py)."""
    text: Json = {"type": "string", "maxLength": p.max_length}
    match p.type:
        case "service":
            return {"enum": list(services)}
        case "environment":
            return {"enum": list(environments)}
        case "git_ref":
            return {**text, "pattern": GIT_REF}
        case "path":
            return {**text, "pattern": p.pattern, "not": {"anyOf": [CONTROL, PATH_ESCAPE]}}
        case "string":
            return {**text, "pattern": p.pattern, "not": CONTROL}
        case "choice":
            return {"enum": [c for c in p.choices if len(c) <= p.max_length]}
        case "int":
            low = -BIG if p.min is None else p.min
            high = BIG if p.max is None else p.max
            return {"type": "integer", "minimum": low, "maximum": high}
        case "bool":
            return {"anyOf": [{"type": "boolean"}, {"enum": YES_NO}]}
    raise AssertionError(p.type)  # pragma: no cover


def _needs_service(rb: Runbook) -> bool:
    return any(s.is_machine or s.http is not None for s in [*rb.steps, *rb.rollback])


def params_schema(rb: Runbook, config: Config, services: Sequence[str]) -> Json | None:
    """The runbook's parameters; None when this deployment cannot plan it for anyone here
    (it runs on a service and none of `services` can run it)."""
    service_param = next((n for n, p in rb.parameters.items() if p.type == "service"), None)
    if service_param is None and _needs_service(rb):
        return None
    if service_param is not None and not services:
        return None
    envs = sorted({e for s in services for e in config.services[s].environments})
    props: Json = {}
    required: list[str] = []
    conditions: list[Json] = []
    for name, p in rb.parameters.items():
        props[name] = {"description": p.help} if p.help else {}
        props[name].update(_value(p, services, envs))
        needed = p.required and p.default is None
        if p.type == "service" and _needs_service(rb):
            needed = True
        if needed:
            required.append(name)
        if p.type == "environment":
            if service_param is None:
                return None
            for s in services:
                own = sorted(config.services[s].environments)
                then: Json = {"properties": {name: {"enum": own}}}
                if p.default is None or str(p.default) not in own:
                    then["required"] = [name]
                conditions.append(
                    {
                        "if": {
                            "properties": {service_param: {"const": s}},
                            "required": [service_param],
                        },
                        "then": then,
                    }
                )
    out: Json = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    if conditions:
        out["allOf"] = conditions
    return out


def answers_schema(rb: Runbook, *, asked_by_request: bool) -> Json:
    """Answers by question id; a required one must be given and not blank, unless the
    request's own words answer it (`from_request`)."""
    props: Json = {}
    required: list[str] = []
    for q in rb.questions:
        must = q.required and not (q.from_request and asked_by_request)
        props[q.id] = {"type": "string", "maxLength": 3000, "description": q.ask}
        if must:
            props[q.id]["pattern"] = NOT_BLANK
            required.append(q.id)
    out: Json = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def task_schema(extension: Json) -> Json:
    """The seed's task JSON, short form or long form (the same under `payload`). A step
    written '[step-id] text' names a runbook step; any other is a people's step."""
    objective = {"type": "string", "pattern": NOT_BLANK}
    steps = {**STRINGS, "minItems": 1, "maxItems": MAX_STEPS}
    return {
        "type": "object",
        "required": ["task_id"],
        "properties": {
            "target_agent": {"type": "string"},
            "task_id": {"type": "string", "pattern": TASK_ID},
            "objective": objective,
            "steps": steps,
            "validation": STRINGS,
            "validation_steps": STRINGS,
            "context": {"type": "string"},
            "expected_outcome": {"type": "string"},
            "command_for_agent": {"type": "string"},
            "agent_environment": {"type": "string"},
            "payload": {
                "type": "object",
                "required": ["objective", "steps"],
                "properties": {
                    "objective": objective,
                    "steps": steps,
                    "validation_steps": STRINGS,
                    "validation": STRINGS,
                    "context": {"type": "string"},
                    "expected_outcome": {"type": "string"},
                },
                "additionalProperties": False,
            },
            "chatops": extension,
        },
        "anyOf": [
            {"required": ["objective", "steps"], "not": {"required": ["payload"]}},
            {"required": ["payload"]},
        ],
    }


def _branches(rb: Runbook, params: Json) -> list[Json]:
    """The process form and the task form of one runbook. Either way the request's words
    (the reason; the task's objective or its chatops.request) answer a from_request
    question, so only the others are required."""
    name = {"const": rb.name}
    answers = answers_schema(rb, asked_by_request=True)
    needs = [k for k, v in (("params", params), ("answers", answers)) if v.get("required")]
    common: Json = {"params": params, "answers": answers, "on_behalf_of": ON_BEHALF_OF}
    # the task's chatops extension (what `chatops plan --json` exports): params and answers
    # given beside the task win, so the extension's are not required
    extension: Json = {
        "type": "object",
        "properties": {
            "runbook": name,
            "params": params,
            "request": {"type": "string", "pattern": NOT_BLANK},
            "answers": {k: v for k, v in answers.items() if k != "required"},
        },
    }
    return [
        {
            "title": f"{rb.name}: a process with its parameters",
            "type": "object",
            "required": ["process", "reason", *needs],
            "properties": {"process": name, "reason": REASON, **common},
            "additionalProperties": False,
        },
        {
            "title": f"{rb.name}: the seed's task JSON",
            "type": "object",
            "required": ["task", "process", *needs],
            "properties": {"task": task_schema(extension), "process": name, **common},
            "additionalProperties": False,
        },
    ]


def proposal_schema(proposable: Sequence[tuple[Runbook, Sequence[str]]], config: Config) -> Json:
    """`proposable`: each runbook this agent may propose, with the services in its scope it
    can run on. A deployment with none accepts no proposal: the schema says so."""
    branches: list[Json] = []
    for rb, services in proposable:
        params = params_schema(rb, config, services)
        if params is not None:
            branches.extend(_branches(rb, params))
    if not branches:
        return {"not": {}, "description": "this agent may propose nothing here"}
    return {
        "anyOf": branches,
        "description": "A runbook's process with its parameters and a reason, or the seed's "
        "task JSON for a runbook. People approve it in Slack; nothing in it runs until they "
        "do, and its text never becomes a command.",
    }
