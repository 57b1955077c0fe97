"""The audit trail as a hash chain, on SQLite and PostgreSQL: intact it verifies; an edited,
deleted or reordered row is named even after the triggers are dropped; a whole-chain
rewrite and a cut tail are caught by the anchors; two writers at once never fork it; the
migration chains rows written before it; the CLI verifies and exports."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from chatops.adapters.audit_anchor import AuditAnchor
from chatops.adapters.clock import ManualClock
from chatops.engine.domain.run import AuditEvent
from chatops.engine.planning.config import AuditPolicy
from chatops.store.audit_chain import GENESIS, Anchor, canonical, link, read_anchors, verify
from chatops.store.db import make_engine, upgrade
from chatops.store.reader import Reader
from chatops.store.transaction import sql_transactions
from tests.cli_rig import chatops
from tests.factories import NOW, Each

HERE_DEPLOY = ("run", "deploy", "web", "ref=main", "--as", "U_CODER", "--here")


def write(url: str, n: int, actor: str = "U_LEAD") -> None:
    audit = Each(sql_transactions(make_engine(url), ManualClock(NOW)), "audit")
    for i in range(n):
        audit.append(
            AuditEvent(
                NOW + timedelta(seconds=i), actor, "plan.approved", i, f"t-{i}", None, f"n={i}"
            )
        )


def check(url: str, anchors: list[Anchor] | None = None):  # type: ignore[no-untyped-def]
    reader = Reader(url)
    try:
        return verify(list(reader.chain()), anchors or [])
    finally:
        reader.close()


def tamper(url: str, *statements: str) -> None:
    """What someone with the database's password could do: drop the guard, then edit."""
    engine = create_engine(url)
    with engine.begin() as c:
        if engine.dialect.name == "sqlite":
            c.execute(text("DROP TRIGGER IF EXISTS audit_no_update"))
            c.execute(text("DROP TRIGGER IF EXISTS audit_no_delete"))
        else:
            c.execute(text("DROP TRIGGER IF EXISTS audit_append_only ON audit_events"))
        for s in statements:
            c.execute(text(s))
    engine.dispose()


def test_an_intact_trail_verifies(db_url: str) -> None:
    write(db_url, 8)
    v = check(db_url)
    assert v.ok and v.rows == 8 and v.head is not None and v.head.id == 8


def test_the_triggers_still_refuse_edits(db_url: str) -> None:
    write(db_url, 2)
    engine = create_engine(db_url)
    with pytest.raises(Exception, match="append-only"), engine.begin() as c:
        c.execute(text("UPDATE audit_events SET detail = 'x' WHERE id = 1"))
    engine.dispose()


def test_an_edited_row_is_named(db_url: str) -> None:
    write(db_url, 6)
    tamper(db_url, "UPDATE audit_events SET detail = 'approved by nobody' WHERE id = 3")
    v = check(db_url)
    assert (v.bad_row, v.ok) == (3, False) and "edited" in v.problem


def test_a_deleted_row_is_named_by_the_row_after_it(db_url: str) -> None:
    write(db_url, 6)
    tamper(db_url, "DELETE FROM audit_events WHERE id = 4")
    v = check(db_url)
    assert v.bad_row == 5 and "deleted, reordered" in v.problem


def test_reordered_rows_are_caught(db_url: str) -> None:
    write(db_url, 5)
    cols = "at, actor, action, run_id, task_id, plan_hash, detail, prev_hash, hash"
    swap = [
        f"CREATE TABLE swap AS SELECT id, {cols} FROM audit_events WHERE id IN (2, 3)",
        *(
            f"UPDATE audit_events SET {c} = (SELECT {c} FROM swap WHERE swap.id = {5 - i}) "
            f"WHERE id = {i}"
            for i in (2, 3)
            for c in cols.split(", ")
        ),
        "DROP TABLE swap",
    ]
    tamper(db_url, *swap)
    v = check(db_url)
    assert v.bad_row == 2 and not v.ok


