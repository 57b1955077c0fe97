"""The OpenAPI 3.1 document of `/api/v1`, served at `/api/v1/openapi.json`. Request bodies
are the pydantic models' own JSON schemas, so the document and the validation agree; asked
with an agent's token, a proposal's schema is that agent's in this deployment (a branch per
runbook it may propose, parameters typed: api/proposal_schema.py)."""

from __future__ import annotations

from typing import Any

from chatops.api.models import Done, Proposal
from chatops.api.proposal_schema import task_schema
from chatops.engine.agents.gate import MAX_ID
from chatops.engine.domain.run import RunState

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


def _run_id() -> Json:
    return {"name": "run_id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _query(name: str, schema: Json, description: str) -> Json:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _service() -> Json:
    return {
        "name": "service",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,62}$"},
    }


def _env() -> Json:
    return _query("environment", {"type": "string"}, "production unless given")


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
    wait = _query(
        "wait",
        {"type": "number", "minimum": 0},
        "Long-poll: seconds to wait (capped by the server's agents.max_wait).",
    )
    paths: Json = {
        "/me": {
            "get": {
                "summary": "Who this token is: name, role, scope",
                "responses": _answer("The agent", "401"),
            }
        },
        "/runbooks": {
            "get": {
                "summary": "The processes, and whether this agent may propose each (and why not)",
                "responses": _answer("Runbooks", "401", "429"),
            }
        },
        "/services": {
            "get": {
                "summary": "The services in this agent's scope",
                "responses": _answer("Names", "401"),
            }
        },
        "/services/{service}/status": {
            "get": {
                "summary": "Service status (as /status): hosts, health, last success, active runs",
                "parameters": [_service(), _env()],
                "responses": _answer("Status", "400", "401", "403", "404", "429"),
            }
        },
        "/services/{service}/logs": {
            "get": {
                "summary": "Recent logs (as /logs, under the same policy: logs_roles)",
                "parameters": [
                    _service(),
                    _env(),
                    _query(
                        "lines",
                        {"type": "integer", "minimum": 1, "maximum": max_lines},
                        "default 200",
                    ),
                    _query(
                        "since", {"type": "string", "pattern": "^[1-9][0-9]{0,3}[smhd]$"}, "e.g. 1h"
                    ),
                    _query(
                        "grep",
                        {"type": "string", "pattern": "^[ -~]{1,200}$"},
                        "a fixed string (printable, at most 200)",
                    ),
                    _query(
                        "host",
                        {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,62}$"},
                        "one host of the service",
                    ),
                    _query("stream", {"enum": ["out", "err", "all"]}, "default all"),
                ],
                "responses": _answer("Log lines per host", "400", "401", "403", "404", "429"),
            }
        },
        "/plans": {
            "post": {
                "summary": "Propose a change; people approve it in Slack",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Proposal"}}
                    },
                },
                "responses": {
                    "201": {"description": "The run and its plan"},
                    **{
                        k: v
                        for k, v in _answer("", "400", "401", "403", "404", "422", "429").items()
                        if k != "200"
                    },
                },
            }
        },
        "/runs": {
            "get": {
                "summary": "Recent runs in scope, newest first",
                "parameters": [
                    _query(
                        "limit", {"type": "integer", "minimum": 1, "maximum": 200}, "default 20"
                    ),
                    _query(
                        "state",
                        {"type": "string", "enum": [x.value for x in RunState]},
                        "repeatable; a run state",
                    ),
                    _query("mine", {"type": "boolean"}, "only the runs this agent proposed"),
                ],
                "responses": _answer("Runs", "400", "401", "429"),
            }
        },
        "/runs/{run_id}": {
            "get": {
                "summary": "A run: state, decision, plan, per-host step results with output tails",
                "parameters": [_run_id()],
                "responses": _answer("The run", "401", "403", "404", "429"),
            }
        },
        "/runs/{run_id}/decision": {
            "get": {
                "summary": "Wait for the decision: approved, rejected (with the reason), expired, "
                "cancelled, or still pending. A wait that runs out is pending, never approved.",
                "parameters": [_run_id(), wait],
                "responses": _answer("The decision", "400", "401", "403", "404", "429"),
            }
        },
        "/runs/{run_id}/events": {
            "get": {
                "summary": "The run's events after a position (the stream Slack follows)",
                "parameters": [
                    _run_id(),
                    _query(
                        "after",
                        {"type": "integer", "minimum": 0, "maximum": MAX_ID - 1},
                        "last position seen",
                    ),
                    wait,
                ],
                "responses": _answer("Events and next_after", "400", "401", "403", "404", "429"),
            }
        },
        "/runs/{run_id}/steps/{step}/done": {
            "post": {
                "summary": "The Coder agent reports a coder step done, with evidence",
                "parameters": [
                    _run_id(),
                    {
                        "name": "step",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[a-z][a-z0-9_-]{0,39}$"},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Done"}}
                    },
                },
                "responses": _answer("The run", "400", "401", "403", "404", "409", "429"),
            }
        },
        "/runs/{run_id}/cancel": {
            "post": {
                "summary": "Cancel a run this agent proposed",
                "parameters": [_run_id()],
                "responses": _answer("The run", "401", "403", "404", "409", "429"),
            }
        },
        "/runs/{run_id}/link": {
            "get": {
                "summary": "A link to the web page of a run this agent proposed, made for the "
                "agent and expiring (`url`, `expires_in` seconds); it opens while the agent's "
                "token is active",
                "parameters": [_run_id()],
                "responses": _answer("The link", "401", "403", "404", "429"),
            }
        },
    }
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
