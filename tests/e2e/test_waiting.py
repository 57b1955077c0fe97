"""No run ever waits on nobody: in every state where a run waits on people, a visible button,
pressed by someone allowed to, moves the run on or ends it. Driven over Slack-signed HTTP."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from chatops.engine.domain.run import RunState
from chatops.simulator.harness import ChatHarness
from chatops.simulator.standin import Message
from tests.apps import ROOMY, make_app, service_config
from tests.conftest import ROOT
from tests.factories import Each, answers_for

GATED = """\
kind: debug
title: A change with a gate
description: a machine step, a gate for a lead, a machine step
requesters: [coder]
approval: {roles: [lead], quorum: 1}
parameters:
  service: {type: service}
  environment: {type: environment, default: production}
steps:
  - {id: before, kind: ssh, title: Before, action: status, on_failure: continue}
  - {id: go-ahead, kind: gate, title: A lead looks at it, roles: [lead]}
  - {id: after, kind: ssh, title: After, action: status, on_failure: continue}
"""


@pytest.fixture
def slack(tmp_path: Path) -> Iterator[ChatHarness]:
    app = make_app(tmp_path / "app")
    cfg = service_config(app, "http://127.0.0.1:9/health", [{"name": "h1", "transport": "local"}])
    path = tmp_path / "chatops.yml"
    path.write_text(yaml.safe_dump(cfg))
    commands = tmp_path / "commands"
    shutil.copytree(ROOT / "commands", commands)
    (commands / "gated.yml").write_text(GATED)
    with ChatHarness(
        config=path,
        commands=commands,
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        throttle=0.05,
        slack_limits=ROOMY,
    ) as h:
        yield h


def visible(slack: ChatHarness, action_id: str) -> Message:
    """The message that shows this button now (in the channel or a thread)."""
    shown = [
        m for m in slack.standin.messages if any(b["action_id"] == action_id for b in m.controls())
    ]
    assert shown, f"no message shows a {action_id} button"
    return shown[-1]


def state(slack: ChatHarness) -> RunState:
    return slack.wired.queries.get_run(1).state


def awaiting_approval(slack: ChatHarness) -> None:
    slack.command("/change", "deploy web ref=v2", user="U_CODER")
    slack.settle()


def at_manual_step(slack: ChatHarness) -> None:
    awaiting_approval(slack)
    slack.click("chatops.approve", user="U_LEAD")
    slack.settle()


def at_gate(slack: ChatHarness) -> None:
    slack.command("/change", "gated web", user="U_CODER")
    slack.settle()
    slack.click("chatops.approve", user="U_LEAD")
    slack.settle()


def interrupted(slack: ChatHarness) -> None:
    """A run whose process died mid-step (claimed by an owner that never beats again)."""
    w = slack.wired
    slack.command("/change", "debug web", user="U_ONCALL")
    slack.settle()
    run = w.queries.get_run(1)
    w.changes.approve(1, "U_LEAD", run.plan_hash)  # approved, queued, but nobody kicks it
    assert Each(w.tx, "runs").claim_next("vm:gone:1", w.clock.now()) is not None
    assert [r.id for r in w.runner.recover(lambda r: r.owner == "vm:gone:1")] == [1]
    slack.settle()


def escalated(slack: ChatHarness) -> None:
    slack.command("/change", "debug web -- orders time out", user="U_ONCALL")
    slack.settle()
    slack.click("chatops.approve", user="U_LEAD")
    slack.settle()
    slack.click("chatops.escalate", user="U_ONCALL")
    slack.settle()
    slack.submit(slack.opened_views()[-1], {"reason": "unclear"}, user="U_ONCALL")
    slack.settle()


def press(
    slack: ChatHarness, action_id: str, user: str, form: dict[str, str] | None = None
) -> None:
    slack.click(action_id, user=user, message=visible(slack, action_id))
    slack.settle()
    if form is not None:
        slack.submit(slack.opened_views()[-1], form, user=user)
        slack.settle()


def pick(view: dict[str, object], process: str, user: str) -> dict[str, object]:
    """The block_actions payload Slack sends when a process is picked in the form."""
    return {
        "type": "block_actions",
        "user": {"id": user},
        "team": {"id": "T0TEST"},
        "api_app_id": "A0TEST",
        "trigger_id": "t",
        "view": {**view, "id": "V1", "hash": "h"},
        "actions": [
            {
                "type": "static_select",
                "action_id": "chatops.pick_process",
                "block_id": "process",
                "selected_option": {"value": process},
                "action_ts": "0",
            }
        ],
    }


Setup = Callable[[ChatHarness], None]
CASES: list[tuple[str, Setup, RunState, str, str, dict[str, str] | None, set[RunState]]] = [
    # name, setup, the waiting state, button, who presses, form answers, where the run goes
    (
        "approval/approve",
        awaiting_approval,
        RunState.AWAITING_APPROVAL,
        "chatops.approve",
        "U_LEAD",
        None,
        {RunState.RUNNING},
    ),
    (
        "approval/reject",
        awaiting_approval,
        RunState.AWAITING_APPROVAL,
        "chatops.reject",
        "U_LEAD",
        {"reason": "not today"},
        {RunState.REJECTED},
    ),
    (
        "manual/done",
        at_manual_step,
        RunState.RUNNING,
        "chatops.done",
        "U_CODER",
        None,
        {RunState.ROLLED_BACK, RunState.FAILED, RunState.SUCCEEDED},
    ),
    (
        "manual/cancel",
        at_manual_step,
        RunState.RUNNING,
        "chatops.cancel",
        "U_CODER",
        None,
        {RunState.CANCELLED},
    ),
    (
        "gate/approve",
        at_gate,
        RunState.RUNNING,
        "chatops.gate",
        "U_LEAD",
        None,
        {RunState.SUCCEEDED},
    ),
    (
        "gate/cancel",
        at_gate,
        RunState.RUNNING,
        "chatops.cancel",
        "U_LEAD",
        None,
        {RunState.CANCELLED},
    ),
    (
        "interrupted/resume",
        interrupted,
        RunState.INTERRUPTED,
        "chatops.resume",
        "U_LEAD",
        None,
        {RunState.RUNNING, RunState.SUCCEEDED},
    ),
    (
        "interrupted/roll-back",
        interrupted,
        RunState.INTERRUPTED,
        "chatops.rollback",
        "U_LEAD",
        None,
        {RunState.ROLLED_BACK, RunState.FAILED},
    ),
    (
        "interrupted/cancel",
        interrupted,
        RunState.INTERRUPTED,
        "chatops.cancel",
        "U_LEAD",
        None,
        {RunState.CANCELLED},
    ),
    (
        "escalated/take-over",
        escalated,
        RunState.RUNNING,
        "chatops.take_over",
        "U_ARCH",
        None,
        {RunState.RUNNING},  # open until its fix plan exists
    ),
    (
        "escalated/close",
        escalated,
        RunState.RUNNING,
        "chatops.close_escalation",
        "U_ARCH",
        {"reason": "expected behaviour: the batch job runs at 3"},
        {RunState.SUCCEEDED},
    ),
    (
        "escalated/cancel",
        escalated,
        RunState.RUNNING,
        "chatops.cancel",
        "U_ONCALL",
        None,
        {RunState.CANCELLED},
    ),
]


@pytest.mark.parametrize(
    ("setup", "waiting", "action_id", "user", "form", "after"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_a_visible_button_moves_a_waiting_run_on_or_ends_it(
    slack: ChatHarness,
    setup: Setup,
    waiting: RunState,
    action_id: str,
    user: str,
    form: dict[str, str] | None,
    after: set[RunState],
) -> None:
    setup(slack)
    assert state(slack) == waiting
    press(slack, action_id, user, form)
    assert state(slack) in after, slack.ephemerals(user)
    if state(slack).is_terminal:  # nothing left on screen invites a click that can do nothing
        live = [m for m in slack.standin.messages if m.controls()]
        run_buttons = [
            b
            for m in live
            for b in m.controls()
            if b["value"].split(":")[0] == "1"
            and not b["action_id"].startswith("chatops.pm_")
            and not b["action_id"].startswith("chatops.fix_")
            and b["action_id"] != "chatops.escalate"
        ]
        assert run_buttons == [], run_buttons


def test_escalation_keeps_the_controls_and_the_architect_answers(slack: ChatHarness) -> None:
    escalated(slack)
    [plan] = slack.plans()
    asked = visible(slack, "chatops.take_over")
    assert asked.thread_ts == plan.ts and "escalates this to the Architect" in asked.all_text()
    assert {b["action_id"] for b in asked.controls()} == {
        "chatops.take_over",
        "chatops.close_escalation",
        "chatops.cancel",
    }
    visible(slack, "chatops.done")  # the diagnosis step can still be marked done

    press(slack, "chatops.take_over", "U_CODER")  # not the architect: refused, audited
    assert any("only the architect" in t for t in slack.ephemerals("U_CODER"))
    assert state(slack) == RunState.RUNNING

    press(slack, "chatops.take_over", "U_ARCH")
    assert state(slack) == RunState.RUNNING  # open until the fix plan exists
    again = visible(slack, "chatops.take_over")  # the form opens again from here
    assert "Write the fix plan" in str(again.blocks)
    form = slack.opened_views()[-1]  # a fix plan, for the same service, once a process is picked
    assert form["callback_id"] == "chatops.change"
    slack.send(pick(form, "hotfix", "U_ARCH"))
    slack.settle()
    form = slack.standin.views[-1]["view"]
    service = next(b for b in form["blocks"] if b.get("block_id") == "param:service")
    assert service["element"]["initial_option"]["value"] == "web"
    said = " ".join(m.all_text() for m in slack.thread(plan))
    assert "<@U_ARCH> takes this over" in said
    actions = [e.action for e in slack.wired.queries.audit_for_run(1)]
    assert "run.escalation_taken" in actions and "denied.escalation.take_over" in actions

    # the fix plan keeps the escalated run's requester: the one architect may approve it
    from chatops.slack.views import modals

    meta = modals.metadata(form)
    assert meta["taking_over"] == "1"  # it rides in the form, through the process pick
    w = slack.wired
    form = {**form, "blocks": modals.change_modal(w.runbooks, w.config, meta, "feature")["blocks"]}
    answers = {f"answer:{k}": v for k, v in answers_for("feature").items()}
    status, body = slack.submit(
        form, {"process": "feature", "param:service": "web", **answers}, user="U_ARCH"
    )
    assert status == 200 and body == "", body
    slack.settle()
    fix = slack.wired.queries.get_run(2)
    assert fix.requester == "U_ONCALL" and fix.state == RunState.AWAITING_APPROVAL
    assert state(slack) == RunState.SUCCEEDED  # the diagnosis ended with its fix planned
    said = " ".join(m.all_text() for m in slack.thread(plan))
    assert "planned the fix: run #2" in said
    actions = [e.action for e in slack.wired.queries.audit_for_run(1)]
    assert "run.escalation_fixed" in actions
    requested = [e for e in slack.wired.queries.audit_for_run(2) if e.action == "plan.requested"]
    assert [e.actor for e in requested] == ["U_ARCH"]  # who wrote it stays on the record
    [fix_plan] = [p for p in slack.plans() if "run #2" in p.all_text()]
    slack.click("chatops.approve", user="U_ARCH", message=fix_plan)
    slack.settle()
    assert slack.wired.queries.get_run(2).state != RunState.AWAITING_APPROVAL


def test_closing_an_escalation_needs_a_reason(slack: ChatHarness) -> None:
    escalated(slack)
    slack.click(
        "chatops.close_escalation",
        user="U_ARCH",
        message=visible(slack, "chatops.close_escalation"),
    )
    slack.settle()
    status, body = slack.submit(slack.opened_views()[-1], {"reason": "  "}, user="U_ARCH")
    assert status == 200 and "say why" in body
    assert state(slack) == RunState.RUNNING
    slack.submit(slack.opened_views()[-1], {"reason": "a known batch job"}, user="U_ARCH")
    slack.settle()
    assert state(slack) == RunState.SUCCEEDED
    [event] = [
        e for e in slack.wired.queries.audit_for_run(1) if e.action == "run.escalation_closed"
    ]
    assert event.actor == "U_ARCH" and "a known batch job" in event.detail
