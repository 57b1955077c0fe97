"""Shared fixtures: the real runbooks, a config like the seed team's, a fresh store."""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from chatops.adapters.config_files import load_runbooks
from chatops.engine.planning.config import Config
from chatops.engine.planning.runbook import Runbook
from chatops.store.db import upgrade
from tests.servers import SSHD, Sshd, pg_bindir, run_postgres, run_sshd

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(what: str, install: str) -> None:
    """Fail under CI, skip elsewhere with what to install."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI: {install}")
    pytest.skip(f"{what} not available: {install}")


@pytest.fixture(autouse=True)
def cli_engines_closed() -> Iterator[None]:
    """A `chatops` command run in-process leaves no engine (feeds, threads) behind it."""
    yield
    handlers = sys.modules.get("chatops.cli.commands.handlers")
    if handlers is not None:
        handlers.close_opened()


@pytest.fixture(autouse=True)
def slack_takes_every_message() -> Iterator[None]:
    """Every test: nothing the bot sent to a Web API stand-in was refused as Slack would
    refuse it (broken Block Kit, past a documented limit; `chatops/simulator/blockkit.py`).
    A test about refusals empties `REFUSED` itself."""
    from chatops.simulator import standin

    standin.REFUSED.clear()
    yield
    refused = [(r.method, r.error, r.problems[:3]) for r in standin.REFUSED]
    standin.REFUSED.clear()
    assert not refused, f"Slack would have refused: {refused[:5]}"


@pytest.fixture(scope="session")
def runbooks() -> dict[str, Runbook]:
    return load_runbooks(ROOT / "commands")


def eck_config(**overrides: object) -> Config:
    """An inventory like the seed team's: a PM2 Node service behind Nginx, on PostgreSQL."""
    data: dict[str, object] = {
        "services": {
            "eckwms-global": {
                "app_dir": "/var/www/eckwms/services/eckwms-global",
                "install": "npm install --omit=dev",
                "manager": {"type": "pm2", "name": "eckwms-global"},
                "logs": {
                    "type": "file",
                    "paths": ["{app_dir}/logs/eckwms-global-out.log"],
                    "error_paths": ["{app_dir}/logs/eckwms-global-error.log"],
                },
                "health": {
                    "url": "http://127.0.0.1:8080/ECK/health",
                    "expect_json": {"status": "healthy"},
                },
                "database": {
                    "name": "eckwms",
                    "backup": "pg_dump --format=custom --file={backup_file} {database}",
                    "migrate": "node {script}",
                    "verify": "node scripts/verify-integrity.js",
                    "ping": "pg_isready -d {database}",
                },
                "environments": {
                    "production": {"hosts": [{"name": "prod-1", "address": "10.0.0.5"}]},
                    "staging": {"hosts": [{"name": "stage-1", "address": "10.0.1.5"}]},
                },
            }
        },
        "roles": {
            "coder": {"users": ["U_CODER"]},
            "oncall": {"users": ["U_ONCALL"]},
            "lead": {"users": ["U_LEAD", "U_LEAD2"]},
            "architect": {"users": ["U_ARCH"]},
            "requester": {"users": ["U_REQ", "U_CODER", "U_ARCH", "U_LEAD"]},
        },
    }
    data.update(overrides)
    return Config.model_validate(data)


@pytest.fixture
def config() -> Config:
    return eck_config()


@pytest.fixture(scope="session")
def sshd() -> Iterator[Sshd]:
    if not Path(SSHD).exists() or shutil.which("ssh-keygen") is None:
        need("OpenSSH server (/usr/sbin/sshd)", "apt-get install openssh-server")
    with run_sshd() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if pg_bindir() is None:
        need("PostgreSQL (initdb, pg_ctl)", "apt-get install postgresql")
    with run_postgres() as url:
        yield url


_TEMPLATES: dict[str, str] = {}  # kind -> a database upgraded once in this process


