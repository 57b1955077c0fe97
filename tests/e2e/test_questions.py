"""Required planning questions: a plan with one unanswered is posted with a way to answer
and no Approve; nobody can approve it (Slack, console, CLI alike) until the requester
answers, which makes a new version of the plan."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatops.adapters.clock import ManualClock
from chatops.engine.domain.run import RunState
from chatops.engine.planning.config import Config
from chatops.engine.planning.runbook import Runbook
from chatops.errors import PermissionDenied
from chatops.simulator.harness import ChatHarness
from chatops.slack.views import blocks as bk
from chatops.slack.views.plan_message import plan_blocks
from tests.apps import ECHO_DATABASE, ROOMY, cli_config
from tests.conftest import ROOT
from tests.factories import NOW, Rig, rig
from tests.memory import MemoryDatabase

MIG = {"service": "eckwms-global", "script": "scripts/add-status.js"}
ANSWERS = {
    "tables": "orders",
    "columns": "orders.status (new)",
    "indexes": "none",
    "data_effect": "none",
    "backup": "yes, minutes",
}


@pytest.fixture
def r(config: Config, runbooks: dict[str, Runbook]) -> Rig:
    return rig(MemoryDatabase(), config, runbooks)


def test_an_unanswered_required_question_blocks_approval_and_is_audited(r: Rig) -> None:
    req = r.changes.request("migration", MIG, requester="U_CODER", answers={"tables": "orders"})
    assert req.run.state == RunState.AWAITING_APPROVAL
    assert req.plan.unanswered() == ["columns", "indexes", "data_effect", "backup"]
    with pytest.raises(PermissionDenied, match="planning questions are not answered: columns"):
        r.changes.approve(req.run.id, "U_LEAD", req.plan.sha256)
    assert r.audit_actions(req.run.id)[-1] == "denied.approve"
    status = r.changes.approval_status(req.run, req.plan)
    assert status.missing[0] == "answers to columns, indexes, data_effect, backup"
    assert r.store.get_run(req.run.id).state == RunState.AWAITING_APPROVAL


def test_blank_answers_do_not_count(r: Rig) -> None:
    blank = {**ANSWERS, "backup": "   "}
    req = r.changes.request("migration", MIG, requester="U_CODER", answers=blank)
    assert req.plan.unanswered() == ["backup"]


def test_answering_by_edit_makes_a_new_version_that_can_be_approved(r: Rig) -> None:
    req = r.changes.request("migration", MIG, requester="U_CODER")
    with pytest.raises(PermissionDenied, match="only the requester"):
        r.changes.revisions.revise(req.run.id, "U_LEAD", dict(ANSWERS))
    # answers given as key=value, the way `/change edit RUN tables=orders` sends them
    made = r.changes.revisions.revise(req.run.id, "U_CODER", dict(ANSWERS))
    assert made.plan.answers == ANSWERS and made.plan.unanswered() == []
    assert made.plan.params["script"] == "scripts/add-status.js"
    assert made.plan.sha256 != req.plan.sha256
    with pytest.raises(PermissionDenied, match="different version"):
        r.changes.approve(req.run.id, "U_LEAD", req.plan.sha256)
    for who in ("U_LEAD", "U_ARCH"):
        status = r.changes.approve(req.run.id, who, made.plan.sha256)
    assert status.complete and status.run.state == RunState.QUEUED


def test_only_the_requester_opens_the_answers(r: Rig) -> None:
    req = r.changes.request("migration", MIG, requester="U_CODER")
    assert r.changes.revisions.to_answer(req.run.id, "U_CODER").sha256 == req.plan.sha256
    with pytest.raises(PermissionDenied, match=r"only the requester \(U_CODER\)"):
        r.changes.revisions.to_answer(req.run.id, "U_LEAD")
    assert r.audit_actions(req.run.id)[-1] == "denied.revise"


def test_optional_questions_do_not_block(r: Rig) -> None:
    req = r.changes.request("debug", {"service": "eckwms-global"}, requester="U_ONCALL")
    assert req.plan.questions and req.plan.unanswered() == []


def test_the_plan_message_offers_answers_not_approve(r: Rig) -> None:
    req = r.changes.request("migration", MIG, requester="U_CODER")
    actions = [b for b in plan_blocks(req.plan, req.verdict, req.run) if b["type"] == "actions"]
    ids = [e["action_id"] for b in actions for e in b["elements"]]
    assert bk.A_APPROVE not in ids and bk.A_ANSWER in ids and bk.A_REJECT in ids
    text = json.dumps(plan_blocks(req.plan, req.verdict, req.run))
    assert "Not ready for approval" in text and "/change edit 1 tables=" in text
    made = r.changes.revisions.revise(req.run.id, "U_CODER", dict(ANSWERS))
    ids = [
        e["action_id"]
        for b in plan_blocks(made.plan, made.verdict, made.run)
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert bk.A_APPROVE in ids and bk.A_ANSWER not in ids


@pytest.fixture
def slack(tmp_path: Path) -> Iterator[ChatHarness]:
    cli_config(tmp_path, database=ECHO_DATABASE)  # service web, its chatops.yml in tmp_path
    with ChatHarness(
        config=tmp_path / "chatops.yml",
        commands=ROOT / "commands",
        clock=ManualClock(NOW),
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        throttle=0.1,
        slack_limits=ROOMY,
    ) as h:
        yield h


def test_in_slack_the_requester_answers_in_a_form_then_leads_approve(slack: ChatHarness) -> None:
    slack.command("/change", "migration web script=scripts/add-status.js", user="U_CODER")
    slack.settle()
    [plan] = slack.plans()
    assert "Not ready for approval" in plan.all_text()
    assert [b["action_id"] for b in plan.controls()] == [bk.A_ANSWER, bk.A_REJECT]
    slack.click(bk.A_ANSWER, user="U_LEAD")  # not the requester: refused, privately
    slack.settle()
    assert any("only the requester (U_CODER)" in t for t in slack.ephemerals("U_LEAD"))
    assert slack.opened_views() == []
    slack.click(bk.A_ANSWER, user="U_CODER")
    slack.settle()
    [form] = slack.opened_views()
    required = [b["block_id"] for b in form["blocks"] if b.get("optional") is False]
    assert required == [f"answer:{q}" for q in ANSWERS]
    status, body = slack.submit(
        form, {f"answer:{k}": v for k, v in ANSWERS.items()}, user="U_CODER"
    )
    assert status == 200 and body == ""
    slack.settle()
    [plan] = slack.plans()
    assert "Not ready for approval" not in plan.all_text()
    assert [b["action_id"] for b in plan.controls()] == [bk.A_APPROVE, bk.A_REJECT]
    assert "orders.status (new)" in plan.all_text()
    assert any("changed the plan" in m.all_text() for m in slack.thread(plan))


def test_in_slack_change_edit_answers_by_question_id(slack: ChatHarness) -> None:
    slack.command("/change", "migration web script=scripts/add-status.js", user="U_CODER")
    slack.settle()
    words = " ".join(f'{k}="{v}"' for k, v in ANSWERS.items())
    slack.command("/change", f"edit 1 {words}", user="U_CODER")
    slack.settle()
    run = slack.wired.queries.get_run(1)
    plan = slack.wired.queries.load_plan(run.task_id)
    assert plan.answers == ANSWERS and plan.params["script"] == "scripts/add-status.js"
    [message] = slack.plans()
    assert bk.A_APPROVE in [b["action_id"] for b in message.controls()]
