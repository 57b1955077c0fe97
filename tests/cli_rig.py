"""The terminal's test rig: a demo app, a config and database for it, and `chatops ARGS` run
as a user types it (in this process unless it needs its own). Shared by the CLI tests of
every kind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.apps import App, make_app, service_config
from tests.cli_inproc import run_cli
from tests.conftest import ROOT


@pytest.fixture
def app(tmp_path: Path) -> App:
    return make_app(tmp_path / "app")


@pytest.fixture
def env(tmp_path: Path, app: App) -> dict[str, str]:
    cfg = service_config(
        app, "http://127.0.0.1:9/health", [{"name": "local", "transport": "local"}]
    )
    (tmp_path / "chatops.yml").write_text(yaml.safe_dump(cfg))
    e = dict(os.environ)
    e.update(
        CHATOPS_CONFIG=str(tmp_path / "chatops.yml"),
        CHATOPS_COMMANDS=str(ROOT / "commands"),
        CHATOPS_DATABASE_URL=f"sqlite:///{tmp_path / 'c.db'}",
    )
    return e


def chatops(
    env: dict[str, str],
    *args: str,
    stdin: str | None = None,
    timeout: float = 120,
    fresh: bool = False,
) -> subprocess.CompletedProcess[str]:
    """`chatops ARGS` with `env`: in this process unless `fresh` (a process of its own, for
    serve and for the logging set-up)."""
    if not fresh and args[:1] != ("serve",):
        return run_cli(args, env, stdin)
    return subprocess.run(
        [sys.executable, "-m", "chatops", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
