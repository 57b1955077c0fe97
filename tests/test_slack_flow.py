"""The Slack app end to end: signed requests in, the Web API stand-in records what is said."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from slack_sdk.models.blocks import Block

from chatops.engine.run import RunState
from chatops.testing.harness import ChatHarness
from tests.apps import App, health_server, make_app, service_config
from tests.conftest import ROOT
from tests.servers import Sshd


@pytest.fixture
def app(tmp_path: Path) -> App:
    return make_app(tmp_path / "app")


@pytest.fixture
def slack(tmp_path: Path, app: App, sshd: Sshd) -> Iterator[ChatHarness]:
    with health_server(app) as url:
        cfg = service_config(app, url, [sshd.host("box-1")])
        path = tmp_path / "chatops.yml"
        path.write_text(yaml.safe_dump(cfg))
        h = ChatHarness(
            config=path,
            commands=ROOT / "commands",
            database_url=f"sqlite:///{tmp_path / 'c.db'}",
            throttle=0.2,
        )
        try:
            yield h
        finally:
            h.stop()


def valid_blocks(blocks: list[dict]) -> None:  # type: ignore[type-arg]
    assert len(blocks) <= 50
    for b in blocks:
        Block.parse(b).validate_json()


def test_request_approve_run_over_ssh(slack: ChatHarness, app: App) -> None:
    status, _ = slack.command(
        "/change", "deploy service=web ref=v2 -- ship the label fix", user="U_CODER"
    )
    assert status == 200
    slack.settle()
    [plan] = slack.plans()
    valid_blocks(plan.blocks)
    text = plan.all_text()
    assert "Deploy ready code: web / production" in text and "<@U_CODER>" in text
    assert "git fetch --quiet origin v2" in text and "ship the label fix" in text
    assert "this plan follows the process" in text
    assert {b["action_id"] for b in plan.buttons()} == {"chatops.approve", "chatops.reject"}

    slack.click("chatops.approve", user="U_ONCALL")  # not a lead
    slack.click("chatops.approve", user="U_CODER")  # the requester
    slack.settle()
    assert any("only lead may approve" in t for t in slack.ephemerals("U_ONCALL"))
    assert any("four-eyes" in t for t in slack.ephemerals("U_CODER"))
    assert slack.services.wired.store.get_run(1).state == RunState.AWAITING_APPROVAL

    slack.click("chatops.approve", user="U_LEAD")
    slack.settle()
    plan = slack.standin.message(plan.channel, plan.ts)
    assert "Approved by <@U_LEAD>" in plan.all_text() and not plan.buttons()
    slack.click("chatops.done", user="U_CODER")  # the manual "tests pass, pushed" step
    slack.settle()

    run = slack.services.wired.store.get_run(1)
    assert run.state == RunState.SUCCEEDED, run.error
    assert app.head() == app.revs["v2"] and app.state() == "running v2"
    thread = slack.thread(plan)
    joined = "\n".join(m.all_text() for m in thread)
    for step in ("snapshot", "pull", "install", "restart", "logs", "health"):
        assert f"`{step}` finished" in joined, step
    assert "*box-1*: exit 0" in joined
    summary = thread[-1]
    assert summary.broadcast and "Run #1 succeeded" in summary.all_text()
    assert "*Done:*" in summary.all_text() and "*Validation:*" in summary.all_text()
    status_msg = next(m for m in thread if m.all_text().startswith("Run #1"))
    assert status_msg.edits >= 2 and "succeeded" in status_msg.all_text()
    for m in thread:
        valid_blocks(m.blocks)
    audit = [e.action for e in slack.services.wired.audit.for_run(1)]
    assert audit.count("denied.approve") == 2 and "run.succeeded" in audit
