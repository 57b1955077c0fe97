"""The OpenAPI 3.1 document of `/api/v1`, served at `/api/v1/openapi.json`. Request bodies
are the pydantic models' own JSON schemas, so the document and the validation agree; asked
with an agent's token, a proposal's schema is that agent's in this deployment (a branch per
runbook it may propose, parameters typed: api/proposal_schema.py)."""

from __future__ import annotations

from typing import Any

from chatops.api.models import Done, Proposal
from chatops.api.operations import OPERATIONS, Http, parameters
from chatops.api.proposal_schema import task_schema

Json = dict[str, Any]

ERRORS = {
    "400": "Unreadable input (the message says what).",
    "401": "No token, or a token that is unknown, revoked or expired.",
    "403": "Not allowed for this agent (the message gives the rule).",
    "404": "No such run, step, runbook or service.",
    "409": "Not in this state (e.g. the step is not waiting).",
    "422": "Refused by the process's rules as they stand now (a change freeze): the message "
    "says which.",
    "429": "Rate limit: try again after Retry-After seconds.",
}


def _answer(description: str, *codes: str) -> Json:
    out: Json = {"200": {"description": description}}
    for code in codes:
        out[code] = {"$ref": f"#/components/responses/E{code}"}
    return out


def _operation(http: Http, max_lines: int) -> Json:
    """One path's operation, as the table declares it."""
    params = parameters(http, max_lines)
    out: Json = {"summary": http.summary}
    if params:
        out["parameters"] = [p.openapi() for p in params]
    if http.body is not None:
        ref = {"$ref": f"#/components/schemas/{http.body.__name__}"}
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref}}}
    responses = _answer(http.answers, *http.errors)
    if http.status != 200:  # created: the success is that status, not 200
        responses = {str(http.status): responses.pop("200"), **responses}
    out["responses"] = responses
    return out


def generic_proposal() -> Json:
    """A proposal as any deployment reads it: a task, or a process with its reason."""
    schema = Proposal.model_json_schema(ref_template="#/components/schemas/{model}")
    task = schema["properties"]["task"]
    schema["properties"]["task"] = {
        "anyOf": [task_schema({"type": "object"}), {"type": "null"}],
        "description": task.get("description", ""),
        "default": None,
    }
    schema["description"] = (
        f"{schema.get('description', '')} Ask this document with your token for your "
        "deployment's own: a branch per runbook you may propose, its parameters typed."
    ).strip()
    return schema


def document(max_lines: int = 2000, proposal: Json | None = None) -> Json:
    """The document; `max_lines` is the config's `policies.logs_max_lines`, `proposal` the
    schema of a proposal for the agent asking (the generic one without a token)."""
    paths: Json = {}
    for o in OPERATIONS:
        if o.http is not None:
            paths.setdefault(o.http.path, {})[o.http.method.lower()] = _operation(o.http, max_lines)
    open_paths = {
        "/openapi.json": {
            "get": {
                "summary": "This document. With a token, a proposal's schema is yours: the "
                "runbooks you may propose, on the services in your scope that can run them.",
                "security": [{}, {"bearer": []}],
                "responses": _answer("OpenAPI 3.1", "401", "429"),
            }
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "chatops agents API",
            "version": "1",
            "description": "The gate AI agents go through: they propose, wait, read and report; "
            "people approve in Slack. Agents never approve and never count toward a quorum. "
            "Send X-On-Behalf-Of: <Slack user id> to say whom the agent acts for.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {**paths, **open_paths},
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "chatops agent add"}
            },
            "schemas": {
                "Proposal": proposal if proposal is not None else generic_proposal(),
                "Done": Done.model_json_schema(ref_template="#/components/schemas/{model}"),
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
                    "required": ["error", "status"],
                },
            },
            "responses": {
                f"E{code}": {
                    "description": text,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
                for code, text in ERRORS.items()
            },
        },
    }
