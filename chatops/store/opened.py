"""The SQL store a process opens: its engine, its units of work and its outbox; its schema
created or checked; the audit chain's verdict and the history, read-only."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from chatops.engine.ports import Clock
from chatops.engine.runs.insights import History
from chatops.engine.unit_of_work import Transactions
from chatops.errors import ConfigError
from chatops.store.db import is_current, make_engine, upgrade
from chatops.store.outbox import SqlEventLog
from chatops.store.transaction import sql_transactions

__all__ = ["VERDICT_KEPT", "Store", "chain_verdict", "ensure_schema", "history", "store"]


@dataclass(frozen=True)
class Store:
    """The SQL store one process opens: its engine, its units of work and its outbox."""

    engine: Engine
    tx: Transactions
    events: SqlEventLog
    reads: Engine  # for readers that must not take SQLite's write lock


def store(url: str, clock: Clock) -> Store:
    """The store at `url` (its schema as found: `ensure_schema` creates or checks it)."""
    engine = make_engine(url)
    reads = make_engine(url, reads_only=True)
    events = SqlEventLog(engine, reads)
    return Store(engine, sql_transactions(engine, clock), events, reads)


_verdicts: dict[str, tuple[tuple[int, str] | None, float, str]] = {}
VERDICT_KEPT = 60.0  # seconds a verdict is kept while the chain's head stays the same


def chain_verdict(url: str) -> str:
    """The audit chain's verdict, as `chatops audit verify` says it (without anchors). The
    whole chain is read again when its head moves, or after a minute: a live run page asks
    every few seconds, and a long trail takes a while to verify."""
    from chatops.store.audit_chain import verify
    from chatops.store.reader import Reader

    reader = Reader(url)
    try:
        newest = reader.head()
        kept = _verdicts.get(url)
        if kept is not None and kept[0] == newest and time.monotonic() - kept[1] < VERDICT_KEPT:
            return kept[2]
        verdict = verify(reader.chain())
    finally:
        reader.close()
    if not verdict.ok:
        said = f"BROKEN at row {verdict.bad_row}: {verdict.problem}"
    else:
        head = f", head #{verdict.head.id} sha256 {verdict.head.hash[:16]}" if verdict.head else ""
        said = f"intact, {verdict.rows} row(s){head}"
    _verdicts[url] = (newest, time.monotonic(), said)
    return said


def history(url: str) -> Callable[[], History] | None:
    """The store's history, read-only, opened for each reading (None: not a SQL file)."""
    from chatops.store.reader import Reader

    if url.startswith("sqlite") and (":memory:" in url or ":///" not in url):
        return None
    return lambda: Reader(url)


def ensure_schema(url: str, engine: Engine) -> None:
    """SQLite databases are created and upgraded on the fly; others need `chatops db upgrade`."""
    if make_url(url).get_backend_name() == "sqlite":
        upgrade(url)
    elif not is_current(engine):
        raise ConfigError(
            url.split("@")[-1], ["database has no chatops schema: run `chatops db upgrade`"]
        )
