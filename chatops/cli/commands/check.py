"""`chatops check [--connect]`: validate config and runbooks, optionally open every host."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from chatops.adapters.config_files import (
    PACKAGED,
    load_config_or_empty,
    load_runbooks,
    runbooks_dir,
    secret_values,
)
from chatops.engine.domain.result import CommandResult
from chatops.engine.planning.actions import unsupported
from chatops.engine.planning.inventory import Host
from chatops.engine.redact import Redactor

if TYPE_CHECKING:
    from chatops.store.reader import Reader

LABEL = {
    "ok": "ok",
    "unreachable": "unreachable",
    "auth_failed": "auth failed",
    "host_key_unknown": "host key unknown",
    "host_key_mismatch": "host key mismatch",
    "timeout": "unreachable",
}


def check_database(url: str, dead_after: timedelta = timedelta(seconds=20)) -> str:
    """One line on the database: reachable, at the schema this chatops reads (or not created
    yet, for a SQLite file). Failures propagate (main prints them as one line, exit 4)."""
    from chatops.cli.commands.failures import safe_url
    from chatops.errors import ConfigError
    from chatops.store.reader import SCHEMA_HEAD, Reader

    try:
        reader = Reader(url)
    except ConfigError as e:
        return f"warning: database {safe_url(url)}: {'; '.join(e.problems)}"
    try:
        if not reader.exists:
            return f"database {safe_url(url)}: not created yet (the first command that writes does)"
        return f"database {safe_url(url)}: ok (schema {SCHEMA_HEAD})\n" + workers_said(
            reader, dead_after
        )
    finally:
        reader.close()


def workers_said(reader: Reader, dead_after: timedelta) -> str:
    """The live workers, one line each, or that none runs (a run approved now would wait)."""
    from chatops.adapters.liveness import worker_alive

    now = datetime.now(UTC)
    live = [w for w in reader.workers() if worker_alive(w, now, dead_after)]
    if not live:
        return (
            "workers: none is running: approved runs wait (start `chatops serve` or "
            "`chatops worker`)"
        )
    lines = [f"workers: {len(live)} running"]
    for w in live:
        site = f", site {w.site}" if w.site else ""
        ago = (now - w.beat_at).total_seconds()
        lines.append(f"  {w.id} ({w.kind}{site}), beat {ago:.0f}s ago")
    return "\n".join(lines)


def check_slack(token: str, api_url: str | None) -> tuple[bool, str]:
    """Slack's auth.test with the bot token: the workspace and bot it names, or why not."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    client = WebClient(token=token, base_url=api_url or WebClient.BASE_URL, timeout=10)
    try:
        who = client.auth_test()
    except SlackApiError as e:
        return False, f"slack: the bot token is refused ({e.response.get('error')})"
    except OSError as e:
        return False, f"slack: cannot reach the Web API ({e})"
    return True, f"slack: ok (workspace {who.get('team')}, bot {who.get('user')})"


def check(config_path: Path, commands: Path, connect: bool, database_url: str = "") -> int:
    config = load_config_or_empty(config_path)
    runbooks = load_runbooks(commands)
    hosts = [
        (s, e, h)
        for s, svc in config.services.items()
        for e, env in svc.environments.items()
        for h in env.hosts
    ]
    print(f"config {config_path}: ok ({len(config.services)} services, {len(hosts)} hosts)")
    shipped = " (the set shipped with chatops)" if runbooks_dir(commands) == PACKAGED else ""
    print(f"runbooks {runbooks_dir(commands)}{shipped}: ok ({', '.join(sorted(runbooks))})")
    missing = sorted({r for rb in runbooks.values() for r in rb.approval.roles} - set(config.roles))
    if missing:
        print(
            f"warning: no members configured for role(s) {', '.join(missing)}: nobody can approve"
        )
    for where, names in (
        ("freezes.allow", config.freezes.allow),
        *((f"approval rule {r.name!r}", r.processes) for r in config.approval_rules),
    ):
        unknown = sorted(set(names) - set(runbooks))
        if unknown:
            print(f"warning: {where} names unknown process(es): {', '.join(unknown)}")
    envs = {e for svc in config.services.values() for e in svc.environments}
    for rule in config.approval_rules:
        if set(rule.environments) - envs:
            odd = ", ".join(sorted(set(rule.environments) - envs))
            print(f"warning: approval rule {rule.name!r} names unknown environment(s): {odd}")
    if database_url:
        print(check_database(database_url, config.policies.stale_run_delta))
    if config.agents.channel is None:
        print("note: agents.channel is not set: agents' plans would not be posted in Slack")
    for rb in runbooks.values():
        for name, svc in config.services.items():
            gaps = unsupported(svc, [*rb.steps, *rb.rollback])
            if gaps:
                print(f"warning: {rb.name} cannot run on {name}: {'; '.join(gaps)}")
    if not connect:
        return 0
    from chatops.settings import Settings
    from chatops.wiring import executors

    settings = Settings()
    slack_ok = True
    if settings.slack_bot_token:
        slack_ok, line = check_slack(settings.slack_bot_token, settings.slack_api_url)
        print(line)
    else:
        print("slack: SLACK_BOT_TOKEN is not set: not checked")

    redactor = Redactor([*Settings().secret_values(), *secret_values(config)])
    by_transport = executors(redactor, config)

    def probe(h: Host) -> CommandResult:
        return by_transport["local" if h.transport == "local" else "ssh"].probe(h)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(probe, [h for _s, _e, h in hosts]))
    rows = [("SERVICE", "ENV", "HOST", "ADDRESS", "RESULT", "DETAIL")]
    for (s, e, h), r in zip(hosts, results, strict=True):
        addr = "local" if h.transport == "local" else f"{h.user}@{h.address}:{h.port}"
        detail = "" if r.ok else (r.error or f"exit {r.exit_code}")
        rows.append((s, e, h.name, addr, LABEL.get(r.outcome, r.outcome), detail))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0 if slack_ok and all(r.ok for r in results) else 1