def test_a_rewritten_chain_and_a_cut_tail_are_caught_by_the_anchors(db_url: str) -> None:
    write(db_url, 6)
    anchored = check(db_url).head
    assert anchored is not None
    # rewrite from row 3 on, recomputing every hash: consistent with itself
    reader = Reader(db_url)
    rows = list(reader.chain())
    reader.close()
    prev, updates = rows[1].hash, []
    for r in rows[2:]:
        detail = "forged" if r.id == 3 else r.detail
        h = link(
            prev or GENESIS,
            canonical(r.at, r.actor, r.action, r.run_id, r.task_id, r.plan_hash, detail),
        )
        updates.append(
            f"UPDATE audit_events SET detail = '{detail}', prev_hash = '{prev}', hash = '{h}' "
            f"WHERE id = {r.id}"
        )
        prev = h
    tamper(db_url, *updates)
    assert check(db_url).ok  # the chain alone cannot tell
    v = check(db_url, [anchored])
    assert v.bad_row == 6 and "rewritten" in v.problem
    tamper(db_url, "DELETE FROM audit_events WHERE id >= 5")
    assert check(db_url).ok  # a cut tail leaves a valid, shorter chain
    cut = check(db_url, [anchored])
    assert cut.bad_row == 6 and "cut" in cut.problem


def test_two_writers_at_once_never_fork_the_chain(db_url: str) -> None:
    barrier = threading.Barrier(3)

    def writer(who: str) -> None:
        barrier.wait()
        write(db_url, 25, actor=who)

    threads = [threading.Thread(target=writer, args=(f"U_{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    v = check(db_url)
    assert v.ok and v.rows == 75, v.problem


def test_the_migration_chains_rows_written_before_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0007")
    engine = create_engine(url)
    with engine.begin() as c:
        for i in range(3):
            c.execute(
                text(
                    "INSERT INTO audit_events (at, actor, action, detail) "
                    "VALUES (:at, 'U1', 'plan.approved', :d)"
                ),
                {"at": (NOW + timedelta(minutes=i)).replace(tzinfo=None), "d": f"old {i}"},
            )
    engine.dispose()
    upgrade(url)
    write(url, 2)
    v = check(url)
    assert v.ok and v.rows == 5


def test_anchors_are_written_when_due_and_only_when_the_head_moved(
    db_url: str, tmp_path: Path
) -> None:
    clock = ManualClock(NOW)
    posted: list[tuple[str, str]] = []
    policy = AuditPolicy(channel="C0AUDIT", anchor_file=str(tmp_path / "anchors.jsonl"))

    def head() -> Anchor | None:
        return check(db_url).head

    anchor = AuditAnchor(policy, head, clock, lambda ch, t: posted.append((ch, t)))
    assert anchor.tick() is None  # nothing to anchor yet
    write(db_url, 3)
    first = anchor.tick()
    assert first is not None and first.id == 3
    assert anchor.tick() is None  # the head has not moved
    write(db_url, 1)
    assert anchor.tick() is None  # not due yet (anchor_every: 1h)
    clock.advance(timedelta(hours=1))
    second = anchor.tick()
    assert second is not None and second.id == 4
    kept = read_anchors((tmp_path / "anchors.jsonl").read_text())
    assert [(a.id, a.hash) for a in kept] == [(3, first.hash), (4, second.hash)]
    assert [ch for ch, _ in posted] == ["C0AUDIT", "C0AUDIT"] and second.hash in posted[1][1]
    assert check(db_url, kept).ok
    again = AuditAnchor(policy, head, clock, None)  # a restart reads the last anchor back
    assert again.tick() is None


def test_the_cli_verifies_and_exports(env: dict[str, str], tmp_path: Path) -> None:
    done = chatops(env, *HERE_DEPLOY, "--approve-as", "U_LEAD")
    assert done.returncode in (0, 1), done.stderr
    ok = chatops(env, "audit", "verify")
    assert ok.returncode == 0 and "audit trail intact" in ok.stdout, ok.stderr
    exported = chatops(env, "audit", "export", "--run", "1", "--format", "jsonl")
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    assert lines and all(r["run_id"] == 1 and len(r["hash"]) == 64 for r in lines)
    since = chatops(env, "audit", "export", "--since", "2999-01-01")
    assert since.returncode == 0 and since.stdout == ""
    url = env["CHATOPS_DATABASE_URL"]
    tamper(url, "UPDATE audit_events SET actor = 'U_SOMEONE' WHERE id = 2")
    bad = chatops(env, "audit", "verify")
    assert bad.returncode == 1 and "row 2" in bad.stderr and "edited" in bad.stderr
    assert chatops(env, "audit", "bogus").returncode == 2
