"""A new SQLite file's schema is made by one process at a time: serve started in the
background and a command right after it both upgrade the file, and the second must wait
for the first (it met "table ... already exists" when both went at once)."""

from __future__ import annotations

import fcntl
import threading
from pathlib import Path

from sqlalchemy import create_engine, inspect

from chatops.store.db import upgrade


def test_an_upgrade_waits_while_another_process_upgrades_the_same_file(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    url = f"sqlite:///{db}"
    done = threading.Event()
    with open(f"{db}.migrating", "a+b") as held:  # another process is upgrading it
        fcntl.flock(held, fcntl.LOCK_EX)
        t = threading.Thread(target=lambda: (upgrade(url), done.set()), daemon=True)
        t.start()
        assert not done.wait(2.0), "the upgrade went on while another process held the file"
    assert done.wait(60), "the upgrade never went on once the other process let go"
    t.join(10)
    assert "runs" in inspect(create_engine(url)).get_table_names()
    upgrade(url)  # and again: nothing to do, no error
