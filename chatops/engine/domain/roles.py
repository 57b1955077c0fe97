"""Who holds which role: Slack user ids listed in the config, or members of listed groups."""

from __future__ import annotations

from collections.abc import Callable

from chatops.engine.planning.config import ROLES, Config

__all__ = ["GroupLookup", "Roles", "no_groups"]

GroupLookup = Callable[[str], frozenset[str]]


def no_groups(_user: str) -> frozenset[str]:
    return frozenset()


class Roles:
    def __init__(self, config: Config, groups_of: GroupLookup = no_groups) -> None:
        self._config = config
        self._groups_of = groups_of

    def of(self, user: str) -> frozenset[str]:
        held: set[str] = set()
        groups: frozenset[str] | None = None
        for role in ROLES:
            members = self._config.roles.get(role)  # type: ignore[call-overload]
            if members is None:
                continue
            if user in members.users:
                held.add(role)
                continue
            if members.groups:
                if groups is None:
                    groups = self._groups_of(user)
                if groups & set(members.groups):
                    held.add(role)
        return frozenset(held)

    def may_request(self, user: str, allowed: list[str]) -> bool:
        """Anyone may request where 'requester' is allowed and no requester list is configured."""
        if "requester" in allowed and "requester" not in self._config.roles:
            return True
        return bool(self.of(user) & set(allowed))

    def members(self, role: str) -> list[str]:
        m = self._config.roles.get(role)  # type: ignore[call-overload]
        return list(m.users) if m else []
