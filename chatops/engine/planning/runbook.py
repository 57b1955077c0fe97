"""Runbooks: one YAML file per process, loaded into these models."""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from chatops.engine.planning.config import Role
from chatops.engine.planning.drift import Fact
from chatops.engine.planning.params import Parameter
from chatops.engine.planning.starts import RESERVED
from chatops.engine.planning.templates import placeholders

__all__ = [
    "BUILTIN_NAMES",
    "PERCENT",
    "STEP_ID_RE",
    "Action",
    "Approval",
    "Command",
    "ProcessKind",
    "Purpose",
    "Question",
    "Rolling",
    "Runbook",
    "Step",
    "Strict",
]

ProcessKind = Literal["feature", "migration", "deploy", "debug", "endpoint", "refactor", "hotfix"]
Purpose = Literal[
    "plan",
    "code",
    "test",
    "commit",
    "push",
    "docs",
    "snapshot",
    "backup",
    "update",
    "install",
    "migrate",
    "datafix",
    "verify",
    "restart",
    "health",
    "logs",
    "diagnose",
    "feature",
    "record",
    "other",
]
Action = Literal[
    "status",
    "start",
    "stop",
    "restart",
    "install",
    "backup",
    "restore",
    "migrate",
    "verify_db",
    "db_ping",
    "logs",
    "error_logs",
]
STEP_ID_RE = r"^[a-z][a-z0-9_-]{0,39}$"

