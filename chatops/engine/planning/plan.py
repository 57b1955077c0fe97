"""A Plan: a runbook rendered for one request, with the exact command for every host.

A plan is immutable. Its sha256 over a canonical JSON form is what approvals are recorded
against, so any edit (a parameter, a command, a step) voids the approvals given before.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict

from chatops.engine.planning.drift import DRIFT_STEP, Fact
from chatops.engine.planning.inventory import HealthCheck
from chatops.engine.planning.runbook import Approval, ProcessKind
from chatops.engine.planning.starts import Start

__all__ = ["Frozen", "HostCommand", "HttpCheck", "Plan", "PlannedStep"]


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HostCommand(Frozen):
    host: str
    command: str


class HttpCheck(Frozen):
    url: str
    expect_status: int = 200
    expect_json: dict[str, str | int | bool] = {}
    expect_body: str | None = None
    timeout: float = 5.0
    retries: int = 3
    interval: float = 2.0

    @classmethod
    def of(cls, h: HealthCheck) -> HttpCheck:
        """The check a service's configured health check describes."""
        return cls(
            url=h.url,
            expect_status=h.expect_status,
            expect_json=dict(h.expect_json),
            expect_body=h.expect_body,
            timeout=h.timeout,
            retries=h.retries,
            interval=h.interval,
        )


class PlannedStep(Frozen):
    id: str
    title: str
    kind: Literal["manual", "ssh", "check", "gate", "pause"]
    purpose: str = "other"
    description: str = ""
    role: str | None = None
    roles: list[str] = []
    quorum: int = 1
    commands: list[HostCommand] = []
    http: HttpCheck | None = None
    expect: str | None = None
    timeout: int = 300
    hosts: Literal["serial", "parallel", "rolling"] = "serial"
    max_parallel: int | None = None  # hosts at once for this step (within `ssh.max_parallel`)
    on_failure: Literal["stop", "continue"] = "stop"
    rollback: list[HostCommand] = []
    action: str | None = None
    source: Literal["runbook", "imported"] = "runbook"
    batch: str | None = None  # a rolling deploy's batch ("2/4") this step belongs to
    max_failures: int | None = None  # on a batch's last step: failed hosts tolerated so far

    @property
    def is_machine(self) -> bool:
        return self.kind in ("ssh", "check")


class Plan(Frozen):
    task_id: str
    runbook: str
    kind: ProcessKind
    title: str
    objective: str
    target_agent: str = "production_server"
    service: str | None = None
    environment: str | None = None
    params: dict[str, str | int | bool] = {}
    requester: str
    on_behalf_of: str | None = None  # the person an agent (the requester) acts for
    request: str = ""
    questions: dict[str, str] = {}
    answers: dict[str, str] = {}
    #: the questions that must be answered before anyone may approve (ids, runbook order)
    required: list[str] = []
    steps: list[PlannedStep]
    rollback: list[PlannedStep] = []
    validation: list[str] = []
    approval: Approval
    approval_rule: str | None = None  # why this approval: the rule that applied, the radius
    created_at: str
    context: str = ""
    expected_outcome: str = ""
    start: Start | None = None  # approved now, started later: from when, until when
    #: the facts of its hosts recorded at approval and compared before the first machine step
    drift: list[Fact] = []
    #: those facts as read on each host when the plan was made (host -> fact -> value): shown
    #: to its approvers and in its hash, so an approval approves what it saw
    facts: dict[str, dict[str, str]] = {}

    def canonical(self) -> bytes:
        data = self.model_dump(mode="json")
        for added in (
            "on_behalf_of",
            "approval_rule",
            "start",
        ):  # plans stored before keep their hash
            if data.get(added) is None:
                data.pop(added, None)
        for empty in ("required", "drift", "facts"):
            if not data.get(empty):
                data.pop(empty, None)
        for step in [*data["steps"], *data["rollback"]]:
            for added in ("batch", "max_failures", "max_parallel"):
                if step.get(added) is None:
                    step.pop(added, None)
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    @property
    def short_hash(self) -> str:
        return self.sha256[:10]

    @property
    def queue_key(self) -> str:
        return f"{self.service or '-'}:{self.environment or '-'}"

    def unanswered(self) -> list[str]:
        """The required planning questions nobody has answered yet: until they are, the plan
        cannot be approved (they are what the Architect decides before approval)."""
        return [q for q in self.required if not self.answers.get(q, "").strip()]

    def asked(self) -> list[tuple[str, str]]:
        """The planning questions (id, question) in the runbook's order as far as it is kept:
        a stored plan's questions come back sorted, its required ones in order, first."""
        rest = [q for q in self.questions if q not in self.required]
        return [(q, self.questions.get(q, q)) for q in [*self.required, *rest]]

    def has_rollback(self) -> bool:
        return bool(self.rollback) or any(s.rollback for s in self.steps)

    def step(self, step_id: str) -> PlannedStep:
        for s in [*self.steps, *self.rollback]:
            if s.id == step_id:
                return s
        if step_id == DRIFT_STEP:  # the hosts changed since approval: its approvers again
            return PlannedStep(
                id=DRIFT_STEP,
                title="Approve again: the hosts changed since this plan was approved",
                kind="gate",
                description="Nothing was touched. The thread says what changed.",
                roles=list(self.approval.roles),
                quorum=self.approval.quorum,
            )
        raise KeyError(step_id)
