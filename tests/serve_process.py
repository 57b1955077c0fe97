"""`chatops serve --http` in a process of its own, on a PostgreSQL database of its own and the
Web API stand-in: for the tests that kill it (-9) and start the next one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text

from chatops.simulator.harness import BOT_TOKEN, SIGNING_SECRET
from chatops.simulator.standin import SlackStandIn
from chatops.store.db import upgrade
from tests.apps import make_app, service_config
from tests.conftest import ROOT
from tests.servers import free_port, wait_port


class Serve:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Serve:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chatops", "serve", "--http", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.env["TEST_LOG"], "ab"),  # noqa: SIM115
        )
        wait_port(self.port, timeout=60)
        return self

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def serve_env(config: Path, url: str, standin: SlackStandIn, **more: str) -> dict[str, str]:
    """What `chatops serve --http` needs in its environment for this config, database and
    stand-in (no app token: HTTP mode)."""
    env = dict(
        os.environ,
        CHATOPS_CONFIG=str(config),
        CHATOPS_COMMANDS=str(ROOT / "commands"),
        CHATOPS_DATABASE_URL=url,
        CHATOPS_SLACK_API_URL=standin.api_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        **more,
    )
    env.pop("SLACK_APP_TOKEN", None)
    return env


@contextmanager
def serve_world(
    tmp_path: Path, postgres_url: str, database: str, **config: object
) -> Iterator[tuple[dict[str, str], SlackStandIn, str]]:
    """A fresh database `database`, a config for service `web` on a local host (with
    `config` merged in), the stand-in, and the environment a serve process needs."""
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{database}"'))
        c.execute(text(f'CREATE DATABASE "{database}"'))
    url = postgres_url.rsplit("/", 1)[0] + "/" + database
    upgrade(url)
    app = make_app(tmp_path / "app")
    cfg = service_config(
        app, "http://127.0.0.1:9/health", [{"name": "local", "transport": "local"}]
    )
    cfg.update(config)
    path = tmp_path / "chatops.yml"
    path.write_text(yaml.safe_dump(cfg))
    standin = SlackStandIn().start()
    env = serve_env(
        path, url, standin, CHATOPS_SWEEP_EVERY="1", TEST_LOG=str(tmp_path / "serve.log")
    )
    try:
        yield env, standin, url
    finally:
        standin.stop()
        admin.dispose()


@contextmanager
def sqlite_serve(base: Path, **more: str) -> Iterator[tuple[Serve, Path, dict[str, str]]]:
    """`chatops serve --http` on a SQLite database in `base`, for service `web` on a local
    host, started: the serve, its config file and its environment (with `more`)."""
    app = make_app(base / "app")
    cfg = service_config(
        app, "http://127.0.0.1:9/health", [{"name": "local", "transport": "local"}]
    )
    path = base / "chatops.yml"
    path.write_text(yaml.safe_dump(cfg))
    standin = SlackStandIn().start()
    env = serve_env(
        path, f"sqlite:///{base / 'c.db'}", standin, TEST_LOG=str(base / "serve.log"), **more
    )
    server = Serve(env).start()
    try:
        yield server, path, env
    finally:
        server.stop()
        standin.stop()