#: Names every command template may use besides the runbook's own parameters.
BUILTIN_NAMES = frozenset(
    {
        "service",
        "environment",
        "app_dir",
        "remote",
        "branch",
        "host",
        "database",
        "backup_dir",
        "backup_file",
        "run_dir",
    }
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Command(Strict):
    """What a machine step runs: a template, or an action the inventory defines."""

    run: str | None = None
    action: Action | None = None

    @model_validator(mode="after")
    def _one(self) -> Command:
        if (self.run is None) == (self.action is None):
            raise ValueError("give exactly one of 'run' or 'action'")
        return self


class Step(Strict):
    id: Annotated[str, Field(pattern=STEP_ID_RE)]
    title: Annotated[str, Field(min_length=1, max_length=150)]
    kind: Literal["manual", "ssh", "check", "gate"]
    purpose: Purpose = "other"
    description: str = ""
    # manual
    role: Role | None = None
    # ssh / check(command)
    run: str | None = None
    action: Action | None = None
    # check
    http: Literal["health"] | None = None
    expect: str | None = None
    # gate
    roles: list[Role] = []
    quorum: Annotated[int, Field(ge=1, le=5)] = 1
    # machine step behaviour
    timeout: Annotated[int, Field(ge=1, le=86400)] = 300
    hosts: Literal["serial", "parallel", "rolling"] = "serial"
    max_parallel: Annotated[int, Field(ge=1, le=2000)] | None = None  # hosts at once, if fewer
    on_failure: Literal["stop", "continue"] = "stop"
    when: str | None = None
    optional: bool = False
    rollback: Command | None = None
    #: what to record of its hosts at approval and compare before the first machine step
    drift: list[Fact] = []

    @model_validator(mode="after")
    def _shape(self) -> Step:
        has_cmd = self.run is not None or self.action is not None
        if self.run is not None and self.action is not None:
            raise ValueError("give 'run' or 'action', not both")
        if self.kind == "ssh" and not has_cmd:
            raise ValueError("an ssh step needs 'run' or 'action'")
        if self.kind == "check" and not (has_cmd or self.http):
            raise ValueError("a check step needs 'http: health', 'run' or 'action'")
        if self.kind == "check" and has_cmd and self.http:
            raise ValueError("a check step is either 'http' or a command, not both")
        if self.kind in ("manual", "gate") and (has_cmd or self.http):
            raise ValueError(f"a {self.kind} step runs no command")
        if self.kind in ("manual", "gate") and self.hosts == "rolling":
            raise ValueError(f"a {self.kind} step is not run on hosts: it cannot be rolling")
        if self.kind == "gate" and not self.roles:
            raise ValueError("a gate step needs 'roles' who may approve it")
        if self.kind != "gate" and self.roles:
            raise ValueError("'roles' belongs to gate steps")
        if self.rollback is not None and self.kind != "ssh":
            raise ValueError("only ssh steps may declare a rollback")
        if self.expect is not None:
            try:
                re.compile(self.expect)
            except re.error as e:
                raise ValueError(f"'expect' is not a valid regular expression: {e}") from e
        return self

    @model_validator(mode="after")
    def _names(self, info: ValidationInfo) -> Step:
        """With the runbook's names in the validation context, errors point at the step."""
        known = (info.context or {}).get("names")
        if known is not None:
            for tpl in self.templates():
                unknown = sorted(set(placeholders(tpl)) - set(known))
                if unknown:
                    raise ValueError(f"unknown placeholder(s) {unknown}; known: {sorted(known)}")
        return self

    @property
    def is_machine(self) -> bool:
        return self.kind in ("ssh", "check")

    def templates(self) -> list[str]:
        out = [t for t in (self.run,) if t]
        if self.rollback and self.rollback.run:
            out.append(self.rollback.run)
        return out


class Question(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    ask: str
    required: bool = True
    #: the request's own words answer it when nobody did (a hotfix's "what is broken?")
    from_request: bool = False


class Approval(Strict):
    roles: Annotated[list[Role], Field(min_length=1)]
    quorum: Annotated[int, Field(ge=1, le=10)] = 1
    architect: bool = False


PERCENT = re.compile(r"^([1-9][0-9]?|100)%$")


class Rolling(Strict):
    """How the steps marked `hosts: rolling` go over the hosts: batch by batch."""

    batch: int | str = 1  # hosts a batch, or a share of them: "25%"
    canary: bool = False  # one host alone first
    between: Literal["gate", "pause", "none"] = "gate"  # what happens between two batches
    pause: Annotated[int, Field(ge=1, le=3600)] = 30  # seconds, when between is pause
    gate_roles: list[Role] = ["lead"]
    max_failures: int | str = 0  # failed hosts tolerated before it stops and rolls back

    @field_validator("batch", "max_failures")
    @classmethod
    def _count(cls, v: int | str, info: ValidationInfo) -> int | str:
        floor = 1 if info.field_name == "batch" else 0
        if isinstance(v, int) and v >= floor:
            return v
        if isinstance(v, str) and PERCENT.fullmatch(v):
            return v
        raise ValueError(f"{info.field_name}: a number (at least {floor}) or a share like '25%'")

    def count(self, value: int | str, hosts: int, floor: int) -> int:
        if isinstance(value, int):
            return value
        return max(floor, math.ceil(hosts * int(value[:-1]) / 100))


class Runbook(Strict):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]
    kind: ProcessKind
    title: str
    description: str
    target_agent: str = "production_server"
    requesters: Annotated[list[Role], Field(min_length=1)]
    approval: Approval
    parameters: dict[str, Parameter] = {}
    questions: list[Question] = []
    steps: Annotated[list[Step], Field(min_length=1)]
    rollback: list[Step] = []
    validation: list[str] = []
    rolling: Rolling = Rolling()
    #: what to record of every host at approval and compare before the first machine step
    drift: list[Fact] = []

    @field_validator("parameters")
    @classmethod
    def _param_names(cls, v: dict[str, Parameter]) -> dict[str, Parameter]:
        for name in v:
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", name):
                raise ValueError(f"parameter name {name!r} must be lower_snake_case")
            if name in (BUILTIN_NAMES - {"service", "environment"}) | RESERVED:
                raise ValueError(f"parameter name {name!r} is reserved")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Runbook:
        ids = [s.id for s in [*self.steps, *self.rollback]]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"step ids must be unique, repeated: {dupes}")
        known = BUILTIN_NAMES | set(self.parameters)
        for step in [*self.steps, *self.rollback]:
            for tpl in step.templates():
                unknown = sorted(set(placeholders(tpl)) - known)
                if unknown:
                    raise ValueError(
                        f"step {step.id!r} uses unknown placeholder(s) {unknown}; "
                        f"known: {sorted(known)}"
                    )
        for step in [*self.steps, *self.rollback]:
            if step.when is not None:
                p = self.parameters.get(step.when)
                if p is None or p.type != "bool":
                    raise ValueError(f"step {step.id!r}: 'when' must name a bool parameter")
        for step in self.rollback:
            if not step.is_machine:
                raise ValueError(f"rollback step {step.id!r} must be an ssh or check step")
        if self.approval.architect and "architect" not in self.approval.roles:
            raise ValueError("approval.architect is set but 'architect' is not in approval.roles")
        qids = [q.id for q in self.questions]
        if len(qids) != len(set(qids)):
            raise ValueError("question ids must be unique")
        return self
