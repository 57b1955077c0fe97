"""The reading commands start without the heavy libraries and open the database read-only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from chatops.errors import ConfigError, NotFound
from chatops.store.db import alembic_config, upgrade
from chatops.store.reader import SCHEMA_HEAD, Reader
from tests.conftest import ROOT

HEAVY = ("sqlalchemy", "alembic", "fabric", "paramiko", "slack_bolt", "slack_sdk", "uvicorn")


def imported(*argv: str, cwd: Path) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "chatops", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "CHATOPS_COMMANDS": str(ROOT / "commands")},
        timeout=60,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    names = set()
    for line in out.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def test_help_and_reading_commands_import_none_of_the_heavy_libraries(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'chatops.db'}"
    upgrade(url)
    (tmp_path / "chatops.yml").write_text("services: {}\nroles: {}\n")
    for argv in (
        ["--help"],
        ["runs", "--database-url", url],
        ["audit", "--database-url", url],
        ["check"],
    ):
        found = imported(*argv, cwd=tmp_path)
        heavy = found & set(HEAVY)
        assert not heavy, (argv, heavy)
        if argv[0] in ("--help", "runs", "audit"):  # nor the models' (half a second)
            assert "pydantic" not in found, argv


def test_the_reader_knows_the_newest_schema() -> None:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head == SCHEMA_HEAD


def test_the_reader_refuses_an_old_schema_and_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    upgrade(f"sqlite:///{db}", "0004")
    before = db.read_bytes()
    with pytest.raises(ConfigError, match="chatops db upgrade"):
        Reader(f"sqlite:///{db}")
    assert db.read_bytes() == before


def test_a_missing_database_reads_as_empty_and_is_not_created(tmp_path: Path) -> None:
    reader = Reader(f"sqlite:///{tmp_path / 'none.db'}")
    assert reader.list_runs() == [] and reader.recent() == []
    with pytest.raises(NotFound):
        reader.get_run(1)
    assert not (tmp_path / "none.db").exists()
