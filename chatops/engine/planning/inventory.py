"""The inventory: services, their environments and hosts, and how each is managed."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "NAME_RE",
    "UNIT_RE",
    "CommandLogs",
    "ComposeManager",
    "CustomManager",
    "Database",
    "Environment",
    "FileLogs",
    "Git",
    "HealthCheck",
    "Host",
    "JournaldLogs",
    "JumpHost",
    "LogSource",
    "Manager",
    "Pm2Manager",
    "Reachable",
    "Service",
    "Strict",
    "SystemdManager",
]

NAME_RE = r"^[a-z0-9][a-z0-9._-]{0,62}$"
UNIT_RE = r"^[A-Za-z0-9@._:-]{1,128}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reachable(Strict):
    """Where an SSH server is and how it is logged in to (its key known in known_hosts)."""

    address: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 22
    user: str = "deploy"
    key_file: str | None = None
    known_hosts: str | None = None
    connect_timeout: Annotated[float, Field(gt=0, le=120)] = 10.0

    @field_validator("address")
    @classmethod
    def _address(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9.:_-]{1,253}", v):
            raise ValueError("not a host name or IP address")
        return v

    @field_validator("user")
    @classmethod
    def _user(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z_][a-z0-9_.-]{0,31}", v):
            raise ValueError("not a valid user name")
        return v


class JumpHost(Reachable):
    """A bastion (`bastions:` in chatops.yml) that hosts are reached through (`via:`), as
    OpenSSH's ProxyJump: the bastion's key and the host's are each checked against
    known_hosts; the host's login is end to end, the bastion only forwards."""

    name: Annotated[str, Field(pattern=NAME_RE)]


class Host(Reachable):
    """One machine a service runs on."""

    name: Annotated[str, Field(pattern=NAME_RE)]
    transport: Literal["ssh", "local"] = "ssh"
    #: after a connection drops mid-command, how long to try reaching the host again before
    #: the command's outcome is called unknown
    reconnect_for: Annotated[float, Field(ge=0, le=3600)] = 60.0
    via: str | None = None  # the bastion (a name in `bastions:`) it is reached through
    jump: JumpHost | None = None  # that bastion, as the config resolves `via`
    #: behind a network boundary: only workers started with this site run its steps
    site: Annotated[str, Field(pattern=NAME_RE)] | None = None


class Environment(Strict):
    hosts: Annotated[list[Host], Field(min_length=1)]
    #: the site of every host of the environment that names none
    site: Annotated[str, Field(pattern=NAME_RE)] | None = None

    @model_validator(mode="after")
    def _unique(self) -> Environment:
        names = [h.name for h in self.hosts]
        if len(names) != len(set(names)):
            raise ValueError(f"host names must be unique, got {names}")
        sites = {h.site or self.site for h in self.hosts}
        if len(sites) > 1:
            shown = ", ".join(sorted(s or "(none)" for s in sites))
            raise ValueError(
                f"an environment's hosts share one site (a run is one worker's), got {shown}"
            )
        return self

    @property
    def site_of_hosts(self) -> str | None:
        """The site whose workers run this environment's steps (None: any worker without one)."""
        return self.hosts[0].site or self.site


class SystemdManager(Strict):
    type: Literal["systemd"]
    unit: Annotated[str, Field(pattern=UNIT_RE)]
    sudo: bool = False


class Pm2Manager(Strict):
    type: Literal["pm2"]
    name: Annotated[str, Field(pattern=UNIT_RE)]


class ComposeManager(Strict):
    type: Literal["docker-compose"]
    service: Annotated[str, Field(pattern=UNIT_RE)]
    file: str = "docker-compose.yml"


class CustomManager(Strict):
    """Operator-written commands. They are trusted config; placeholders in them are quoted."""

    type: Literal["custom"]
    status: str
    start: str
    stop: str
    restart: str


Manager = Annotated[
    SystemdManager | Pm2Manager | ComposeManager | CustomManager, Field(discriminator="type")
]


class JournaldLogs(Strict):
    type: Literal["journald"]
    unit: Annotated[str, Field(pattern=UNIT_RE)]


class FileLogs(Strict):
    type: Literal["file"]
    paths: Annotated[list[str], Field(min_length=1)]
    error_paths: list[str] = []


class CommandLogs(Strict):
    type: Literal["command"]
    command: str


LogSource = Annotated[JournaldLogs | FileLogs | CommandLogs, Field(discriminator="type")]


class HealthCheck(Strict):
    url: str
    expect_status: int = 200
    expect_json: dict[str, str | int | bool] = {}
    expect_body: str | None = None
    timeout: Annotated[float, Field(gt=0, le=60)] = 5.0
    retries: Annotated[int, Field(ge=0, le=30)] = 3
    interval: Annotated[float, Field(ge=0, le=60)] = 2.0

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://", v):
            raise ValueError("must start with http:// or https://")
        return v


class Database(Strict):
    """How the service's database is backed up, migrated, verified and restored."""

    backup: str = "pg_dump --format=custom --file={backup_file} {database}"
    restore: str = "pg_restore --clean --if-exists --dbname={database} {backup_file}"
    migrate: str = "node {script}"
    verify: str | None = None
    ping: str | None = None
    name: str = "app"
    backup_dir: str = "/var/backups/chatops"


class Git(Strict):
    remote: str = "origin"
    branch: str = "main"


class Service(Strict):
    description: str = ""
    app_dir: str
    git: Git = Git()
    install: str | None = None
    manager: Manager
    logs: LogSource | None = None
    health: HealthCheck | None = None
    database: Database | None = None
    environments: Annotated[dict[str, Environment], Field(min_length=1)]

    @field_validator("app_dir")
    @classmethod
    def _abs(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError("must be an absolute path")
        return v

    @field_validator("environments")
    @classmethod
    def _env_names(cls, v: dict[str, Environment]) -> dict[str, Environment]:
        for name in v:
            if not re.fullmatch(NAME_RE, name):
                raise ValueError(f"environment name {name!r} must match {NAME_RE}")
        return v
