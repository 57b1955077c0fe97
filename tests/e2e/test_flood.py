"""A flood of requests in one channel, paced as Slack paces posts (here one every two
seconds, half Slack's rate), held up by Slack at first (429s while the requests are typed):
a `/hotfix` asked behind the flood is posted within seconds of the channel opening, before
the ordinary plans queued ahead of it; one requester cannot fill the channel's queue (past
five waiting, a request is refused and the person told once)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from chatops.simulator.harness import ChatHarness
from tests.apps import App, make_app, service_config
from tests.conftest import ROOT


@pytest.fixture
def slack(tmp_path: Path) -> Iterator[ChatHarness]:
    app: App = make_app(tmp_path / "app")
    cfg = service_config(
        app, "http://127.0.0.1:9/health", [{"name": "local", "transport": "local"}]
    )
    path = tmp_path / "chatops.yml"
    path.write_text(yaml.safe_dump(cfg))
    with ChatHarness(
        config=path,
        commands=ROOT / "commands",
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        agents=False,
        slack_limits="chat.postMessage=30/min+4",  # per channel, as Slack counts it
    ) as h:
        yield h


def test_a_hotfix_goes_before_the_flood_and_nobody_fills_the_channel(slack: ChatHarness) -> None:
    def change(user: str, text: str) -> None:
        assert slack.command("/change", f"deploy service=web -- {text}", user=user)[0] == 200

    # Slack holds the channel (429, again and again) while the flood is typed: however slow
    # the typing on a busy machine, every ordinary plan is still waiting when the hotfix comes
    slack.standin.fail("chat.postMessage", 429, retry_after=1, times=1_000_000)
    for user in ("U_ONCALL", "U_ARCH", "U_CODER"):
        for i in range(5):
            change(user, f"{user} {i}")
    for i in range(4):  # U_CODER has five waiting already: refused, told once
        change("U_CODER", f"more {i}")
    assert slack.command("/hotfix", "web labels are down", user="U_ONCALL")[0] == 200

    def tried(text: str) -> bool:
        return any(text in json.dumps(c.args) for c in slack.standin.calls_to("chat.postMessage"))

    deadline = time.monotonic() + 60
    while not tried("labels are down"):  # the hotfix is at the head of the channel's queue
        assert time.monotonic() < deadline, "the hotfix's plan never reached the channel"
        time.sleep(0.05)
    slack.standin.heal()
    healed = time.monotonic()

    def hotfix_posted() -> bool:
        return any("labels are down" in m.all_text() for m in slack.plans())

    while not hotfix_posted():
        assert time.monotonic() < healed + 60, "the hotfix's plan was never posted"
        time.sleep(0.05)
    took = time.monotonic() - healed
    ordinary_then = len(slack.plans()) - 1
    slack.settle(timeout=120)
    plans = slack.plans()
    assert len(plans) == 16  # fifteen ordinary, one hotfix: the four over the limit were not taken
    # at most the channel's burst (four) went before it: the rest of the flood waited
    assert ordinary_then <= 4, f"{ordinary_then} ordinary plans went before the hotfix"
    assert took < 10, f"the hotfix's plan took {took:.1f} s once the channel opened"
    told = [t for t in slack.ephemerals("U_CODER") if "requests waiting to be posted" in t]
    assert len(told) == 1, told
    assert not any("more " in m.all_text() for m in plans)
