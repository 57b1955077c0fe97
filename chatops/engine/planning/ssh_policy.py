"""`ssh:` in chatops.yml: how wide one controller fans out over SSH, and how fast it opens
connections, so a fleet's step neither exhausts this machine nor trips the servers'
MaxStartups (sshd refuses unauthenticated connections beyond it)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chatops.engine.planning.durations import parse_duration

__all__ = ["SshPolicy"]


class SshPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: hosts at once across every run of this process (a step's `max_parallel` is within
    #: it); unset, sized for the machine (executors/pacing.py: machine_parallel)
    max_parallel: Annotated[int, Field(ge=1, le=2000)] | None = None
    #: new connections a second, process-wide (500 hosts open in ~5 s at 100; lower it
    #: for hosts behind one bastion: each is a handshake on the bastion's sshd)
    connects_per_second: Annotated[float, Field(gt=0, le=1000)] = 100.0
    #: a connection refused or dropped before SSH's greeting (MaxStartups, a full backlog)
    #: is tried again this many times, waiting 0.25 s, 0.5 s, 1 s ... (with jitter)
    connect_retries: Annotated[int, Field(ge=0, le=10)] = 4
    #: a run's connections stay open this long after it, for the next run on the same
    #: hosts (checked alive, and their keys still known, before use); null: closed with it
    keep_warm: str | None = "60s"

    @field_validator("keep_warm")
    @classmethod
    def _warm(cls, v: str | None) -> str | None:
        if v is not None and parse_duration(v).total_seconds() > 3600:
            raise ValueError("keep_warm: at most 1h")
        return v

    @property
    def warm_seconds(self) -> float:
        return parse_duration(self.keep_warm).total_seconds() if self.keep_warm else 0.0
