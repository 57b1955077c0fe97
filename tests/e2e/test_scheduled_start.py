"""A scheduled start survives serve: `/change deploy … start_at=+Ns` is approved in Slack
(signed HTTP), serve is killed -9 before the start is due and started again after it; the
next process starts the run once, by itself, and a third one does not start it again. The
thread says when it starts before, and that it started after: the second process is killed
while Slack refuses its updates of the status message (so the message is still
"scheduled"), and the third redraws it when it starts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chatops.simulator.harness import RemoteSlack
from chatops.simulator.standin import SlackStandIn
from tests.factories import Each, sql
from tests.faults import wait_for
from tests.serve_process import Serve, serve_world

LEAD_TIME = 10  # seconds from the request to its start: time to approve, and to kill serve


@pytest.fixture
def world(tmp_path: Path, postgres_url: str) -> Iterator[tuple[dict[str, str], SlackStandIn, str]]:
    with serve_world(tmp_path, postgres_url, "scheduled") as w:
        yield w


def status_ts(url: str, run_id: int) -> str | None:
    """The status message of the run, as the store has it."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as c:
            found = c.execute(
                text("SELECT status_ts FROM slack_messages WHERE run_id = :r"), {"r": run_id}
            ).scalar()
    finally:
        engine.dispose()
    return None if found is None else str(found)


def started(url: str, run_id: int) -> int:
    return [e.action for e in Each(sql(url), "audit").for_run(run_id)].count("run.started")


def test_a_scheduled_start_is_kept_once_across_a_kill(
    world: tuple[dict[str, str], SlackStandIn, str],
) -> None:
    env, standin, url = world
    first = Serve(env).start()
    slack = RemoteSlack(f"http://127.0.0.1:{first.port}", standin)
    try:
        slack.command(
            "/change", f"deploy service=web ref=v2 start_at=+{LEAD_TIME}s", user="U_CODER"
        )
        [plan] = wait_for(lambda: slack.plans(), what="the plan")
        assert ":alarm_clock: *Starts* at" in plan.all_text()  # approvers see the time
        status, _ = slack.click("chatops.approve", user="U_LEAD", message=plan)
        assert status == 200
        said = wait_for(
            lambda: [m for m in slack.thread(plan) if "Approved early" in m.all_text()],
            what="the thread saying when it starts",
        )
        assert "it starts at" in said[0].all_text() and "Cancel run" in said[0].all_text()
        [run] = Each(sql(url), "runs").list()
        assert run.state.value == "queued" and run.not_before is not None
        status_msg = wait_for(
            lambda: [m for m in slack.thread(plan) if m.text.startswith(f"Run #{run.id}:")],
            what="the status message",
        )
        assert status_msg[0].text == f"Run #{run.id}: scheduled"
        # posted is not yet recorded: killed in between, the next process would post another
        # status message (and keep that one current), not the one this test watches
        wait_for(lambda: status_ts(url, run.id) == status_msg[0].ts, what="its ts on record")
    finally:
        first.kill()  # down before the start is due
    left = (run.not_before - datetime.now(UTC)).total_seconds()
    assert left > 0, "serve took too long to start: the start was due before the kill"
    time.sleep(left + 1)  # due, and nobody is up to start it
    assert Each(sql(url), "runs").get(run.id).state.value == "queued"

    # the status message's redraws never reach Slack from it (the rest of the thread does)
    standin.refuse("chat.update", status_msg[0].ts)
    second = Serve(env).start()
    try:
        wait_for(
            lambda: Each(sql(url), "runs").get(run.id).state.value != "queued",
            what="the run started by the next process",
        )
        assert Each(sql(url), "runs").get(run.id).current_step == "prepare"  # a person's step
        assert started(url, run.id) == 1
        wait_for(  # its feed is past the run's start: the prompt for the person's step is out
            lambda: [m for m in slack.thread(plan) if m.text.startswith("Waiting:")],
            what="the prompt of the person's step",
        )
    finally:
        second.kill()
    assert standin.message(status_msg[0].channel, status_msg[0].ts).text.endswith("scheduled")
    standin.heal()
    third = Serve(env).start()
    slack = RemoteSlack(f"http://127.0.0.1:{third.port}", standin)
    try:
        time.sleep(2)  # two sweeps of the third process
        assert started(url, run.id) == 1  # never repeated
        channel, ts = status_msg[0].channel, status_msg[0].ts

        def shown() -> str:
            return standin.message(channel, ts).all_text()

        try:
            wait_for(lambda: f"*Run #{run.id}: running*" in shown(), what="it saying it runs")
        except AssertionError:  # what was shown, and every update of it Slack was asked for
            tried = [
                (c.at, c.status, str(c.args.get("text"))[:40])
                for c in standin.calls_to("chat.update")
                if c.args.get("ts") == ts
            ]
            raise AssertionError(f"{shown()}\nupdates: {tried}") from None
        assert "scheduled" not in shown() and "Starts at" not in shown()
        assert "Cancel run" in shown()
    finally:
        third.stop()
