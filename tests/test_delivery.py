"""Consumers of events never slow or fail a run: a slow one gets events on its own thread,
in order; a failing one is logged and the run goes on."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

from chatops.bootstrap import Relay
from chatops.delivery import Background
from chatops.engine import events as ev
from chatops.engine.config import Config
from chatops.engine.run import RunState
from chatops.engine.runbook import Runbook
from chatops.store.db import upgrade
from tests.factories import Events, rig
from tests.test_words import run_of


class Gated:
    """A consumer stuck until released, as a Slack that does not answer."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.seen: list[ev.Event] = []

    def publish(self, event: ev.Event) -> None:
        self.gate.wait(30)
        self.seen.append(event)


class Broken:
    def publish(self, event: ev.Event) -> None:
        raise RuntimeError("the database went away")


def test_a_stuck_consumer_does_not_hold_the_publisher_and_catches_up_coalesced() -> None:
    stuck = Gated()
    bg = Background(stuck, "test")
    sent: list[ev.Event] = [
        ev.StepOutput(run_of(), "pull", "h1", f"line {i}\n") for i in range(500)
    ]
    sent += [ev.StepFinished(run_of(), "pull", "main", True, ()), ev.RunExpired(run_of())]
    for e in sent:
        bg.publish(e)  # returns although the consumer has handled nothing yet
    assert stuck.seen == [] and bg.pending
    stuck.gate.set()
    bg.stop()
    assert not bg.pending
    outputs = [e for e in stuck.seen if isinstance(e, ev.StepOutput)]
    assert len(outputs) <= 3  # the lines queued behind a slow Slack arrive as one event
    assert "".join(e.chunk for e in outputs) == "".join(f"line {i}\n" for i in range(500))
    assert stuck.seen[-2:] == sent[-2:]  # and nothing else is merged or reordered


def test_a_failing_consumer_is_logged_and_the_next_event_still_goes_out() -> None:
    got = Events()
    relay = Relay(Broken(), got)
    relay.publish(ev.RunStarted(run_of()))
    relay.publish(ev.RunExpired(run_of()))
    assert got.names() == ["RunStarted", "RunExpired"]
    bg = Background(Broken(), "broken")
    bg.publish(ev.RunStarted(run_of()))
    bg.stop()
    assert not bg.pending


def test_a_run_succeeds_although_a_consumer_fails_on_every_event(
    tmp_path: Path, config: Config, runbooks: dict[str, Runbook]
) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    upgrade(url)
    r = rig(url, config, runbooks)
    relay = Relay(Broken(), r.events)
    r.runner.notifier = relay
    r.changes.notifier = relay
    req = r.changes.request("deploy", {"service": "eckwms-global"}, requester="U_CODER")
    r.changes.approve(req.run.id, "U_LEAD", req.plan.sha256)
    r.runner.drain()
    r.changes.mark_done(req.run.id, "prepare", "U_CODER")
    done = r.runner.continue_run(req.run.id)
    assert done is not None and done.state == RunState.SUCCEEDED
    assert "RunFinished" in r.events.names()


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
