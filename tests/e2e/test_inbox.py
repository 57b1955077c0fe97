"""A request Slack saw acknowledged is never lost: `chatops serve --http` is killed -9 right
after its 200 for a `/change` and for an Approve, before it could handle them (the table
the handler needs is locked by the test), and the next serve handles them, once."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from chatops.simulator.harness import RemoteSlack
from chatops.simulator.standin import SlackStandIn
from chatops.slack.transport.inbox import Completion, Inbox, key_of
from tests.factories import Each, sql
from tests.faults import audit_verify, wait_for
from tests.serve_process import Serve, serve_world


@pytest.fixture
def world(tmp_path: Path, postgres_url: str) -> Iterator[tuple[dict[str, str], SlackStandIn, str]]:
    with serve_world(tmp_path, postgres_url, "inbox") as w:
        yield w


def locked(url: str, table: str) -> Any:
    """A transaction holding `table` locked: the handler that needs it waits."""
    engine = create_engine(url)
    conn = engine.connect()
    conn.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
    return conn


def test_a_command_and_a_click_acked_then_killed_are_handled_by_the_next_process(
    world: tuple[dict[str, str], SlackStandIn, str],
) -> None:
    env, standin, url = world
    first = Serve(env).start()
    slack = RemoteSlack(f"http://127.0.0.1:{first.port}", standin)

    hold = locked(url, "plans")  # the /change handler stores a plan: it waits here
    status, _ = slack.command("/change", "deploy service=web ref=v2", user="U_CODER")
    assert status == 200  # Slack saw it acknowledged
    time.sleep(0.5)
    first.kill()
    hold.rollback()
    hold.close()
    assert slack.plans() == []  # nothing was said: the work had not happened
    [stored] = Each(sql(url), "runs").list() or [None]
    assert stored is None

    second = Serve(env).start()
    slack = RemoteSlack(f"http://127.0.0.1:{second.port}", standin)
    try:
        [plan] = wait_for(lambda: slack.plans(), what="the plan, posted by the next process")
        assert "Deploy ready code: web / production" in plan.all_text()

        hold = locked(url, "approvals")
        payload = slack.click_payload("chatops.approve", "U_LEAD", plan)
        status, _ = slack.send(payload)
        assert status == 200
        time.sleep(0.5)
        second.kill()
        hold.rollback()
        hold.close()
        [run] = Each(sql(url), "runs").list()
        assert run.state.value == "awaiting_approval"

        third = Serve(env).start()
        try:
            wait_for(
                lambda: Each(sql(url), "runs").list()[0].state.value != "awaiting_approval",
                what="the approval, recorded by the next process",
            )
            [run] = Each(sql(url), "runs").list()
            actions = [e.action for e in Each(sql(url), "audit").for_run(run.id)]
            assert actions.count("plan.approved") == 1 and actions.count("plan.requested") == 1
            assert len(RemoteSlack(f"http://127.0.0.1:{third.port}", standin).plans()) == 1
            audit_verify(Path(env["CHATOPS_CONFIG"]), url)
            engine = create_engine(url)
            with engine.connect() as c:
                left = c.execute(text("SELECT count(*) FROM inbox WHERE handled_at IS NULL"))
                assert left.scalar() == 0
            engine.dispose()
        finally:
            third.stop()
    finally:
        second.stop()


def test_an_event_sent_twice_is_stored_once() -> None:
    stored: dict[str, int] = {}

    class Store:
        def add_soon(self, key, content_type, body, holder, now):  # type: ignore[no-untyped-def]
            done: Future[int | None] = Future()
            if key in stored:
                done.set_result(None)
            else:
                stored[key] = len(stored) + 1
                done.set_result(stored[key])
            return done

        def close(self) -> None:
            pass

    inbox = Inbox(Store(), "me", lambda: datetime.now(UTC), "s", lambda _h, _s: False)  # type: ignore[arg-type]
    key = key_of({"type": "event_callback", "event_id": "Ev1", "event": {"type": "app_mention"}})
    assert key == "event:Ev1"
    assert inbox.accept(key, "application/json", b"{}") == 1
    assert inbox.accept(key, "application/json", b"{}") is None


def test_a_request_is_handled_when_its_last_task_ends() -> None:
    marked: list[int] = []
    done = Completion(marked.append)
    later: list[Callable[[], object]] = []

    def dispatch() -> None:  # a listener hands two tasks to the workers, one starts a third
        for _ in range(2):
            part = done.spawn()
            assert part is not None
            later.append(part(lambda: None))
        part = done.spawn()
        assert part is not None

        def nested() -> None:
            inner = done.spawn()
            assert inner is not None
            later.append(inner(lambda: None))

        later.append(part(nested))

    done.run(7, dispatch)
    assert marked == []  # its tasks have not run
    while later:
        later.pop(0)()
        if later:
            assert marked == []
    assert marked == [7]
    assert done.spawn() is None  # outside any request nothing is counted


def test_old_or_retried_requests_are_not_replayed_for_ever() -> None:
    now = datetime.now(UTC)

    class Row:
        def __init__(self, i: int, age: timedelta, attempts: int) -> None:
            self.id, self.key, self.content_type, self.body = i, f"k{i}", "application/json", b"{}"
            self.received_at, self.holder, self.attempts = now - age, "gone:1:x", attempts

    rows = [Row(1, timedelta(minutes=1), 1), Row(2, timedelta(hours=2), 1), Row(3, timedelta(0), 3)]
    handled: list[int] = []

    class Store:
        def unhandled(self, limit: int = 100) -> list[Row]:
            return [r for r in rows if r.id not in handled]

        def claim(self, item: Row, holder: str) -> bool:
            item.attempts += 1
            return True

        def handled(self, inbox_id: int, when: datetime) -> None:
            handled.append(inbox_id)

    dispatched: list[bytes] = []
    inbox = Inbox(Store(), "me", lambda: now, "secret", lambda _h, _s: True)  # type: ignore[arg-type]
    assert inbox.replay(lambda body, headers: dispatched.append(body)) == [1]
    assert dispatched == [b"{}"] and sorted(handled) == [1, 2, 3]


def test_a_batch_of_requests_is_stored_in_order_and_a_repeat_once(db_url: str) -> None:
    from chatops.store.db import make_engine
    from chatops.store.inbox import SqlInbox

    engine = make_engine(db_url)
    store = SqlInbox(engine)
    now = datetime.now(UTC)
    first = store.add_many([(f"k{i}", "application/json", b"{}") for i in range(30)], "me", now)
    assert first == sorted(first) and len(set(first)) == 30  # one id each, in order
    again = store.add_many(
        [("new", "text/plain", b"x"), ("k3", "text/plain", b""), ("new", "", b"")], "me", now
    )
    assert again[0] is not None and again[1:] == [None, None]
    stored = {r.key: r.id for r in store.unhandled(limit=100)}
    assert stored["k3"] == first[3] and stored["new"] == again[0] and len(stored) == 31
    engine.dispose()
