"""The Slack budget and the message desk, on a fake clock and a fake Slack of our own."""

from __future__ import annotations

import gc
import itertools
import threading
import time
import weakref
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from chatops.slack.budget import Priority, Rate, SlackBudget, parse_rates
from chatops.slack.thread.desk import MessageDesk


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate_and_a_pause_for_everyone() -> None:
    clock = Clock()
    budget = SlackBudget({"chat.update": Rate(60, 3)}, clock=clock)
    assert all(budget.acquire("chat.update", timeout=0) for _ in range(3))
    assert not budget.acquire("chat.update", timeout=0)  # the burst is spent
    clock.now += 1.0
    assert not budget.acquire("chat.update", timeout=0)  # our pace: a little under Slack's
    clock.now += 0.12
    assert budget.acquire("chat.update", timeout=0)  # one every 1/0.9 s
    clock.now += 5.0
    budget.pause("chat.update", 3.0)  # Slack said 429, Retry-After: 3
    assert not budget.acquire("chat.update", timeout=0)
    clock.now += 2.9
    assert not budget.acquire("chat.update", timeout=0)
    clock.now += 1.3  # past the pause: the bucket fills from its end
    assert budget.acquire("chat.update", timeout=0)
    assert budget.acquire("users.info", timeout=0)  # another method: its own bucket


def test_posts_are_limited_per_channel() -> None:
    budget = SlackBudget({"chat.postMessage": Rate(60, 2)}, clock=Clock())
    assert budget.acquire("chat.postMessage", "C1", timeout=0)
    assert budget.acquire("chat.postMessage", "C1", timeout=0)
    assert not budget.acquire("chat.postMessage", "C1", timeout=0)
    assert budget.acquire("chat.postMessage", "C2", timeout=0)


def test_progress_never_spends_the_last_half() -> None:
    budget = SlackBudget({"chat.update": Rate(60, 8)}, clock=Clock())
    progress = 0
    while budget.acquire("chat.update", priority=Priority.PROGRESS, timeout=0):
        progress += 1
    assert progress == 4  # 8 - 4 kept back
    finals = 0
    while budget.acquire("chat.update", priority=Priority.FINAL, timeout=0):
        finals += 1
    assert finals == 4  # what progress left, final states may spend


def test_the_better_waiter_gets_the_next_token() -> None:
    """A progress waiter is there first; a final state comes later and goes first."""
    budget = SlackBudget({"chat.update": Rate(600, 1)})  # one token every 0.1 s
    assert budget.acquire("chat.update", timeout=0)
    order: list[str] = []
    progress_waiting = threading.Event()

    def wait(name: str, priority: Priority) -> None:
        if priority is Priority.PROGRESS:
            progress_waiting.set()
        assert budget.acquire("chat.update", priority=priority, timeout=10)
        order.append(name)

    slow = threading.Thread(target=wait, args=("progress", Priority.PROGRESS))
    slow.start()
    assert progress_waiting.wait(5)
    final = threading.Thread(target=wait, args=("final", Priority.FINAL))
    final.start()
    slow.join(10)
    final.join(10)
    assert order == ["final", "progress"]


def test_a_waiter_lets_go_when_cancelled_not_when_its_timeout_ends() -> None:
    """A stopping desk does not wait out the budget: its senders' waits end at the poke."""
    budget = SlackBudget({"chat.update": Rate(60, 1)}, clock=Clock())  # the clock stands
    assert budget.acquire("chat.update", timeout=0)
    stop = threading.Event()
    got: list[bool] = []
    waiter = threading.Thread(
        target=lambda: got.append(budget.acquire("chat.update", timeout=60, cancelled=stop.is_set))
    )
    waiter.start()
    waiter.join(timeout=0.3)
    assert waiter.is_alive()  # no token: it waits
    stop.set()
    budget.poke()
    waiter.join(timeout=5)
    assert got == [False]


def test_limits_are_read_from_one_line_and_a_typo_is_an_error() -> None:
    rates = parse_rates("chat.update=40/min+15, chat.postMessage=1/s+4")
    assert rates == {"chat.update": Rate(40, 15), "chat.postMessage": Rate(60, 4)}
    assert parse_rates("") == {}
    for bad in ("chat.update=40", "chat.update=40/hour+2", "=1/s+1", "chat.update=0/s+1"):
        with pytest.raises(ValueError):
            parse_rates(bad)


