"""One requester cannot fill a channel's queue: a place is taken while the request's task
runs, and kept while its plan waits for the event stream to post it."""

from __future__ import annotations

from chatops.slack.admission import HELD_FOR, Admission


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_plan_left_to_the_event_stream_keeps_its_place_until_it_is_posted() -> None:
    clock = Clock()
    posted: set[int] = set()
    gate = Admission(per_user=2, clock=clock)
    assert gate.admit("U1", "C1", posted.__contains__)
    assert gate.admit("U1", "C1", posted.__contains__)
    assert not gate.admit("U1", "C1", posted.__contains__)  # two in their tasks
    gate.release("U1", "C1", waiting_run=7)  # Slack would not take it: the stream posts it
    gate.release("U1", "C1")  # posted at once
    assert gate.admit("U1", "C1", posted.__contains__)  # one place: run 7 still holds one
    assert not gate.admit("U1", "C1", posted.__contains__)
    assert gate.admit("U2", "C1", posted.__contains__)  # another person is not held up
    gate.release("U1", "C1")
    posted.add(7)  # the stream posted run 7's plan (here or in another replica)
    assert gate.admit("U1", "C1", posted.__contains__)
    assert gate.admit("U1", "C1", posted.__contains__)


def test_a_plan_never_posted_gives_its_place_back_in_the_end() -> None:
    clock = Clock()
    gate = Admission(per_user=1, clock=clock)
    assert gate.admit("U1", "C1", lambda _r: False)
    gate.release("U1", "C1", waiting_run=3)  # a channel gone: its plan is never posted
    assert not gate.admit("U1", "C1", lambda _r: False)
    clock.now += HELD_FOR + 1
    assert gate.admit("U1", "C1", lambda _r: False)
