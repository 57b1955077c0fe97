"""Start the console: the demo setup by default, or a real config with --config."""

from __future__ import annotations

from pathlib import Path

from chatops.adapters.config_files import DEFAULT_DIR, load_config, runbooks_dir
from chatops.console.session import Console
from chatops.demo.environment import build_demo
from chatops.engine.planning.config import ROLES
from chatops.settings import Settings
from chatops.simulator.harness import ChatHarness


def run_console(config: Path | None, base: Path, settings: Settings) -> int:
    demo = None
    if config is None:
        demo = build_demo(base)
        config = demo.config
        database = f"sqlite:///{demo.base / 'chatops.db'}"
        commands = runbooks_dir(DEFAULT_DIR)
        print(f"Demo set up in {demo.base}: service 'demo' runs its steps on this machine.")
    else:
        database = settings.database_url
        commands = settings.commands
    try:  # whatever fails from here on, the demo app does not outlive the console
        cfg = load_config(config)
        users: list[str] = []
        for role in ROLES:
            members = cfg.roles.get(role)  # type: ignore[call-overload]
            for u in members.users if members else []:
                if u not in users:
                    users.append(u)
        slack = ChatHarness(
            config=config,
            commands=commands,
            database_url=database,
            scheduler=True,
            agents=False,
            sweep=True,
        )
        try:
            return Console(slack, users).run()
        finally:
            slack.stop()
    finally:
        if demo is not None:
            demo.stop()
