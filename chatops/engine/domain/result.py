"""One result type for every executor, local or remote (after invoke/fabric's Result)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CommandResult", "Outcome", "job_name"]

Outcome = Literal[
    "ok",
    "failed",
    "timeout",
    "unreachable",
    "auth_failed",
    "host_key_unknown",
    "host_key_mismatch",
    "cancelled",
    "unknown",  # the connection was lost mid-command and the host could not say how it ended
    "error",
]


@dataclass(frozen=True)
class CommandResult:
    host: str
    command: str
    outcome: Outcome
    exit_code: int | None
    tail: str
    duration: float
    error: str = ""
    truncated: bool = False
    job: str = ""  # the remote job's id, for an outcome that is unknown (see Executor.settle)

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def failed(self) -> bool:
        return not self.ok

    def tail_lines(self, n: int = 20) -> str:
        return "\n".join(self.tail.splitlines()[-n:])

    @property
    def code(self) -> str:
        """How it ended, in words: `exit 0`, `HTTP 200` (a health check), or the outcome."""
        if self.exit_code is None:
            return self.outcome.replace("_", " ")
        return (
            f"HTTP {self.exit_code}"
            if self.command.startswith("GET ")
            else f"exit {self.exit_code}"
        )


def job_name(task_id: str, run_id: int, record: int) -> str:
    """The remote job a host's step runs as: known before it starts, so a process that dies
    mid-command leaves a name the next one can ask the host about. The plan's task id makes
    it unique across installations (and databases) that reach the same host and user."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in task_id)[:48]
    return f"{safe}-r{run_id}-s{record}"
