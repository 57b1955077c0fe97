"""How each fact of a host is read (`drift:` in a runbook): the command, built from the
inventory alone (never from a request), and how its answer becomes a value that stays the
same while nothing changes (no uptimes, no PIDs)."""

from __future__ import annotations

from chatops.engine.planning.inventory import (
    ComposeManager,
    CustomManager,
    Pm2Manager,
    Service,
    SystemdManager,
)
from chatops.engine.planning.templates import quote, render

__all__ = ["fact_command", "fact_value"]


def fact_command(svc: Service, name: str) -> str:
    """The command that reads fact `name` ("revision", "service") of the service on a host."""
    if name == "revision":
        return f"git -C {quote(svc.app_dir)} rev-parse HEAD"
    m = svc.manager
    match m:
        case SystemdManager():
            sudo = "sudo -n " if m.sudo else ""
            return f"{sudo}systemctl is-active {quote(m.unit)}"
        case Pm2Manager():  # the describe table's status row: "│ status │ online │"
            return f"pm2 describe {quote(m.name)} | grep -m1 -E '^. status '"
        case ComposeManager():
            return (
                f"docker compose -f {quote(m.file)} ps --format '{{{{.State}}}}' {quote(m.service)}"
            )
        case CustomManager():
            return render(m.status, {"app_dir": svc.app_dir})
    raise AssertionError(f"unknown manager {m!r}")  # pragma: no cover


def fact_value(
    svc: Service, name: str, outcome: str, exit_code: int | None, output: str, error: str = ""
) -> str:
    """The value a fact's reading (how it ended, its output) says; "unreadable (...)" when it
    says nothing usable."""
    if outcome not in ("ok", "failed"):
        return f"unreadable ({error or outcome})"
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    if name == "revision":
        return lines[-1] if outcome == "ok" and lines else f"unreadable (exit {exit_code})"
    m = svc.manager
    if isinstance(m, Pm2Manager):
        return _pm2_status(output, m.name)
    if isinstance(m, SystemdManager | ComposeManager):
        return lines[-1] if lines else f"exit {exit_code}"
    return f"exit {exit_code}"  # a custom status command: what its status code says


def _pm2_status(text: str, name: str) -> str:
    for line in text.splitlines():
        cells = [c.strip() for c in line.replace("\u2502", "|").split("|") if c.strip()]
        if len(cells) >= 2 and cells[0] == "status":
            return cells[1]
    return f"unreadable (pm2 describe {name} shows no status)"
