"""Inventory actions: the commands a service's manager, logs and database define."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from chatops.engine.planning.inventory import (
    CommandLogs,
    ComposeManager,
    CustomManager,
    FileLogs,
    JournaldLogs,
    Pm2Manager,
    Service,
    SystemdManager,
)
from chatops.engine.planning.runbook import Step
from chatops.engine.planning.templates import quote, render
from chatops.errors import ConfigError

__all__ = ["LOG_LINES", "action_command", "unsupported"]

LOG_LINES = 200


def action_command(service_name: str, svc: Service, action: str, ctx: Mapping[str, object]) -> str:
    """The shell command for an action on a service; raises ConfigError if it has none."""
    if action in ("status", "start", "stop", "restart"):
        return _manager(svc, action, ctx)
    if action in ("logs", "error_logs"):
        return _logs(service_name, svc, action == "error_logs", ctx)
    if action == "install":
        if not svc.install:
            raise _missing(service_name, "install", action)
        return render(svc.install, ctx)
    db = svc.database
    if db is None:
        raise _missing(service_name, "database", action)
    template = {
        "backup": db.backup,
        "restore": db.restore,
        "migrate": db.migrate,
        "verify_db": db.verify,
        "db_ping": db.ping,
    }.get(action)
    if template is None:
        raise _missing(service_name, f"database.{action.removesuffix('_db')}", action)
    cmd = render(template, ctx)
    if action == "backup":
        return f"mkdir -p {quote(ctx['backup_dir'])} && {cmd}"
    return cmd


def _missing(service_name: str, key: str, action: str) -> ConfigError:
    return ConfigError(
        f"services.{service_name}", [f"{key}: needed by the '{action}' action but not configured"]
    )


def _manager(svc: Service, verb: str, ctx: Mapping[str, object]) -> str:
    m = svc.manager
    match m:
        case SystemdManager():
            sudo = "sudo -n " if m.sudo else ""
            if verb == "status":
                return f"{sudo}systemctl status --no-pager {quote(m.unit)}"
            return f"{sudo}systemctl {verb} {quote(m.unit)}"
        case Pm2Manager():
            if verb == "status":
                return f"pm2 describe {quote(m.name)}"
            return f"pm2 {verb} {quote(m.name)}"
        case ComposeManager():
            base = f"docker compose -f {quote(m.file)}"
            if verb == "status":
                return f"{base} ps {quote(m.service)}"
            return f"{base} {verb} {quote(m.service)}"
        case CustomManager():
            return render(getattr(m, verb), ctx)
    raise AssertionError(f"unknown manager {m!r}")  # pragma: no cover


def _logs(service_name: str, svc: Service, errors: bool, ctx: Mapping[str, object]) -> str:
    src = svc.logs
    match src:
        case None:
            raise _missing(service_name, "logs", "error_logs" if errors else "logs")
        case JournaldLogs():
            prio = " -p err" if errors else ""
            return f"journalctl -u {quote(src.unit)} -n {LOG_LINES} --no-pager{prio}"
        case FileLogs():
            paths = src.error_paths if errors and src.error_paths else src.paths
            files = " ".join(quote(render(p, ctx)) for p in paths)
            if errors and not src.error_paths:
                grep = "grep -iE 'error|fatal|exception' || true"
                return f"tail -n {LOG_LINES * 10} -- {files} | {grep}"
            return f"tail -n {LOG_LINES} -- {files}"
        case CommandLogs():
            stream = "err" if errors else "all"
            return render(src.command, {**ctx, "lines": LOG_LINES, "since": "", "stream": stream})
    raise AssertionError(f"unknown log source {src!r}")  # pragma: no cover


def unsupported(svc: Service, steps: Sequence[Step]) -> list[str]:
    """What a service lacks for these runbook steps (optional steps excepted)."""
    db = svc.database
    have = {
        "install": svc.install is not None,
        "logs": svc.logs is not None,
        "error_logs": svc.logs is not None,
        "backup": db is not None,
        "restore": db is not None,
        "migrate": db is not None,
        "verify_db": db is not None and db.verify is not None,
        "db_ping": db is not None and db.ping is not None,
    }
    out = []
    for step in steps:
        if step.optional:
            continue
        if step.http == "health" and svc.health is None:
            out.append(f"step {step.id} needs a health check")
        actions = [step.action, step.rollback.action if step.rollback else None]
        for action in actions:
            if action is not None and not have.get(action, True):
                out.append(f"step {step.id} needs the '{action}' action configured")
    return out
