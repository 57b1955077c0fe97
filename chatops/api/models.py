"""What agents send: request bodies, validated before anything else reads them. Their JSON
schemas are the OpenAPI document's."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chatops.api.proposal_schema import NOT_BLANK
from chatops.engine.planning.params import as_text

Scalar = str | int | bool
# printable ASCII but < > | (percent-encode the rest), within what engine/domain/evidence.py
# accepts; ASCII alone, so the document's regex and the server's read it the same way
LINK = r"^https?://[!-;=?-{}~]{1,500}$"


class Proposal(BaseModel):
    """Either the seed's task JSON (`task`, short or long form), or a process with its
    parameters and a reason. Either way people approve it in Slack; nothing in it runs until
    they do, and its text never becomes a command."""

    model_config = ConfigDict(
        extra="forbid",
        # the document says what _one_form checks: a task, or a process with its reason
        json_schema_extra={
            "anyOf": [
                {"required": ["task"], "properties": {"task": {"type": "object"}}},
                {
                    "required": ["process", "reason"],
                    "properties": {"process": {"type": "string"}, "reason": {"type": "string"}},
                },
            ]
        },
    )

    task: dict[str, Any] | None = Field(
        None,
        description="The seed's Architect -> Coder task: {target_agent, task_id, objective, "
        "steps, validation}, or the long form with payload and command_for_agent. A step "
        "written '[step-id] text' names a runbook step; any other step is a people's step "
        "of role coder.",
    )
    process: str | None = Field(
        None, description="The runbook to plan (see GET /runbooks); for a task, which one it is."
    )
    params: dict[str, Scalar] = Field(
        default_factory=dict, description="The runbook's parameters, e.g. {'service': 'web'}."
    )
    reason: str | None = Field(
        None,
        max_length=2000,
        pattern=NOT_BLANK,
        description="Why this change: shown to the approvers.",
    )
    answers: dict[str, Annotated[str, Field(max_length=3000)]] = Field(
        default_factory=dict,
        description="Answers to the runbook's planning questions by id (GET /runbooks lists "
        "them); a proposal that leaves a required one unanswered is refused with 400.",
    )
    on_behalf_of: str | None = Field(
        None,
        pattern=r"^[UW][A-Z0-9_]{2,20}$",
        description="The Slack user id of the person the agent acts for (four-eyes covers them).",
    )

    @model_validator(mode="after")
    def _one_form(self) -> Proposal:
        if self.task is None and self.process is None:
            raise ValueError("give a task (the seed's JSON) or a process with params and reason")
        if self.task is None and not (self.reason or "").strip():
            raise ValueError("a process proposal needs a reason")
        return self

    def string_params(self) -> dict[str, str]:
        return as_text(self.params)


class Done(BaseModel):
    """The evidence that a people's step of role coder is done."""

    model_config = ConfigDict(extra="forbid")

    evidence: str = Field(
        min_length=1,
        max_length=4000,
        pattern=NOT_BLANK,
        description="What was done, and how it was checked.",
    )
    links: list[Annotated[str, Field(pattern=LINK)]] = Field(
        default_factory=list, max_length=10, description="http(s) links: a PR, a CI run, a log."
    )
