"""The outbox: a change and its events commit together or not at all; consumers follow the
stored events from their own positions, on threads of their own, one process at a time;
a slow or failing consumer never slows or fails a run."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from chatops.adapters.feeds import Feed, Published, coalesce
from chatops.engine import event_codec
from chatops.engine.domain import events as ev
from chatops.engine.domain.run import AuditEvent, RunState, RunView
from chatops.engine.planning.config import Config
from chatops.engine.planning.runbook import Runbook
from chatops.engine.ports import Notifier, Stored
from chatops.engine.unit_of_work import Transactions
from chatops.store.db import make_engine
from chatops.store.outbox import SqlEventLog
from tests.factories import NOW, Each, Rig, plan_for, rig, run_of, sql
from tests.memory import MemoryDatabase


class Gated:
    """A consumer stuck until released, as a Slack that does not answer."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.seen: list[ev.Event] = []

    def publish(self, event: ev.Event) -> None:
        self.gate.wait(30)
        self.seen.append(event)


class Flaky:
    """Fails `failures` times (as Slack down for a while), then takes every event."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.seen: list[ev.Event] = []

    def publish(self, event: ev.Event) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise OSError("slack.invalid: connection refused")
        self.seen.append(event)


def deploy_to_the_end(r: Rig) -> None:
    req = r.changes.request("deploy", {"service": "eckwms-global"}, requester="U_CODER")
    r.changes.approve(req.run.id, "U_LEAD", req.plan.sha256)
    r.runner.drain()
    r.changes.handoffs.mark_done(req.run.id, "prepare", "U_CODER")
    done = r.runner.continue_run(req.run.id)
    assert done is not None and done.state == RunState.SUCCEEDED


def follow(db: MemoryDatabase, r: Rig, consumer: Notifier, name: str, **kw: float) -> Feed:
    feed = Feed(db, Published(consumer), name, "me", poll=0.05, **kw)
    r.tx.on_commit(feed.wake)
    return feed.start()


def test_a_stuck_consumer_does_not_hold_the_run_and_catches_up_coalesced(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    db = MemoryDatabase()
    lines = "".join(f"line {i}\n" for i in range(3000))
    r = rig(db, config, runbooks)
    r.executor.rules.append(("git pull", 0, lines))
    stuck = Gated()
    feed = follow(db, r, stuck, "slack-thread")
    deploy_to_the_end(r)  # returns although the consumer has handled nothing yet
    assert stuck.seen == [] and feed.pending
    stuck.gate.set()
    assert feed.drain(30)
    feed.stop()
    kinds = [type(e).__name__ for e in stuck.seen]
    assert kinds[0] == "RunRequested" and kinds[-1] == "RunFinished"
    assert kinds == [type(s.event).__name__ for s, _ in coalesce(db.after(0, 10_000))]
    assert kinds.count("RunFinished") == 1


def test_output_is_stored_in_chunks_and_joined_behind_a_slow_consumer() -> None:
    run = run_of()
    stored = [Stored(i, ev.StepOutput(run, "pull", "h1", f"line {i}\n")) for i in range(1, 501)]
    stored.append(Stored(501, ev.StepFinished(run, "pull", "main", True, ())))
    stored.append(Stored(502, ev.StepOutput(run, "pull", "h2", "other host\n")))
    joined = coalesce(stored)
    assert [last for _, last in joined] == [500, 501, 502]
    first = joined[0][0].event
    assert isinstance(first, ev.StepOutput)
    assert first.chunk == "".join(f"line {i}\n" for i in range(1, 501))


def test_a_run_writes_output_in_batches_not_a_row_per_line(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    db = MemoryDatabase()
    r = rig(db, config, runbooks)
    r.executor.rules.append(("git pull", 0, "x" * 50 + "\n"))
    deploy_to_the_end(r)
    outputs = [s for s in db.after(0, 10_000) if isinstance(s.event, ev.StepOutput)]
    steps = Each(r.tx, "steps").of_run(1)
    assert 0 < len(outputs) <= len([s for s in steps if s.host])  # one flush per host command


def test_a_failing_consumer_is_retried_until_slack_recovers_in_order(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    db = MemoryDatabase()
    r = rig(db, config, runbooks)
    flaky = Flaky(failures=5)
    waits: list[float] = []
    feed = follow(db, r, flaky, "slack-thread", give_up_after=600)
    feed._sleep = waits.append  # no real waiting between tries
    deploy_to_the_end(r)
    assert feed.drain(30)
    feed.stop()
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0]  # backing off, never giving up early
    want = [type(s.event).__name__ for s, _ in coalesce(db.after(0, 10_000))]
    assert [type(e).__name__ for e in flaky.seen] == want  # nothing lost, nothing reordered


class Counted(MemoryDatabase):
    """The memory store, counting the positions a feed writes (each is a transaction)."""

    def __init__(self) -> None:
        super().__init__()
        self.advances: list[int] = []

    def advance(self, consumer: str, holder: str, position: int) -> bool:
        self.advances.append(position)
        return super().advance(consumer, holder, position)


class Slow:
    """Takes `each` seconds of real time an event."""

    def __init__(self, each: float) -> None:
        self.each = each
        self.seen = 0

    def publish(self, event: ev.Event) -> None:
        time.sleep(self.each)
        self.seen += 1


def stored_outputs(db: MemoryDatabase, r: Rig, n: int) -> None:
    req = r.changes.request("deploy", {"service": "eckwms-global"}, requester="U_CODER")
    with r.tx() as t:
        for i in range(n):
            t.events.add(ev.StepOutput(req.run, "pull", f"h{i}", "ok\n"))
        t.commit()


def test_a_feed_of_one_lane_writes_its_position_once_for_a_batch_not_per_event(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    db = Counted()
    r = rig(db, config, runbooks)
    stored_outputs(db, r, 300)  # a step's last output on 300 hosts
    quick = Slow(each=0)
    feed = Feed(db, Published(quick), "postmortems", "me", poll=0.05).start()
    assert feed.drain(30)
    feed.stop()
    assert quick.seen >= 300
    assert len(db.advances) <= 3 and db.advances[-1] == db.head()  # not 300 transactions


def test_a_slow_feed_of_one_lane_still_records_its_position_within_a_batch(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    db = Counted()
    r = rig(db, config, runbooks)
    stored_outputs(db, r, 40)
    slow = Slow(each=0.05)  # 2 s for the batch: positions every CHECKPOINT within it
    feed = Feed(db, Published(slow), "postmortems", "me", poll=0.05).start()
    assert feed.drain(30)
    feed.stop()
    assert slow.seen >= 40 and len(db.advances) >= 3, db.advances
    assert db.advances == sorted(db.advances) and db.advances[-1] == db.head()


class HeldRun:
    """Holds every event of one run until released (its thread stuck at Slack); takes the
    others at once."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.gate = threading.Event()
        self.seen: list[tuple[int, str]] = []
        self.lock = threading.Lock()

    def publish(self, event: ev.Event) -> None:
        if event.run.id == self.run_id:
            self.gate.wait(30)
        with self.lock:
            self.seen.append((event.run.id, type(event).__name__))


