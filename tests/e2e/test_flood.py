"""A flood of requests in one channel, paced as Slack paces posts (here one every two
seconds, half Slack's rate, so that the backlog outlasts the typing of the requests on a busy
machine): a `/hotfix` asked in the middle of it is posted within seconds, before the ordinary
plans queued ahead of it; one requester cannot fill the channel's queue (past five waiting, a
request is refused and the person told once)."""

from __future__ import annotations

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

    for user in ("U_ONCALL", "U_ARCH", "U_CODER"):  # the channel is backed up by U_CODER's turn
        for i in range(5):
            change(user, f"{user} {i}")
    for i in range(4):  # U_CODER has five waiting already: refused, told once
        change("U_CODER", f"more {i}")
    asked = time.monotonic()
    assert slack.command("/hotfix", "web labels are down", user="U_ONCALL")[0] == 200

    def hotfix_posted() -> bool:
        return any("labels are down" in m.all_text() for m in slack.plans())

    deadline = asked + 60
    while not hotfix_posted():
        assert time.monotonic() < deadline, "the hotfix's plan was never posted"
        time.sleep(0.05)
    took = time.monotonic() - asked
    ordinary_then = len(slack.plans()) - 1
    slack.settle(timeout=120)
    plans = slack.plans()
    assert len(plans) == 16  # fifteen ordinary, one hotfix: the four over the limit were not taken
    assert ordinary_then < 15, "the hotfix waited for the whole flood"
    assert took < 8, f"the hotfix's plan took {took:.1f} s"
    told = [t for t in slack.ephemerals("U_CODER") if "requests waiting to be posted" in t]
    assert len(told) == 1, told
    assert not any("more " in m.all_text() for m in plans)