class FakeSlack:
    """chat.update as our port sees it: records calls; can fail the next ones."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail_next = 0
        self.refuse = False
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.stamps: list[float] = []

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        self.stamps.append(time.monotonic())
        self.entered.set()
        assert self.gate.wait(10)
        if self.refuse:
            raise SlackApiError(
                "refused",
                SlackResponse(
                    client=None,
                    http_verb="POST",
                    api_url="",
                    req_args={},
                    data={"ok": False, "error": "message_not_found"},
                    headers={},
                    status_code=200,
                ),
            )
        if self.fail_next:
            self.fail_next -= 1
            raise OSError("connection refused")
        self.calls.append((ts, text))


def desk_for(slack: FakeSlack, **kw: Any) -> MessageDesk:
    budget = SlackBudget({"chat.update": Rate(6000, 100)})
    return MessageDesk(slack.update, budget, transient=lambda e: False, senders=1, **kw)


def test_the_same_render_is_never_sent_twice_and_pending_updates_are_one_call() -> None:
    slack = FakeSlack()
    desk = desk_for(slack, progress_every=0.0)
    ticket = desk.put("C1", "1.1", lambda: ("v1", []), Priority.FINAL)
    assert desk.wait(ticket, 5)
    ticket = desk.put("C1", "1.1", lambda: ("v1", []), Priority.FINAL)  # nothing changed
    assert desk.wait(ticket, 5)
    slack.gate.clear()  # Slack is slow: three updates queue behind one in flight
    slack.entered.clear()
    desk.put("C1", "1.1", lambda: ("v2", []), Priority.PROGRESS)
    assert slack.entered.wait(5)  # v2 is in flight
    for text in ("v3", "v4"):
        ticket = desk.put("C1", "1.1", lambda t=text: (t, []), Priority.PROGRESS)  # type: ignore[misc]
    ticket = desk.put("C1", "1.1", lambda: ("v5", []), Priority.FINAL)
    slack.gate.set()
    assert desk.wait(ticket, 5)
    desk.stop()
    assert slack.calls == [("1.1", "v1"), ("1.1", "v2"), ("1.1", "v5")]
    assert desk.skipped == 1


def test_a_failed_update_goes_again_with_the_state_of_that_moment() -> None:
    slack = FakeSlack()
    slack.fail_next = 2
    desk = desk_for(slack, first_retry=0.05)  # the pace of the retries is not the point
    state = {"text": "running"}
    ticket = desk.put("C1", "2.2", lambda: (state["text"], []), Priority.FINAL)
    state["text"] = "succeeded"  # the run ended while Slack was failing
    assert desk.wait(ticket, 10)
    desk.stop()
    assert slack.calls == [("2.2", "succeeded")]
    assert desk.stalled_for == 0


def test_a_refused_update_is_let_go_and_its_waiter_released() -> None:
    slack = FakeSlack()
    slack.refuse = True
    desk = desk_for(slack)
    assert desk.wait(desk.put("C1", "3.3", lambda: ("x", []), Priority.FINAL), 5)
    desk.stop()
    assert slack.calls == [] and not desk.pending


def test_progress_of_one_message_is_paced_and_a_final_state_is_not() -> None:
    slack = FakeSlack()
    desk = desk_for(slack, progress_every=0.3)
    for i in range(20):
        desk.put("C1", "4.4", lambda i=i: (f"p{i}", []), Priority.PROGRESS)  # type: ignore[misc]
        time.sleep(0.03)
    final = desk.put("C1", "4.4", lambda: ("done", []), Priority.FINAL)
    assert desk.wait(final, 5)
    desk.stop()
    progress = slack.stamps[:-1]
    assert 2 <= len(progress) <= 4  # 0.6 s of progress at most every 0.3 s
    assert all(b - a >= 0.29 for a, b in itertools.pairwise(progress))
    assert slack.calls[-1] == ("4.4", "done")


def test_messages_shown_and_untouched_for_five_minutes_are_forgotten() -> None:
    slack = FakeSlack()
    clock = Clock()
    # a budget with room for every update at once: this is about forgetting, not pace
    budget = SlackBudget({"chat.update": Rate(60_000, 1000)})
    desk = MessageDesk(slack.update, budget, senders=1, clock=clock, progress_every=0.0)
    for i in range(300):  # a run's messages, shown
        assert desk.wait(desk.put("C1", f"old{i}", lambda: ("done", []), Priority.FINAL), 5)
    clock.now += 200
    recent = desk.put("C1", "recent", lambda: ("x", []), Priority.FINAL)
    assert desk.wait(recent, 5) and desk.kept == 301  # not yet
    clock.now += 150  # the old ones untouched for 350 s, the recent one for 150 s
    assert desk.wait(desk.put("C1", "new", lambda: ("x", []), Priority.FINAL), 5)
    desk.stop()
    assert desk.kept == 2  # "recent" and "new"
    # a forgotten message can still be updated: it is a new entry
    assert len(slack.calls) == 302


def test_a_shown_message_keeps_nothing_its_render_captured() -> None:
    """A render captures what it shows (a run, a plan): once Slack has the message, the desk
    lets go of it, and memory does not grow with the runs shown."""

    class Shown:
        text = "run #1: succeeded"

    slack = FakeSlack()
    desk = desk_for(slack, progress_every=0.0)
    shown = Shown()
    alive = weakref.ref(shown)
    ticket = desk.put("C1", "9.9", lambda s=shown: (s.text, []), Priority.FINAL)  # type: ignore[misc]
    assert desk.wait(ticket, 5)
    del shown
    gc.collect()
    desk.stop()
    assert alive() is None, "the desk still holds what a shown message was rendered from"
    assert slack.calls == [("9.9", "run #1: succeeded")]


def test_progress_after_a_state_in_flight_is_paced_from_that_state() -> None:
    slack = FakeSlack()
    desk = desk_for(slack, progress_every=0.3)
    slack.gate.clear()
    slack.entered.clear()
    step = desk.put("C1", "5.5", lambda: ("step 2 started", []), Priority.STEP)
    assert slack.entered.wait(5)  # the step's state is in flight, not paced
    progress = desk.put("C1", "5.5", lambda: ("step 2: tick", []), Priority.PROGRESS)
    slack.gate.set()
    assert desk.wait(step, 5) and desk.wait(progress, 5)
    desk.stop()
    assert [text for _, text in slack.calls] == ["step 2 started", "step 2: tick"]
    # the progress did not borrow the state's freedom from pacing: it waited its turn
    assert slack.stamps[1] - slack.stamps[0] >= 0.29, slack.stamps
