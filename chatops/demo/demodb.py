"""The demo app's database (SQLite at data/demo.db): backup, restore, verify, ping.

python demodb.py backup FILE | restore FILE | verify | ping
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

DB = Path("data/demo.db")


def copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


def check(path: Path) -> int:
    """Integrity and a row count; raises SystemExit when the database is not sound."""
    if not path.exists() or path.stat().st_size == 0:
        raise SystemExit(f"{path}: missing or empty")
    with sqlite3.connect(path) as db:
        verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            raise SystemExit(f"{path}: integrity check failed: {verdict}")
        try:
            orders = int(db.execute("SELECT count(*) FROM orders").fetchone()[0])
        except sqlite3.Error as e:
            raise SystemExit(f"{path}: cannot read orders: {e}") from None
    if orders == 0:
        raise SystemExit(f"{path}: the orders table is empty")
    return orders


def main(argv: list[str]) -> int:
    verb = argv[0]
    if verb == "backup":
        target = Path(argv[1])
        copy(DB, target)
        print(f"backed up {check(target)} orders to {target} ({target.stat().st_size} bytes)")
    elif verb == "restore":
        source = Path(argv[1])
        check(source)
        copy(source, DB)
        print(f"restored {check(DB)} orders from {source}")
    elif verb == "verify":
        with sqlite3.connect(DB) as db:
            columns = [r[1] for r in db.execute("PRAGMA table_info(orders)")]
        print(f"integrity ok: {check(DB)} orders; columns: {', '.join(columns)}")
    elif verb == "ping":
        with sqlite3.connect(DB) as db:
            db.execute("SELECT 1")
        print(f"{DB}: accepting connections")
    else:
        raise SystemExit(f"unknown command {verb!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
