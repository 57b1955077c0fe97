"""Start the console: the demo setup by default, or a real config with --config."""

from __future__ import annotations

from pathlib import Path

from chatops.config_files import load_config
from chatops.console.session import Console
from chatops.demo_env import build_demo, runbook_dir, serve_health
from chatops.engine.config import ROLES
from chatops.settings import Settings
from chatops.testing.harness import ChatHarness


def run_console(config: Path | None, base: Path, settings: Settings) -> int:
    server = None
    if config is None:
        base = base.resolve()
        holder: dict[str, Path] = {}
        server = serve_health(holder)
        url = f"http://127.0.0.1:{server.server_address[1]}/ECK/health"
        config = build_demo(base, url)
        holder["app"] = base / "srv" / "demo"
        database = f"sqlite:///{base / 'chatops.db'}"
        commands = runbook_dir()
        print(f"Demo set up in {base}: service 'demo' runs its steps on this machine.")
    else:
        database = settings.database_url
        commands = settings.commands
    cfg = load_config(config)
    users: list[str] = []
    for role in ROLES:
        members = cfg.roles.get(role)  # type: ignore[call-overload]
        for u in members.users if members else []:
            if u not in users:
                users.append(u)
    slack = ChatHarness(config=config, commands=commands, database_url=database, scheduler=True)
    try:
        return Console(slack, users).run()
    finally:
        slack.stop()
        if server is not None:
            server.shutdown()
