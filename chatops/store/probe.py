"""Does the store take writes? A real committed write, not `SELECT 1`: a full disk or a
read-only database answers SELECT and refuses every change a run must record."""

from __future__ import annotations

import threading
import time
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from chatops.store.models import HealthProbeRow

CACHE_SECONDS = 1.0  # a burst of probes (several checkers) costs one write


class WriteProbe:
    def __init__(self, engine: Engine, holder: str) -> None:
        self.engine = engine
        self.holder = holder
        self._lock = threading.Lock()
        self._last: tuple[float, str] | None = None

    def __call__(self, now: datetime) -> str:
        """ "ok", or why the store cannot be written ("error: ... database or disk is full")."""
        with self._lock:
            if self._last is not None and time.monotonic() - self._last[0] < CACHE_SECONDS:
                return self._last[1]
            verdict = self._write(now)
            self._last = (time.monotonic(), verdict)
            return verdict

    def _write(self, now: datetime) -> str:
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        stmt = insert(HealthProbeRow).values(holder=self.holder, at=now)
        stmt = stmt.on_conflict_do_update(index_elements=["holder"], set_={"at": now})
        try:
            with self.engine.begin() as c:
                c.execute(stmt)
            return "ok"
        except Exception as e:
            first = (str(getattr(e, "orig", None) or e).strip().splitlines() or [""])[0]
            return f"error: cannot write: {type(e).__name__}: {first[:200]}"
