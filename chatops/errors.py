"""The exception tree. Every error a user can cause is a ChatopsError with a clear message.

ChatopsError
 +-- ConfigError        a config or runbook file is wrong (names the file and key)
 +-- ParameterError     a request parameter is missing or invalid
 +-- TaskFormatError    imported task JSON is malformed
 +-- PermissionDenied   the user lacks the role for what they tried
 |    +-- NotAuthenticated  an agent's token is missing, unknown, revoked or expired
 +-- PolicyRefused      a plan breaks the process's rules
 +-- StateError         an action does not fit the run's current state
 +-- NotFound           no such run, plan or runbook
 +-- RateLimited        an agent asked too often; try again after `retry_after` seconds

StoreUnavailable        the database cannot be read or written just now (down, restarting,
                        disk full): transient, so writers retry; not a ChatopsError, so the
                        transaction it interrupted is rolled back, never half-committed
"""

from __future__ import annotations

__all__ = [
    "ChatopsError",
    "ConfigError",
    "NotAuthenticated",
    "NotFound",
    "ParameterError",
    "PermissionDenied",
    "PolicyRefused",
    "RateLimited",
    "StateError",
    "StoreUnavailable",
    "TaskFormatError",
    "UnknownName",
]


class ChatopsError(Exception):
    """Base of every error chatops raises on purpose."""


class ConfigError(ChatopsError):
    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        body = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{source}: invalid\n{body}")


class ParameterError(ChatopsError):
    pass


class TaskFormatError(ChatopsError):
    pass


class PermissionDenied(ChatopsError):
    pass


class NotAuthenticated(PermissionDenied):
    pass


class PolicyRefused(ChatopsError):
    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("plan refused: " + "; ".join(reasons))


class StateError(ChatopsError):
    pass


class NotFound(ChatopsError):
    pass


class UnknownName(NotFound, ParameterError):
    """A name the inventory does not hold (a service, an environment, a host): not found
    over the API (404), a usage error on the command line."""


class RateLimited(ChatopsError):
    def __init__(self, retry_after: float, why: str = "too many requests") -> None:
        self.retry_after = retry_after
        super().__init__(f"{why}: try again in {retry_after:.0f} s")


class StoreUnavailable(Exception):
    """The store could not be reached or written (a transient fault, not a decision)."""
