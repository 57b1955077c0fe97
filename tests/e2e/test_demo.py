"""The demo service is real enough to try every process end to end: its app runs, its
database is backed up, migrated, fixed and verified, its health is checked after the demo
command that built it has exited."""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from collections.abc import Iterator

import pytest

from chatops.cli.main import main as cli
from chatops.demo.environment import Demo, build_demo
from tests.conftest import ROOT
from tests.factories import answer_flags


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    d = build_demo(tmp_path_factory.mktemp("demo") / "app")
    yield d
    d.stop()


def chatops(demo: Demo, *argv: str) -> int:
    common = ["--config", str(demo.config), "--commands", str(ROOT / "commands")]
    db = ["--database-url", f"sqlite:///{demo.base / 'chatops.db'}"]
    return cli([*argv, *common, *db])


def health(demo: Demo) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(demo.health_url, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def columns(demo: Demo) -> list[str]:
    with sqlite3.connect(demo.app_dir / "data" / "demo.db") as db:
        return [r[1] for r in db.execute("PRAGMA table_info(orders)")]


PROCESSES = [
    ("deploy", ["ref=v2"], ["bob"]),
    ("hotfix", ["ref=main"], ["bob"]),
    ("debug", [], ["bob"]),
    ("config-fix", [], ["bob"]),
    ("feature", ["ref=v2"], ["carol"]),
    ("endpoint", ["ref=v2"], ["carol"]),
    ("refactor", ["ref=v2"], ["carol"]),
    ("migration", ["ref=v2", "script=scripts/add-labels.py"], ["carol", "bob"]),
    ("data-fix", ["ref=v2", "script=scripts/fix-paid-orders.py"], ["bob"]),
]


@pytest.mark.parametrize(
    ("process", "params", "approvers"), PROCESSES, ids=[p[0] for p in PROCESSES]
)
def test_every_process_runs_end_to_end_on_the_demo(
    demo: Demo, process: str, params: list[str], approvers: list[str]
) -> None:
    requester = {"hotfix": "dave", "debug": "dave", "config-fix": "dave"}.get(process, "alice")
    approve = [a for who in approvers for a in ("--here", "--approve-as", who)]
    code = chatops(
        demo,
        "run",
        process,
        "demo",
        *params,
        "--as",
        requester,
        *approve,
        "--manual-done",
        *answer_flags(process),
    )
    assert code == 0
    status, body = health(demo)
    assert status == 200 and body["status"] == "healthy"


def test_a_migration_backs_up_migrates_and_verifies(demo: Demo) -> None:
    backups = demo.base / "backups"
    before = set(backups.glob("*")) if backups.exists() else set()
    args = ["ref=v2", "script=scripts/add-labels.py", "--as", "alice"]
    assert (
        chatops(
            demo,
            "run",
            "migration",
            "demo",
            *args,
            "--here",
            "--approve-as",
            "carol",
            "--here",
            "--approve-as",
            "bob",
            "--manual-done",
            *answer_flags("migration"),
        )
        == 0
    )
    made = set(backups.glob("*")) - before
    assert len(made) == 1
    [backup] = made
    with sqlite3.connect(backup) as db:  # a real copy of the database, taken before
        assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == 4
    assert "label" in columns(demo)


def test_the_health_check_outlives_the_command_that_built_the_demo(demo: Demo) -> None:
    """`chatops demo` then `chatops run ...`: the app is a process of its own."""
    assert (
        chatops(
            demo,
            "run",
            "deploy",
            "demo",
            "ref=v3-broken",
            "--as",
            "alice",
            "--here",
            "--approve-as",
            "bob",
            "--manual-done",
        )
        != 0
    )  # rolled back
    assert health(demo)[0] == 200  # the previous revision runs again
    assert (
        chatops(
            demo,
            "run",
            "deploy",
            "demo",
            "ref=v2",
            "--as",
            "alice",
            "--here",
            "--approve-as",
            "bob",
            "--manual-done",
        )
        == 0
    )
    assert demo.ctl("status").startswith("online v2")


def test_a_failed_data_fix_restores_the_backup(demo: Demo) -> None:
    def orders() -> int:
        with sqlite3.connect(demo.app_dir / "data" / "demo.db") as db:
            return int(db.execute("SELECT count(*) FROM orders").fetchone()[0])

    before = orders()
    assert before > 0
    code = chatops(
        demo,
        "run",
        "data-fix",
        "demo",
        "ref=v2",
        "script=scripts/fix-labels-buggy.py",
        "--as",
        "alice",
        "--here",
        "--approve-as",
        "bob",
        "--manual-done",
        *answer_flags("data-fix"),
    )
    assert code != 0  # the script deleted every order and failed: the backup was restored
    assert orders() == before
