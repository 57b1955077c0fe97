"""An agent's identity: a name, a role (the seed's Architect or Coder), a scope, and a token
of which only the hash is kept."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

__all__ = ["NAME", "PERSON", "ROLES", "TOKEN_PREFIX", "Agent", "new_token", "token_hash"]

ROLES = ("architect", "coder")
NAME = re.compile(r"[a-z][a-z0-9-]{1,39}")
PERSON = re.compile(r"[UW][A-Z0-9_]{2,20}")  # a Slack user id: whom an agent acts for
TOKEN_PREFIX = "chatops-agent-"  # noqa: S105 - a prefix, not a secret


@dataclass(frozen=True)
class Agent:
    name: str
    role: str
    services: tuple[str, ...]  # empty: every service
    processes: tuple[str, ...]  # empty: every process the role allows
    created_by: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    #: the people (Slack user ids) it may act for (`on_behalf_of`); empty: for nobody
    acts_for: tuple[str, ...] = ()

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"


def new_token() -> str:
    """256 random bits; shown once, never stored."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the store keeps. The token is random and long, so one SHA-256 suffices (no
    dictionary to slow down), and lookups stay a single indexed read."""
    return hashlib.sha256(token.encode()).hexdigest()
