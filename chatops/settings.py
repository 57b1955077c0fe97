"""Process settings from the environment (CHATOPS_*, SLACK_*). Secrets never sit in files."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Rate", "Settings", "parse_rates"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHATOPS_", extra="ignore")

    config: Path = Path("chatops.yml")
    commands: Path = Path("commands")
    database_url: str = "sqlite:///chatops.db"
    log_format: Literal["text", "json"] = "text"
    log_level: str | None = None  # default: WARNING for commands, INFO for the bot
    slack_api_url: str | None = None
    # the Slack budget: Slack's tiers unless changed here, e.g. "chat.update=40/min+15"
    # (chat.postMessage per channel); see docs/configuration.md
    slack_limits: str = ""
    scheduler_retry: float = 15.0  # seconds between a follower's tries to lead the scheduler
    sweep_every: float = 15.0  # seconds between sweeps (stranded runs, expiries, queued runs)
    event_retention_days: float = 14.0  # delivered events older than this are forgotten
    # the site whose runs this worker executes (`chatops worker --site`; serve's, if set):
    # hosts behind a network boundary name theirs in the inventory
    site: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")
    # bounds before authentication: a request body's bytes (413 past it), and the seconds a
    # request's headers may take (the connection is closed past it)
    max_body: int = Field(default=1024 * 1024, ge=1024)
    reload_every: float = Field(default=2.0, gt=0)  # seconds between looks at the config files
    header_timeout: float = Field(default=10.0, gt=0)
    socket_grace: float = 60.0  # seconds Socket Mode may be down before /healthz says 503
    socket_ping: float = 10.0  # seconds between Socket Mode pings (a dead socket is seen then)
    # run pages: links are signed with this key (default: one derived from the Slack signing
    # secret), last this long, and start with this address (default: where serve listens)
    link_secret: str | None = None
    link_ttl: float = 3600.0
    public_url: str | None = None
    slack_bot_token: str | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "CHATOPS_SLACK_BOT_TOKEN")
    )
    slack_app_token: str | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "CHATOPS_SLACK_APP_TOKEN")
    )
    slack_signing_secret: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "CHATOPS_SLACK_SIGNING_SECRET"),
    )

    @field_validator("slack_limits")
    @classmethod
    def _limits(cls, value: str) -> str:
        parse_rates(value)  # a typo is an error at start, not a limit silently ignored
        return value

    def secret_values(self) -> list[str]:
        return [
            v
            for v in (
                self.slack_bot_token,
                self.slack_app_token,
                self.slack_signing_secret,
                self.link_secret,
            )
            if v
        ]

    def link_key(self) -> bytes:
        """The key run links are signed with: CHATOPS_LINK_SECRET, else one derived from
        the Slack signing secret (so serve and the CLI agree), else none (links are off)."""
        if self.link_secret:
            return self.link_secret.encode()
        if self.slack_signing_secret:
            secret = self.slack_signing_secret.encode()
            return hmac.new(secret, b"chatops run links", hashlib.sha256).digest()
        return b""


@dataclass(frozen=True)
class Rate:
    """A Slack limit to keep to: calls a minute, and the burst tolerated."""

    per_minute: float
    burst: int


def parse_rates(text: str) -> dict[str, Rate]:
    """`chat.update=40/min+15, chat.postMessage=1/s+4`: the limits to keep to, per method
    (chat.postMessage per channel). Raises ValueError on anything else."""
    out: dict[str, Rate] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        method, sep, spec = part.partition("=")
        rate, plus, burst = spec.partition("+")
        count, slash, unit = rate.partition("/")
        seconds = {"s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0}.get(unit.strip())
        if not (sep and plus and slash) or seconds is None or not method.strip():
            raise ValueError(f"{part!r}: write METHOD=COUNT/min+BURST or METHOD=COUNT/s+BURST")
        per_minute, most = float(count) * 60.0 / seconds, int(burst)
        if per_minute <= 0 or most < 1:
            raise ValueError(f"{part!r}: the rate and the burst must be positive")
        out[method.strip()] = Rate(per_minute, most)
    return out
