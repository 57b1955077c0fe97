"""Slack user-group membership, for roles given as group ids (cached for a few minutes)."""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)


class SlackDirectory:
    def __init__(self, client: WebClient, groups: list[str], ttl: float = 300.0) -> None:
        self.client = client
        self.groups = sorted(set(groups))
        self.ttl = ttl
        self._members: dict[str, frozenset[str]] = {}
        self._at = 0.0
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        members = {}
        for g in self.groups:
            try:
                resp = self.client.usergroups_users_list(usergroup=g)
                members[g] = frozenset(resp.get("users") or [])
            except SlackApiError as e:
                log.warning("cannot read user group %s: %s", g, e.response.get("error"))
                members[g] = self._members.get(g, frozenset())
        self._members, self._at = members, time.monotonic()

    def groups_of(self, user: str) -> frozenset[str]:
        if not self.groups:
            return frozenset()
        with self._lock:
            if time.monotonic() - self._at > self.ttl:
                self._refresh()
            return frozenset(g for g, m in self._members.items() if user in m)
