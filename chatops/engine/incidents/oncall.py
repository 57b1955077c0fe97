"""On-call reads: `/logs` (a service's log source on its hosts) and `/status`."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from chatops.engine.approvals.freezing import in_force
from chatops.engine.domain.result import CommandResult
from chatops.engine.domain.roles import Roles
from chatops.engine.domain.run import AuditEvent, RunState, RunView
from chatops.engine.incidents.log_times import within
from chatops.engine.incidents.logquery import LogQuery, log_command, since_of
from chatops.engine.planning.config import Config
from chatops.engine.planning.freezes import Freeze
from chatops.engine.planning.inventory import (
    ComposeManager,
    CustomManager,
    FileLogs,
    Host,
    Pm2Manager,
    Service,
    SystemdManager,
)
from chatops.engine.planning.plan import HttpCheck
from chatops.engine.planning.templates import quote, render
from chatops.engine.ports import Clock, Executor, HttpGetter
from chatops.engine.runs.checks import judge
from chatops.engine.unit_of_work import Transactions
from chatops.errors import PermissionDenied, UnknownName

__all__ = [
    "DOWN",
    "MAX_LOG_CHARS",
    "READ_TIMEOUT",
    "HostState",
    "LogResult",
    "OnCall",
    "ServiceStatus",
]

READ_TIMEOUT = 60


MAX_LOG_CHARS = 2 * 1024 * 1024


@dataclass(frozen=True)
class LogResult:
    query: LogQuery
    results: list[CommandResult]
    notes: list[str]
    outputs: dict[str, str]


@dataclass(frozen=True)
class HostState:
    host: str
    state: str
    uptime: str = ""
    restarts: str = ""
    detail: str = ""


DOWN = re.compile(r"(?i)\b(stopped|inactive|failed|dead|exited|errored|not running|not in pm2)\b")


@dataclass
class ServiceStatus:
    service: str
    environment: str
    hosts: list[HostState]
    health: str
    last_success: RunView | None
    active: list[RunView] = field(default_factory=list)
    open_postmortems: list[int] = field(default_factory=list)
    freezes: list[Freeze] = field(default_factory=list)

    @property
    def contradiction(self) -> str:
        """When the manager and the health check disagree, what to look at (else empty)."""
        down = [h for h in self.hosts if DOWN.search(h.state)]
        if self.health == "healthy" and self.hosts and len(down) == len(self.hosts):
            return (
                "the manager reports it down, yet the health check answers healthy: another "
                "copy may be serving, or the status command does not see this one"
            )
        if self.health.startswith(("unhealthy", "unreachable")) and self.hosts and not down:
            return "the manager reports it up, but the health check does not answer healthy"
        return ""


class OnCall:
    def __init__(
        self,
        config: Config,
        tx: Transactions,
        clock: Clock,
        roles: Roles,
        executors: Mapping[str, Executor],
        http: HttpGetter,
    ) -> None:
        self.config = config
        self.tx = tx
        self.clock = clock
        self.roles = roles
        self.executors = executors
        self.http = http

    def _audit(self, actor: str, action: str, detail: str) -> None:
        with self.tx() as t:
            t.audit.append(AuditEvent(self.clock.now(), actor, action, detail=detail))
            t.commit()

    def _service(self, name: str, environment: str | None) -> tuple[Service, str, list[Host]]:
        svc = self.config.services.get(name)
        if svc is None:
            known = ", ".join(sorted(self.config.services))
            raise UnknownName(f"unknown service {name!r}; known services: {known}")
        env = environment or (
            "production" if "production" in svc.environments else sorted(svc.environments)[0]
        )
        if env not in svc.environments:
            raise UnknownName(f"service {name} has no environment {env!r}")
        return svc, env, list(svc.environments[env].hosts)

    def _on_hosts(
        self,
        hosts: list[Host],
        commands: Mapping[str, str],
        outputs: dict[str, list[str]] | None = None,
    ) -> list[CommandResult]:
        def one(h: Host) -> CommandResult:
            ex = self.executors[h.transport]
            kept = outputs.setdefault(h.name, []) if outputs is not None else None
            size = [0]

            def keep(chunk: str) -> None:
                if kept is not None and size[0] < MAX_LOG_CHARS:
                    kept.append(chunk[: MAX_LOG_CHARS - size[0]])
                    size[0] += len(chunk)

            return ex.run(h, commands[h.name], timeout=READ_TIMEOUT, on_output=keep)

        with ThreadPoolExecutor(max_workers=max(1, min(8, len(hosts)))) as pool:
            return list(pool.map(one, hosts))

    def logs(
        self,
        q: LogQuery,
        user: str,
        environment: str | None = None,
        held: frozenset[str] | None = None,
    ) -> LogResult:
        """`held`: the roles of a reader that is not a Slack user (an agent's own role)."""
        allowed = set(self.config.policies.logs_roles)
        if not (self.roles.of(user) if held is None else held) & allowed:
            self._audit(
                user, "denied.logs", f"{q.service}: only {', '.join(sorted(allowed))} may read logs"
            )
            raise PermissionDenied(f"only {', '.join(sorted(allowed))} may read logs")
        svc, env, hosts = self._service(q.service, environment)
        if q.host is not None:
            hosts = [h for h in hosts if h.name == q.host]
            if not hosts:
                names = ", ".join(h.name for h in svc.environments[env].hosts)
                raise UnknownName(f"{q.service}/{env} has no host {q.host!r}; it has: {names}")
        commands: dict[str, str] = {}
        notes: list[str] = []
        for h in hosts:
            ctx: dict[str, object] = {
                "service": q.service,
                "environment": env,
                "app_dir": svc.app_dir,
                "host": h.name,
            }
            commands[h.name], notes = log_command(svc, q, ctx)
        args = (
            f"lines={q.lines} since={q.since or '-'} grep={q.grep!r} "
            f"host={q.host or '*'} stream={q.stream}"
        )
        self._audit(user, "logs.read", f"{q.service}/{env}: {args}")
        outputs: dict[str, list[str]] = {}
        results = self._on_hosts(hosts, commands, outputs)
        texts = {k: "".join(v) for k, v in outputs.items()}
        back = since_of(q)
        if back is not None and isinstance(svc.logs, FileLogs):  # files: by their lines' times
            cutoff = self.clock.now() - back
            untimed = []
            for name, text in texts.items():
                texts[name], timed = within(text, cutoff, q.lines)
                if not timed and text.strip():
                    untimed.append(name)
            if untimed:
                notes.append(
                    f"since={q.since}: the log lines on {', '.join(untimed)} carry no time "
                    "chatops reads (ISO 8601 or nginx's): showing their last lines"
                )
        return LogResult(q, results, notes, texts)

    def status(self, name: str, user: str, environment: str | None = None) -> ServiceStatus:
        svc, env, hosts = self._service(name, environment)
        cmd = _status_command(svc)
        results = self._on_hosts(
            hosts, {h.name: f"cd {quote(svc.app_dir)} && {cmd}" for h in hosts}
        )
        states = [_parse_state(svc, r) for r in results]
        health = "not configured"
        if svc.health is not None:
            h = svc.health
            check = HttpCheck.of(h)
            try:
                code, body = self.http.get(h.url, h.timeout)
                problem = judge(check, code, body)
                health = "healthy" if not problem else f"unhealthy: {problem}"
            except OSError as e:
                health = f"unreachable: {e}"
        with self.tx() as t:
            recent = t.runs.list(limit=500)
            open_pms = [pm.run_id for pm in t.postmortems.all(name) if not pm.done]
            frozen = in_force(self.config, t.freezes, self.clock, name)
        runs = [r for r in recent if r.service == name and r.environment == env]
        last = next((r for r in runs if r.state == RunState.SUCCEEDED), None)
        active = [
            r
            for r in runs
            if r.state in (RunState.RUNNING, RunState.QUEUED, RunState.AWAITING_APPROVAL)
        ]
        self._audit(user, "status.read", f"{name}/{env}")
        return ServiceStatus(name, env, states, health, last, active, open_pms, frozen)


def _status_command(svc: Service) -> str:
    m = svc.manager
    match m:
        case SystemdManager():
            props = "ActiveState,SubState,ActiveEnterTimestamp,NRestarts"
            return f"systemctl show {quote(m.unit)} --property={props} --no-pager"
        case Pm2Manager():
            return "pm2 jlist"
        case ComposeManager():
            return f"docker compose -f {quote(m.file)} ps --format json {quote(m.service)}"
        case CustomManager():
            return render(m.status, {"app_dir": svc.app_dir})
    raise AssertionError(m)  # pragma: no cover


def _ago(ms_epoch: float) -> str:
    secs = int(datetime.now(UTC).timestamp() - ms_epoch / 1000)
    d, rest = divmod(max(secs, 0), 86400)
    h, rest = divmod(rest, 3600)
    return f"{d}d {h}h" if d else f"{h}h {rest // 60}m"


def _parse_state(svc: Service, r: CommandResult) -> HostState:
    if r.outcome not in ("ok", "failed"):
        return HostState(r.host, r.outcome.replace("_", " "), detail=r.error)
    out = r.tail.strip()
    m = svc.manager
    try:
        match m:
            case SystemdManager():
                kv = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
                state = f"{kv.get('ActiveState', '?')} ({kv.get('SubState', '?')})"
                return HostState(
                    r.host, state, kv.get("ActiveEnterTimestamp", ""), kv.get("NRestarts", "")
                )
            case Pm2Manager():
                procs = [p for p in json.loads(out[out.find("[") :]) if p.get("name") == m.name]
                if not procs:
                    return HostState(r.host, "not in pm2", detail=f"no process named {m.name}")
                env = procs[0].get("pm2_env", {})
                uptime = _ago(env["pm_uptime"]) if env.get("pm_uptime") else ""
                return HostState(
                    r.host, str(env.get("status", "?")), uptime, str(env.get("restart_time", ""))
                )
            case ComposeManager():
                rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
                if not rows:
                    return HostState(r.host, "not running")
                return HostState(
                    r.host, str(rows[0].get("State", "?")), str(rows[0].get("Status", ""))
                )
            case CustomManager():
                first = out.splitlines()[0] if out else ""
                state = first if r.ok else f"failed (exit {r.exit_code})"
                return HostState(r.host, re.sub(r"\s+", " ", state)[:100])
    except (ValueError, KeyError, IndexError) as e:
        return HostState(r.host, "unknown", detail=f"could not read the manager's answer: {e}")
    raise AssertionError(m)  # pragma: no cover
