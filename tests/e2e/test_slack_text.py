"""What people and agents type reaches others inert: no @channel, no mention, no fake link,
no bold that reads as the bot's own words, in errors and refusals too; and a plan too long
for one Slack message is posted whole (the message within Slack's total, the rest in the
thread, the buttons on the message)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from chatops.simulator.blockkit import BLOCKS_TEXT_TOTAL, texts
from chatops.simulator.harness import ChatHarness
from chatops.slack.views.blocks import escape, escape_message
from tests.apps import make_app, service_config, service_runbook
from tests.conftest import ROOT
from tests.e2e.test_slack_flow import app, slack, slack_with

__all__ = ["app", "slack", "slack_with"]

HOSTILE = "<!channel> <@U0BOSS> <https://evil.example|Approve> *Approved by* _lead_ ~x~"
LIVE = ("<!channel>", "<@U0BOSS>", "<https://", "*Approved by*", " _lead_ ", "~x~")


def everything_said(slack: ChatHarness) -> str:
    """Every text the bot sent anywhere: messages, updates, private answers."""
    return json.dumps([c.args for c in slack.standin.calls])


def test_escape_leaves_nothing_that_renders() -> None:
    inert = escape(HOSTILE)
    assert not any(live in inert for live in LIVE), inert
    assert escape("snake_case and a&b") == "snake_case and a&amp;b"
    said = escape_message("unknown service '<!channel>*x*': try `/change`")
    assert "<!channel>" not in said and "*x*" not in said and "`/change`" in said


def test_a_freeze_reason_is_shown_inert_to_the_people_it_refuses(slack: ChatHarness) -> None:
    slack.command("/freeze", f"web 2h {HOSTILE}", user="U_LEAD")
    slack.settle()
    slack.command("/change", "deploy service=web ref=v3", user="U_CODER")
    slack.settle()
    [refusal] = [e for e in slack.ephemerals("U_CODER") if "change freeze" in e]
    assert "evil.example" in refusal  # the reason is told,
    assert not any(live in refusal for live in LIVE), refusal  # but cannot act
    said = everything_said(slack)
    assert not any(json.dumps(live)[1:-1] in said for live in LIVE[:3]), "rendered somewhere"


def test_errors_quoting_what_was_typed_are_inert(slack: ChatHarness) -> None:
    slack.command("/change", "deploy service=<!channel>", user="U_CODER")
    slack.command("/change", "deploy service=<https://evil.example|shop>", user="U_CODER")
    slack.command("/logs", "<@U0BOSS>*boss*", user="U_ONCALL")
    slack.settle()
    answers = slack.ephemerals("U_CODER") + slack.ephemerals("U_ONCALL")
    assert len(answers) >= 3
    for said in answers:
        assert "<!channel>" not in said and "<https://" not in said and "<@U0BOSS>" not in said
        assert "*boss*" not in said
    assert any("&lt;!channel&gt;" in s for s in answers)  # told, escaped


def long_runbook(steps: int) -> str:
    body = "\n".join(
        f"  - {{id: s{i}, kind: ssh, title: 'Step {i} of the long migration', "
        f"run: 'echo {'x' * 380} step-{i}', timeout: 60}}"
        for i in range(1, steps + 1)
    )
    return service_runbook("A long runbook", f"{steps} steps with long commands", body)


def test_a_sixty_step_plan_is_posted_whole_within_slacks_total(tmp_path: Path) -> None:
    app = make_app(tmp_path / "app")
    cfg = service_config(app, "http://127.0.0.1:9/health", [{"name": "h1", "transport": "local"}])
    (tmp_path / "chatops.yml").write_text(yaml.safe_dump(cfg))
    commands = tmp_path / "commands"
    shutil.copytree(ROOT / "commands", commands)
    (commands / "long.yml").write_text(long_runbook(60))
    with ChatHarness(
        config=tmp_path / "chatops.yml",
        commands=commands,
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
    ) as slack:
        slack.command("/change", "long web", user="U_CODER")
        slack.settle()
        check_long_plan(slack)


def check_long_plan(slack: ChatHarness) -> None:
    [plan] = slack.plans()  # the conftest fails the test if Slack would have refused it
    shown = sum(len(t) for t in texts(plan.blocks))
    assert shown <= BLOCKS_TEXT_TOTAL
    assert [b["action_id"] for b in plan.controls()] == ["chatops.approve", "chatops.reject"]
    thread = slack.thread(plan)
    rest = [m for m in thread if "the rest of its steps" in m.text]
    assert rest, [m.text for m in thread]
    whole = plan.all_text() + "".join(m.all_text() for m in rest)
    for i in (1, 30, 60):
        assert f"Step {i} of the long migration" in whole
    assert all(sum(len(t) for t in texts(m.blocks)) <= BLOCKS_TEXT_TOTAL for m in rest)
    assert "are in the thread" in plan.all_text()
