"""The whole configuration: inventory, roles, policies and secrets."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chatops.engine.planning.durations import parse_duration
from chatops.engine.planning.freezes import FreezePolicy
from chatops.engine.planning.inventory import JumpHost, Reachable, Service
from chatops.engine.planning.ssh_policy import SshPolicy
from chatops.engine.planning.starts import StartPolicy

__all__ = [
    "HOLD_FOR",
    "ROLES",
    "AgentPolicy",
    "ApprovalRule",
    "ApprovalSlas",
    "ApprovalTimes",
    "AuditPolicy",
    "Config",
    "Policies",
    "Role",
    "RoleMembers",
    "Secrets",
    "channel_id",
]

HOLD_FOR = "24h"  # how long approvals hold for a run that starts later, unless set
ROLES = ("requester", "architect", "lead", "oncall", "coder")
Role = Literal["requester", "architect", "lead", "oncall", "coder"]


class RoleMembers(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    users: list[str] = []
    groups: list[str] = []


class Policies(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    four_eyes: bool = True
    self_approve: list[str] = []
    approvals: dict[str, Annotated[int, Field(ge=1, le=10)]] = {}
    approval_ttl: str = "4h"
    postmortem_due: str = "2d"
    reminder_every: str = "1d"
    snooze: str = "1d"
    escalate_after: Annotated[int, Field(ge=1, le=50)] = 3
    logs_roles: list[Role] = ["oncall", "coder", "lead"]
    insights_roles: list[Role] = ["lead"]  # who may open /insights, the team's numbers
    logs_max_lines: Annotated[int, Field(ge=10, le=100000)] = 2000
    blast_radius: dict[str, Annotated[int, Field(ge=1, le=10000)]] = {}  # environment: hosts
    #: a worker (serve, `chatops worker`) silent this long is dead: its runs are taken over
    stale_run_after: str = "20s"
    store_outage_limit: str = "2m"  # a run waits out a database outage this long, then stops

    @field_validator(
        "approval_ttl",
        "postmortem_due",
        "stale_run_after",
        "store_outage_limit",
        "reminder_every",
        "snooze",
    )
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v

    @property
    def approval_ttl_delta(self) -> timedelta:
        return parse_duration(self.approval_ttl)

    def delta(self, name: str) -> timedelta:
        return parse_duration(str(getattr(self, name)))

    @property
    def stale_run_delta(self) -> timedelta:
        return parse_duration(self.stale_run_after)


def channel_id(v: str | None) -> str | None:
    if v is not None and not re.fullmatch(r"[CG][A-Z0-9]{2,20}", v):
        raise ValueError(f"channel {v!r} must be a Slack channel id (C0123ABCD)")
    return v


class AgentPolicy(BaseModel):
    """How agents (the API, the MCP server) are served."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str | None = None  # the Slack channel (id) where agents' plans are posted
    requests_per_minute: Annotated[int, Field(ge=1, le=6000)] = 60
    burst: Annotated[int, Field(ge=1, le=1000)] = 20
    max_wait: Annotated[int, Field(ge=1, le=3600)] = 300  # seconds one wait may last
    # waits (decisions, events) one agent may have open at once, per process; past: 429
    max_waits: Annotated[int, Field(ge=1, le=10000)] = 64

    @field_validator("channel")
    @classmethod
    def _channel(cls, v: str | None) -> str | None:
        return channel_id(v)


