"""The audit trail as a hash chain: each row carries the previous row's hash and its own,
a SHA-256 over that previous hash and the row's canonical content.

Editing a row changes its hash; deleting or reordering rows breaks the link of the row
after; rewriting the whole chain from some row on changes the head, which is anchored
outside the database (a channel, a file) and checked against it. No SQL here: the writer
(store/audit.py) and the reading commands (store/reader.py) share it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

GENESIS = "0" * 64


def canonical(
    at: datetime,
    actor: str,
    action: str,
    run_id: int | None,
    task_id: str | None,
    plan_hash: str | None,
    detail: str,
) -> str:
    when = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)
    data = {
        "at": when.isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "run_id": run_id,
        "task_id": task_id,
        "plan_hash": plan_hash,
        "detail": detail or "",
    }
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def link(prev_hash: str, content: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{content}".encode()).hexdigest()


@dataclass(frozen=True)
class Row:
    """A stored audit row as the verifier reads it."""

    id: int
    at: datetime
    actor: str
    action: str
    run_id: int | None
    task_id: str | None
    plan_hash: str | None
    detail: str
    prev_hash: str | None
    hash: str | None

    def content(self) -> str:
        return canonical(
            self.at, self.actor, self.action, self.run_id, self.task_id, self.plan_hash, self.detail
        )


@dataclass(frozen=True)
class Anchor:
    """A head written outside the database: row `id` had hash `hash` at `at`."""

    id: int
    hash: str
    at: str = ""


@dataclass(frozen=True)
class Verdict:
    rows: int
    head: Anchor | None
    bad_row: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.bad_row is None and not self.problem


def verify(rows: Iterable[Row], anchors: Sequence[Anchor] = ()) -> Verdict:
    """Walk the rows in id order; the first row that does not hold names the damage."""
    prev = GENESIS
    seen: dict[int, str] = {}
    count = 0
    last: Anchor | None = None
    for row in rows:
        count += 1
        if row.prev_hash != prev:
            what = "the row before it was deleted, reordered or rewritten"
            if row.prev_hash is None:
                what = "it has no hash: written around the chain"
            return Verdict(
                count, last, row.id, f"row {row.id} does not follow its predecessor: {what}"
            )
        if link(prev, row.content()) != row.hash:
            return Verdict(
                count,
                last,
                row.id,
                f"row {row.id} was edited: its content no longer matches its hash",
            )
        prev = row.hash
        seen[row.id] = row.hash
        last = Anchor(row.id, row.hash)
    for anchor in anchors:
        found = seen.get(anchor.id)
        if found is None:
            return Verdict(
                count,
                last,
                anchor.id,
                f"row {anchor.id}, anchored {anchor.at or 'earlier'}, is missing: "
                "the trail was cut",
            )
        if found != anchor.hash:
            return Verdict(
                count,
                last,
                anchor.id,
                f"row {anchor.id} differs from its anchor of {anchor.at or 'earlier'}: "
                "the chain was rewritten",
            )
    return Verdict(count, last)


def read_anchors(text: str) -> list[Anchor]:
    """Anchors as the anchor file keeps them: one JSON object a line."""
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            out.append(Anchor(int(d["id"]), str(d["hash"]), str(d.get("at", ""))))
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"anchor file line {n} is not an anchor: {e}") from None
    return out