def test_a_run_held_up_in_its_lane_never_holds_up_another_runs_end(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    """Lanes go on on their own: while one run's events wait at Slack, a later run's end is
    handed over; the position stays before the held event (a restart delivers it); once
    released, each run's events arrived in their order and the position is the head."""
    db = Counted()
    r = rig(db, config, runbooks)
    first = r.changes.request("deploy", {"service": "eckwms-global"}, requester="U_CODER").run
    held = HeldRun(first.id)
    feed = Feed(db, Published(held), "slack-thread", "me", poll=0.05, lanes=4)
    r.tx.on_commit(feed.wake)
    feed.start()
    deadline = time.monotonic() + 30
    while not feed.pending or not db.after(0, 1):  # run 1's request is in its lane, held
        assert time.monotonic() < deadline
        time.sleep(0.02)
    deploy_to_the_end(r)  # run 2, asked and ended after run 1's request was read
    second = first.id + 1
    deadline = time.monotonic() + 30
    while "RunFinished" not in [k for run, k in held.seen if run == second]:
        assert time.monotonic() < deadline, f"run {second}'s end never came: {held.seen}"
        time.sleep(0.02)
    assert all(run != first.id for run, _ in held.seen)  # run 1 still held
    assert feed.position is not None and feed.position < db.head()
    before = next(s.id for s in db.after(0, 10_000) if s.event.run.id == first.id)
    assert feed.position < before  # not past the held event
    held.gate.set()
    assert feed.drain(30)
    feed.stop()
    order = [k for run, k in held.seen if run == second]
    expected = [
        type(s.event).__name__ for s, _ in coalesce(db.after(0, 10_000)) if s.event.run.id == second
    ]
    assert order == expected  # in their order
    assert db.advances[-1] == db.head() and db.advances == sorted(db.advances)


def test_a_feed_passes_over_the_events_its_consumer_does_not_handle(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    """Given the kinds its consumer handles, a feed hands over those only, and its position
    still reaches the end of the stream (the others are not read again)."""
    db = Counted()
    r = rig(db, config, runbooks)
    deploy_to_the_end(r)
    stored_outputs(db, r, 300)
    ended = ev.Recorder()
    feed = Feed(db, Published(ended), "ended", "me", poll=0.05, kinds=frozenset({"RunFinished"}))
    assert feed.start().drain(30)
    feed.stop()
    assert [type(e) for e in ended.seen] == [ev.RunFinished]
    assert db.advances[-1] == db.head() and len(db.advances) <= 2, db.advances


def test_a_read_decodes_only_the_kinds_asked_for_and_says_where_it_stopped(
    db_url: str, config: Config, runbooks: dict[str, Runbook]
) -> None:
    tx, log, run, _now = outbox_with_a_run(db_url, config, runbooks)
    with tx() as t:
        for i in range(4):
            t.events.add(ev.StepOutput(run, "pull", f"h{i}", "ok\n"))
        t.events.add(ev.RunFinished(run, RunState.SUCCEEDED))
        t.commit()
    every = log.after(0)
    read = log.read(0, 3, frozenset({"RunFinished"}))
    assert read.stored == [] and read.last == every[2].id and read.full
    rest = log.read(read.last, 3, frozenset({"RunFinished"}))
    assert [type(s.event) for s in rest.stored] == [ev.RunFinished]
    assert rest.last == every[-1].id and not rest.full
    assert log.read(rest.last, 3).last == rest.last  # nothing new: the position stays
    assert log.read(0, 10).stored == every  # no kinds: every event


def test_a_consumer_that_always_fails_gives_up_on_the_event_and_the_run_goes_on(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    db = MemoryDatabase()
    r = rig(db, config, runbooks)
    broken = Flaky(failures=10**9)
    feed = follow(db, r, broken, "broken", give_up_after=0)
    deploy_to_the_end(r)  # asserts the run succeeded
    assert feed.drain(30)
    feed.stop()
    assert broken.seen == [] and feed.failures >= len(coalesce(db.after(0, 10_000)))


def test_events_commit_with_their_change_or_not_at_all(
    db_url: str, config: Config, runbooks: dict[str, Runbook]
) -> None:
    tx = sql(db_url)
    log = SqlEventLog(make_engine(db_url))
    plan = plan_for(runbooks, config)
    with tx() as t:
        t.plans.add(plan)
        run = t.runs.create(plan, RunState.AWAITING_APPROVAL, NOW)
        t.events.add(ev.RunRequested(run))
        t.commit()
    with pytest.raises(RuntimeError), tx() as t:
        assert t.runs.transition(run.id, RunState.REJECTED, NOW, error="no")
        t.audit.append(AuditEvent(NOW, "U_LEAD", "plan.rejected", run.id))
        t.events.add(ev.RunRejected(t.runs.get(run.id), "U_LEAD", "no"))
        raise RuntimeError("the process died half-way")
    assert Each(tx, "runs").get(run.id).state == RunState.AWAITING_APPROVAL
    assert Each(tx, "audit").for_run(run.id) == []
    assert [type(s.event) for s in log.after(0)] == [ev.RunRequested]
    with tx() as t:
        assert t.runs.transition(run.id, RunState.REJECTED, NOW, error="no")
        t.audit.append(AuditEvent(NOW, "U_LEAD", "plan.rejected", run.id))
        t.events.add(ev.RunRejected(t.runs.get(run.id), "U_LEAD", "no"))
        t.commit()
    stored = log.after(0)
    assert [type(s.event) for s in stored] == [ev.RunRequested, ev.RunRejected]
    assert stored[0].id < stored[1].id
    rejected = stored[1].event
    assert isinstance(rejected, ev.RunRejected)
    assert rejected.run.state == RunState.REJECTED and rejected.run.created_at == NOW


def outbox_with_a_run(
    db_url: str, config: Config, runbooks: dict[str, Runbook]
) -> tuple[Transactions, SqlEventLog, RunView, datetime]:
    """A store with one run, and the Slack thread's consumer leased by process "a"."""
    tx = sql(db_url)
    log = SqlEventLog(make_engine(db_url))
    plan = plan_for(runbooks, config)
    now = datetime.now(UTC)
    with tx() as t:
        t.plans.add(plan)
        run = t.runs.create(plan, RunState.AWAITING_APPROVAL, NOW)
        t.commit()
    assert log.lease("slack-thread", "a", now, now + timedelta(seconds=30)) == 0
    return tx, log, run, now


def test_a_restart_delivers_what_was_not_delivered_and_one_process_holds_a_consumer(
    db_url: str, config: Config, runbooks: dict[str, Runbook]
) -> None:
    tx, log, run, now = outbox_with_a_run(db_url, config, runbooks)
    assert log.lease("slack-thread", "b", now, now + timedelta(seconds=30)) is None  # a has it
    for i in range(3):
        with tx() as t:
            t.events.add(ev.StepOutput(run, "pull", "h1", f"{i}\n"))
            t.commit()
    first = log.after(0)
    assert log.advance("slack-thread", "a", first[0].id)  # a handled one event, then died
    assert not log.advance("slack-thread", "b", first[-1].id)  # not b's to move
    later = now + timedelta(seconds=31)  # a's lease ran out
    position = log.lease("slack-thread", "b", later, later + timedelta(seconds=30))
    assert position == first[0].id
    assert [s.id for s in log.after(position)] == [s.id for s in first[1:]]


def test_events_round_trip_through_json() -> None:
    from chatops.engine.domain.postmortem import PostMortem
    from chatops.engine.domain.result import CommandResult

    run = run_of()
    pm = PostMortem(1, "web", ("U1", "U2"), NOW, NOW, answers={"cause": "a typo"})
    samples: list[ev.Event] = [
        ev.RunRequested(run, ("a reason",)),
        ev.StepFinished(
            run, "pull", "main", False, (CommandResult("h", "c", "failed", 1, "t", 0.5),)
        ),
        ev.RunFinished(run, RunState.FAILED, by=None),
        ev.PostMortemReminded(run, pm, 2),
        ev.RunInterrupted(run, None),
    ]
    for e in samples:
        assert event_codec.decode(event_codec.encode(e)) == e
    assert set(event_codec.KINDS) >= {type(e).__name__ for e in samples}
    with pytest.raises(ValueError, match="unknown event type"):
        event_codec.decode('{"type": "Nope", "data": {}}')


def test_throttled_calls_never_overlap_and_keep_their_interval_from_the_last_end() -> None:
    import time

    from chatops.slack.throttle import Throttle

    throttle = Throttle(0.1)
    spans: list[tuple[float, float]] = []

    def slow() -> None:  # a Slack that takes 0.15 s to answer
        start = time.monotonic()
        time.sleep(0.15)
        spans.append((start, time.monotonic()))

    for _ in range(20):
        throttle.submit("status:1", slow)
        time.sleep(0.03)
    while throttle.pending:
        time.sleep(0.02)
    assert 2 <= len(spans) < 20  # coalesced, and the last submit still ran
    for (_s1, e1), (s2, _e2) in itertools.pairwise(spans):
        assert s2 >= e1 + 0.1 - 0.005  # after the previous call ended, plus the interval


def test_a_prune_forgets_only_handled_events_and_ids_never_go_back(
    db_url: str, config: Config, runbooks: dict[str, Runbook]
) -> None:
    tx, log, run, _now = outbox_with_a_run(db_url, config, runbooks)
    for i in range(4):
        with tx() as t:
            t.events.add(ev.StepOutput(run, "pull", "h1", f"{i}\n"))
            t.commit()
    first = log.after(0)
    assert log.advance("slack-thread", "a", first[2].id)  # the last one not yet handled
    assert log.prune(before=NOW + timedelta(days=1)) == 3
    assert [s.id for s in log.after(0)] == [first[3].id]
    assert log.prune(before=NOW + timedelta(days=1)) == 0  # kept until handled
    assert log.advance("slack-thread", "a", first[3].id)
    assert log.prune(before=NOW + timedelta(days=1)) == 1
    with tx() as t:  # an empty table: the next id still follows the last one handed out
        t.events.add(ev.RunExpired(run))
        t.commit()
    [new] = log.after(first[3].id)
    assert new.id > first[3].id


class FailsDuringOutage:
    """Fails the first event while taking the store down (a delivery that meets the outage),
    then takes every event once the store is back."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self.failed = threading.Event()
        self.seen: list[ev.Event] = []

    def publish(self, event: ev.Event) -> None:
        if not self.failed.is_set():
            self.failed.set()
            self.db.down = True  # every read, lease and transaction fails
            raise OSError("slack.invalid: connection refused")
        self.seen.append(event)


def test_a_lane_outlives_an_outage_met_while_it_retries(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    """A delivery fails and, while it waits to retry, the store goes away (its lease cannot
    be renewed): the lane goes on once the store is back, and every event arrives; the feed
    is not left busy forever with a dead lane."""
    db = MemoryDatabase()
    r = rig(db, config, runbooks)
    consumer = FailsDuringOutage(db)
    feed = Feed(db, Published(consumer), "slack-thread", "me", poll=0.05, lanes=4)
    r.tx.on_commit(feed.wake)
    feed.start()
    r.changes.request("deploy", {"service": "eckwms-global"}, requester="U_CODER")
    assert consumer.failed.wait(30), "the first delivery never came"
    time.sleep(1.5)  # the outage lasts past the first retry
    db.down = False
    assert feed.drain(60), "the feed is still busy: a lane died in the outage"
    feed.stop()
    expected = [type(s.event) for s, _ in coalesce(db.after(0, 10_000))]
    assert [type(e) for e in consumer.seen] == expected