class AuditPolicy(BaseModel):
    """Where the audit chain's head is anchored outside the database, and how often."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str | None = None  # a Slack channel id for the anchors
    anchor_file: str | None = None  # a file the anchors are appended to (JSON lines)
    anchor_every: str = "1h"

    @field_validator("anchor_every")
    @classmethod
    def _every(cls, v: str) -> str:
        if parse_duration(v).total_seconds() < 60:
            raise ValueError("anchor_every must be at least 1m")
        return v

    @field_validator("channel")
    @classmethod
    def _channel(cls, v: str | None) -> str | None:
        return channel_id(v)

    @property
    def every(self) -> timedelta:
        return parse_duration(self.anchor_every)


class ApprovalRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    environments: list[str] = []  # empty: every environment
    processes: list[str] = []  # empty: every process
    roles: Annotated[list[Role], Field(min_length=1)]
    quorum: Annotated[int, Field(ge=1, le=10)] = 1
    architect: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v.strip() or len(v) > 40:
            raise ValueError("a rule needs a name (at most 40 characters)")
        return v

    @model_validator(mode="after")
    def _architect(self) -> ApprovalRule:
        if self.architect and "architect" not in self.roles:
            raise ValueError(f"rule {self.name!r} requires the architect: list it in roles")
        return self

    def applies(self, process: str, environment: str | None) -> bool:
        env_ok = not self.environments or environment in self.environments
        return env_ok and (not self.processes or process in self.processes)

    def strictness(self) -> tuple[int, bool, int]:
        return (self.quorum, self.architect, -len(self.roles))


class ApprovalTimes(BaseModel):
    """How long a plan may wait for its approvals: reminded at `sla`, escalated to the leads
    and on-call past `escalate_after`, expired at `expire_after` (durations like 15m, 4h);
    and how long approvals given hold for a run that starts later (`hold_for`, 24h unless
    set): a scheduled run whose approvals are older when it is due expires instead."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sla: str | None = None
    escalate_after: str | None = None
    expire_after: str | None = None
    hold_for: str | None = None

    @property
    def holds(self) -> timedelta:
        return parse_duration(self.hold_for or HOLD_FOR)

    @field_validator("sla", "escalate_after", "expire_after", "hold_for")
    @classmethod
    def _duration(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v


class ApprovalSlas(ApprovalTimes):
    """`approvals:` in chatops.yml: the times for every plan, and `per` process or
    process/environment (`deploy`, `deploy/production`), the most specific winning."""

    per: dict[str, ApprovalTimes] = {}

    def times_for(self, process: str, environment: str | None) -> ApprovalTimes:
        """The times for a plan of `process` in `environment`, each from the most specific
        place that sets it."""
        layers: list[ApprovalTimes] = [self]
        if process in self.per:
            layers.append(self.per[process])
        if environment and f"{process}/{environment}" in self.per:
            layers.append(self.per[f"{process}/{environment}"])
        got: dict[str, str | None] = dict.fromkeys(
            ("sla", "escalate_after", "expire_after", "hold_for")
        )
        for layer in layers:
            for key in got:
                value = getattr(layer, key)
                if value is not None:
                    got[key] = value
        return ApprovalTimes(**got)


class Secrets(BaseModel):
    """Where secret values live, so they can be redacted. Values never sit in the file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: list[str] = []
    files: list[str] = []


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    services: dict[str, Service] = {}
    bastions: dict[str, Reachable] = {}  # jump hosts, by the name hosts give in `via:`
    ssh: SshPolicy = SshPolicy()
    roles: dict[Role, RoleMembers] = {}
    policies: Policies = Policies()
    approval_rules: list[ApprovalRule] = []
    approvals: ApprovalSlas = ApprovalSlas()
    agents: AgentPolicy = AgentPolicy()
    audit: AuditPolicy = AuditPolicy()
    freezes: FreezePolicy = FreezePolicy()
    starts: StartPolicy = StartPolicy()
    secrets: Secrets = Secrets()

    def take(self, new: Config) -> None:
        """A reload: this Config, the one every service of a process holds, takes `new`'s
        values (validated already), so every later check reads the config in force. The
        one sanctioned change of a frozen Config; plans are stored and never change."""
        for name in type(self).model_fields:
            object.__setattr__(self, name, getattr(new, name))

    def site_of(self, service: str | None, environment: str | None) -> str | None:
        """The site whose workers run this service+environment's steps (None: no site)."""
        svc = self.services.get(service or "")
        env = svc.environments.get(environment or "") if svc else None
        return env.site_of_hosts if env else None

    @field_validator("services")
    @classmethod
    def _names(cls, v: dict[str, Service]) -> dict[str, Service]:
        for name in v:
            if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,62}", name):
                raise ValueError(f"service name {name!r} must be lower-case letters, digits, .-_")
        return v

    @property
    def timezone(self) -> str:
        """The team's time zone: where a request's `start_at=22:00` is read."""
        return self.starts.timezone or self.freezes.timezone

    @model_validator(mode="after")
    def _through_bastions(self) -> Config:
        """Each host's `via:` names a bastion: the host carries it (`jump`), so whatever
        reaches the host knows the way."""
        for name in self.bastions:
            if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,62}", name):
                raise ValueError(f"bastion name {name!r} must be lower-case letters, digits, .-_")
        services = {}
        for sname, svc in self.services.items():
            envs = {}
            for ename, env in svc.environments.items():
                hosts = []
                for h in env.hosts:
                    if h.via is not None:
                        b = self.bastions.get(h.via)
                        if b is None:
                            known = ", ".join(sorted(self.bastions)) or "none configured"
                            raise ValueError(
                                f"host {h.name} of {sname}/{ename}: via {h.via!r} is not in "
                                f"bastions ({known})"
                            )
                        if h.transport != "ssh":
                            raise ValueError(f"host {h.name}: only an ssh host goes via a bastion")
                        h = h.model_copy(update={"jump": JumpHost(name=h.via, **b.model_dump())})
                    hosts.append(h)
                envs[ename] = env.model_copy(update={"hosts": hosts})
            services[sname] = svc.model_copy(update={"environments": envs})
        object.__setattr__(self, "services", services)  # frozen: set once, here
        return self

    @model_validator(mode="after")
    def _windows_once(self) -> Config:
        names = [w.name for w in self.starts.windows]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"starts.windows: a name given twice: {', '.join(twice)}")
        return self

    @model_validator(mode="after")
    def _freezes_name_services(self) -> Config:
        for w in self.freezes.windows:
            unknown = [s for s in w.services if s not in self.services]
            if unknown:
                raise ValueError(
                    f"freeze {w.name!r} names unknown service(s): {', '.join(unknown)}"
                )
        return self
