"""What each MCP tool answers, as the output schemas clients read (`outputSchema`) and the
`structuredContent` they get beside the text. Each model names the keys an answer always
has; the nested parts are the HTTP API's (docs/agents.md), and more keys may be added."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Cancelled",
    "Decision",
    "Events",
    "Link",
    "Logs",
    "Proposed",
    "Report",
    "Runbooks",
    "Runs",
    "Services",
    "Status",
    "StepReported",
]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class Runbooks(_Answer):
    runbooks: list[dict[str, Any]] = Field(
        description="each process: name, kind, parameters, whether you may propose it and why not"
    )


class Services(_Answer):
    services: list[Any] = Field(description="the services you may act on")


class Proposed(_Answer):
    run: dict[str, Any] = Field(description="the run the proposal made (id, state, ...)")
    plan: dict[str, Any] = Field(description="the plan people approve: steps and commands")
    refusals: list[str] = Field(description="the process's rules the plan breaks (none: ok)")
    decision: dict[str, Any] | None = Field(
        default=None,
        description="with the tasks extension (the call answered as a task): the people's "
        "decision, once final",
    )


class Decision(_Answer):
    run_id: int
    decision: str = Field(
        description="approved, rejected, expired, cancelled or pending; pending is NOT approval"
    )
    final: bool = Field(description="true once the decision cannot change")
    state: str
    reason: str | None = None
    approvers: list[str] = []
    missing: list[str] = Field(default=[], description="the approvals still needed")
    waited_s: float = Field(default=0.0, description="seconds waited in all, over every call")
    cursor: str | None = Field(
        default=None,
        description="while pending: pass it back as `cursor` to wait again, counting on",
    )


class Report(_Answer):
    run: dict[str, Any]
    decision: dict[str, Any]
    plan: dict[str, Any]
    steps: list[dict[str, Any]]
    approvals: list[dict[str, Any]]


class Runs(_Answer):
    runs: list[dict[str, Any]]


class Events(_Answer):
    events: list[dict[str, Any]]
    next_after: int = Field(description="pass it back as `after` to continue")


class StepReported(_Answer):
    run: dict[str, Any]
    note: str | None = Field(
        default=None,
        description="set when no worker is alive to go on with the run: it waits until one is",
    )


class Cancelled(_Answer):
    run: dict[str, Any]


class Link(_Answer):
    run_id: int
    url: str = Field(description="the run's page, for you alone")
    expires_in: int = Field(description="seconds the link stays valid")


class Status(_Answer):
    service: str
    environment: str | None = None
    health: Any = None
    hosts: list[dict[str, Any]]


class Logs(_Answer):
    service: str
    hosts: list[dict[str, Any]]
