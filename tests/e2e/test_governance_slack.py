"""Governance through Slack-signed requests. Change freezes: /freeze and /unfreeze for
leads only, a /change refused privately while frozen, an approved run held with its thread
saying why and started when the freeze is lifted; /status and the App Home show the freeze.
A rolling deploy on the real sshd, batch by batch behind a lead's gate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chatops.engine.domain.run import RunState
from chatops.simulator.harness import ChatHarness
from tests.e2e.test_slack_flow import app, slack, slack_with
from tests.e2e.test_slack_forms import homes, open_home
from tests.servers import Sshd

__all__ = ["app", "slack", "slack_with"]


def said(slack: ChatHarness) -> str:
    return "\n".join(m.text for m in slack.standin.channel(slack.channel))


def test_a_freeze_refuses_plans_holds_approved_runs_and_lifts(slack: ChatHarness) -> None:
    slack.command("/change", "deploy service=web ref=v2 -- before the freeze", user="U_CODER")
    slack.settle()
    [plan] = slack.plans()

    slack.command("/freeze", "web 2h database failover", user="U_CODER")
    slack.settle()
    assert any("only a lead" in e for e in slack.ephemerals("U_CODER"))
    slack.command("/freeze", "web 2h database failover", user="U_LEAD")
    slack.settle()
    assert ":snowflake: <@U_LEAD> declared a change freeze 'ad hoc #1' on web" in said(slack)

    slack.command("/change", "deploy service=web ref=v3 -- during it", user="U_CODER")
    slack.settle()
    assert any("change freeze" in e and "only hotfix" in e for e in slack.ephemerals("U_CODER"))
    assert len(slack.plans()) == 1  # nothing was planned

    slack.click("chatops.approve", user="U_LEAD", message=plan)
    slack.settle()
    run = slack.wired.queries.list_runs()[-1]
    assert run.state == RunState.QUEUED
    thread = " ".join(m.text for m in slack.thread(plan))
    assert "Approved, but held: change freeze 'ad hoc #1'" in thread

    slack.command("/status", "web", user="U_ONCALL")
    slack.settle()
    status = [json.dumps(e) for e in slack.standin.ephemeral if e["user"] == "U_ONCALL"]
    assert any(":snowflake: change freeze" in e for e in status), status
    open_home(slack, "U_LEAD")
    assert "Change freezes in force" in json.dumps(homes(slack, "U_LEAD")[-1])

    slack.command("/unfreeze", "web", user="U_LEAD")
    slack.settle()
    assert "lifted 1 freeze on web" in said(slack)
    before = said(slack)
    slack.command("/unfreeze", "web", user="U_LEAD")  # nothing left to lift: said privately
    slack.settle()
    assert said(slack) == before
    assert any("No freeze declared with /freeze" in t for t in slack.ephemerals("U_LEAD"))
    started = slack.wired.queries.get_run(run.id)
    assert started.state == RunState.RUNNING and started.current_step == "prepare"
    actions = [e.action for e in slack.wired.queries.recent_audit(200)]
    assert {"denied.freeze", "freeze.added", "denied.request", "run.held", "freeze.lifted"} <= set(
        actions
    )


def test_a_hotfix_may_run_during_a_freeze(slack: ChatHarness) -> None:
    slack.command("/freeze", "all 1h release night", user="U_LEAD")
    slack.settle()
    slack.command("/hotfix", "web label printing is down", user="U_ONCALL")
    slack.settle()
    [plan] = slack.plans()
    assert "(this process may run)" in plan.all_text()
    assert "the hotfix runbook" in plan.all_text()  # which approval rule applied


def test_a_rolling_deploy_over_slack_on_the_real_sshd(slack_with: Any, sshd: Sshd) -> None:
    """Two hosts (one sshd, two names), a canary first, a lead's gate between batches: the
    thread shows each batch, and the second starts only after the click."""
    slack = slack_with(
        service={
            "environments": {"production": {"hosts": [sshd.host("box-1"), sshd.host("box-2")]}}
        }
    )
    slack.command("/change", "rolling-deploy service=web ref=v2", user="U_CODER")
    slack.settle()
    [plan] = slack.plans()
    text = plan.all_text()
    assert "[batch 1/2 (canary): box-1]" in text and "[batch 2/2: box-2]" in text
    slack.click("chatops.approve", user="U_LEAD")
    slack.settle()
    slack.click("chatops.done", user="U_CODER")
    slack.settle()
    run = slack.wired.queries.list_runs()[-1]
    waiting = slack.wired.queries.get_run(run.id)
    assert waiting.current_step == "batch-1-done" and waiting.state == RunState.RUNNING
    hosts = {s.host for s in slack.wired.queries.steps(run.id) if s.host not in ("", "bot")}
    assert hosts == {"box-1"}  # the canary alone so far
    slack.click("chatops.gate", user="U_LEAD")
    slack.settle()
    done = slack.wired.queries.get_run(run.id)
    assert done.state == RunState.SUCCEEDED, done.error
    reached = {s.host for s in slack.wired.queries.steps(run.id) if s.host not in ("", "bot")}
    assert reached == {"box-1", "box-2"}
    thread = " ".join(m.all_text() for m in slack.thread(plan))
    assert "Batch 1/2 (box-1) is done and healthy" in thread


def test_the_serve_process_anchors_the_audit_chain(slack_with: Any, tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.jsonl"
    slack = slack_with(audit={"channel": "C0AUDIT", "anchor_file": str(anchors)})
    slack.command("/change", "deploy service=web ref=v2 -- audited", user="U_CODER")
    slack.settle()
    assert slack.bot.anchor is not None
    anchor = slack.bot.anchor.tick()  # what the scheduler's leader does every sweep
    assert anchor is not None and anchor.id == slack.wired.audit_head().id  # type: ignore[union-attr]
    [line] = anchors.read_text().splitlines()
    assert json.loads(line)["hash"] == anchor.hash
    posted = [m.text for m in slack.standin.channel("C0AUDIT")]
    assert any(anchor.hash in t and "Audit anchor" in t for t in posted)