def _template(request: pytest.FixtureRequest, kind: str) -> str:
    """A database of this kind built by `alembic upgrade head` once per test process: each
    test gets a copy (Alembic's upgrade costs about a second, a copy a few milliseconds)."""
    if kind not in _TEMPLATES:
        if kind == "sqlite":
            folder = request.getfixturevalue("tmp_path_factory").mktemp("template")
            path = str(folder / "chatops.db")
            upgrade(f"sqlite:///{path}")
            _TEMPLATES[kind] = path
        else:
            base = request.getfixturevalue("postgres_url")
            name = f"template_{os.getpid()}"
            engine = create_engine(base, isolation_level="AUTOCOMMIT")
            with engine.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                c.execute(text(f'CREATE DATABASE "{name}"'))
            engine.dispose()
            upgrade(base.rsplit("/", 1)[0] + "/" + name)
            _TEMPLATES[kind] = name
    return _TEMPLATES[kind]


def sql_database(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> Iterator[str]:
    """A fresh database of this kind ("sqlite" or "postgres") at the schema's head: a copy
    of one built by `alembic upgrade`."""
    template = _template(request, kind)
    if kind == "sqlite":
        path = tmp_path / "chatops.db"
        with sqlite3.connect(template) as src, sqlite3.connect(path) as dst:
            src.backup(dst)
        yield f"sqlite:///{path}"
        return
    base = request.getfixturevalue("postgres_url")
    name = f"t{abs(hash(request.node.nodeid)) % 10**10}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield base.rsplit("/", 1)[0] + "/" + name
    with engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every store test runs on SQLite and on a real PostgreSQL, built by `alembic upgrade`."""
    yield from sql_database(request, request.param, tmp_path)


# The longest files first: a file stays on one worker (--dist loadfile), so one of these
# started last is the tail every other worker waits out. Measured with --durations=0
# (seconds on these two-core machines, 2026-12-03); a file not listed keeps its place after
# them. xdist would put the files with the most tests first instead: scripts/test says
# --no-loadscope-reorder (a two-minute file of one test went out at 165 s of 345).
LONGEST = (
    "test_console.py",  # 106
    "test_agent_mcp_wait.py",  # 99
    "test_slack_outages.py",  # 82
    "test_oncall.py",  # 82
    "test_waiting.py",  # 65
    "test_slack_flow.py",  # 60
    "test_ssh_faults.py",  # 59
    "test_readme.py",  # 51
    "test_agent_mcp.py",  # 50
    "test_slack_forms.py",  # 48
    "test_store_faults.py",  # 46
    "test_replicas.py",  # 46
    "test_hostile_input.py",  # 44
    "test_inbox.py",  # 41
    "test_flood.py",  # 40
    "test_scheduled_start.py",  # 40
    "test_socket_mode.py",  # 39
    "test_agent_http.py",  # 38
    "test_ssh.py",  # 32
    "test_cli.py",  # 32
    "test_run_page.py",  # 30
    "test_browser.py",  # 30
    "test_demo.py",  # 29
    "test_cli_failures.py",  # 29
    "test_questions.py",  # 28
    "test_governance_slack.py",  # 20
    "test_api_schema.py",  # 17
    "test_packaging.py",  # 17
    "test_mcp_inspector.py",  # 16
)


# What each kind may use: tests/unit no real server (SQLite files and in-process fakes are
# fine), tests/integration PostgreSQL too, tests/e2e anything (sshd, signed HTTP, Socket Mode,
# processes of their own).
SERVERS = {"sshd": "sshd", "postgres_url": "postgres"}


def _needs(item: pytest.Item) -> set[str]:
    names = set(getattr(item, "fixturenames", ()))
    found = {marker for fixture, marker in SERVERS.items() if fixture in names}
    spec = getattr(item, "callspec", None)
    for param in ("db_url", "store"):  # a store test run on PostgreSQL
        if param in names and spec is not None and spec.params.get(param) == "postgres":
            found.add("postgres")
    return found


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with the servers it needs (`-m "not sshd"`), refuse a unit test that
    needs one, and put the longest files first."""
    for item in items:
        needs = _needs(item)
        for marker in sorted(needs):
            item.add_marker(getattr(pytest.mark, marker))
        kind = item.path.parent.name
        if needs and kind == "unit":
            raise pytest.UsageError(
                f"{item.nodeid} needs {', '.join(sorted(needs))}: a unit test needs no "
                "server (move it to tests/integration or tests/e2e)"
            )
        if "sshd" in needs and kind == "integration":
            raise pytest.UsageError(f"{item.nodeid} needs sshd: it belongs in tests/e2e")
    rank = {name: i for i, name in enumerate(LONGEST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONGEST)))  # stable: in file order
