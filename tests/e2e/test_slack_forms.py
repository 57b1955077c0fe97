"""The Slack app's forms, refusals, errors, expiry, cancel and Block Kit limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from chatops.adapters.clock import ManualClock
from chatops.engine.domain.run import RunState
from chatops.engine.ports import WorkerInfo
from chatops.simulator.harness import ChatHarness
from tests.apps import ROOMY, App, make_app, service_config
from tests.conftest import ROOT
from tests.factories import NOW, Each


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def slack(tmp_path: Path, clock: ManualClock) -> Iterator[ChatHarness]:
    app: App = make_app(tmp_path / "app")
    hosts = [{"name": f"h{i}", "transport": "local"} for i in range(1, 31)]
    db = {
        "backup": "echo backup {backup_file}",
        "restore": "echo restore",
        "verify": "echo ok",
        "migrate": "echo migrate {script}",
    }
    cfg = service_config(app, "http://127.0.0.1:9/health", hosts, database=db)
    path = tmp_path / "chatops.yml"
    path.write_text(yaml.safe_dump(cfg))
    with ChatHarness(
        config=path,
        commands=ROOT / "commands",
        clock=clock,
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        throttle=0.1,
        slack_limits=ROOMY,
    ) as h:
        yield h


def test_unknown_process_and_bad_parameter_get_a_helpful_ephemeral(slack: ChatHarness) -> None:
    for text in (
        "launch service=web",
        "deploy service=web ref=$(reboot)",
        "deploy service=nope",
        'deploy service="web',
    ):
        slack.command("/change", text, user="U_CODER")
        slack.settle()
    said = slack.ephemerals("U_CODER")
    assert len(said) == 4
    assert "unknown process 'launch'" in said[0] and "`deploy SERVICE environment=" in said[0]
    assert "is not a git ref" in said[1] and "`deploy SERVICE environment=production" in said[1]
    assert "unknown service 'nope'" in said[2] and "web" in said[2]
    assert "check the quotes" in said[3]
    assert not any("Traceback" in s or "error id" in s for s in said)
    assert slack.plans() == []


def test_help(slack: ChatHarness) -> None:
    slack.command("/change", "help", user="U_CODER")
    slack.settle()
    [text] = slack.ephemerals("U_CODER")
    for process in ("deploy", "migration", "hotfix", "feature", "endpoint", "refactor", "debug"):
        assert f"`{process} SERVICE" in text


def test_the_form_builds_a_plan(slack: ChatHarness) -> None:
    slack.command("/change", "", user="U_ARCH")
    slack.settle()
    [first] = slack.opened_views()
    View(**first).validate_json()
    payload = {
        "type": "block_actions",
        "user": {"id": "U_ARCH"},
        "team": {"id": "T0TEST"},
        "view": first,
        "trigger_id": "t1",
        "api_app_id": "A0TEST",
        "actions": [
            {
                "type": "static_select",
                "action_id": "chatops.pick_process",
                "block_id": "process",
                "selected_option": {"value": "migration"},
                "action_ts": "1",
            }
        ],
    }
    slack.send(payload)
    slack.settle()
    form = slack.opened_views()[-1]
    View(**form).validate_json()
    ids = [b.get("block_id") for b in form["blocks"]]
    assert "param:script" in ids and "answer:tables" in ids and "answer:data_effect" in ids
    status, body = slack.submit(
        form,
        {"process": "migration", "param:service": "web", "param:script": "../../etc/passwd"},
        user="U_ARCH",
    )
    assert status == 200 and json.loads(body)["response_action"] == "errors"
    assert "param:script" in json.loads(body)["errors"]
    assert "param:start_at" in ids  # approved now, started later: optional
    good = {
        "process": "migration",
        "param:service": "web",
        "param:script": "scripts/add-status.js",
        "answer:tables": "orders",
        "request": "orders need a status",
    }
    status, body = slack.submit(form, {**good, "param:start_at": "tomorrow"}, user="U_ARCH")
    assert "a time like 22:00" in json.loads(body)["errors"]["param:start_at"]
    status, body = slack.submit(form, {**good, "param:start_at": "+2h"}, user="U_ARCH")
    assert status == 200 and body == ""
    slack.settle()
    [plan] = slack.plans()
    text = plan.all_text()
    assert ":alarm_clock: *Starts* at" in text
    assert "Database migration: web / production" in text
    assert "Which tables are affected?" in text and "orders" in text
    assert "an architect among them" in text


def test_import_form(slack: ChatHarness) -> None:
    slack.command("/change", "import", user="U_CODER")
    slack.settle()
    [form] = slack.opened_views()
    _, body = slack.submit(form, {"task": "{not json"}, user="U_CODER")
    assert "not JSON" in json.loads(body)["errors"]["task"]
    task = {
        "target_agent": "production_server",
        "task_id": "eck-7",
        "objective": "Ship v2",
        "command_for_agent": "deploy_code",
        "steps": ["Check the changelog", "[restart] go"],
        "validation": ["health ok"],
    }
    status, body = slack.submit(
        form, {"task": json.dumps(task), "params": "service=web ref=v2"}, user="U_CODER"
    )
    assert status == 200 and body == ""
    slack.settle()
    [plan] = slack.plans()
    assert "Check the changelog" in plan.all_text() and "Ship v2" in plan.all_text()


def test_reject_asks_for_a_reason(slack: ChatHarness) -> None:
    slack.command("/change", "deploy service=web", user="U_CODER")
    slack.settle()
    slack.click("chatops.reject", user="U_LEAD")
    slack.settle()
    [form] = slack.opened_views()
    _, body = slack.submit(form, {"reason": "not during the sale"}, user="U_ONCALL")
    assert "only an approver or the requester" in json.loads(body)["errors"]["reason"]
    _, body = slack.submit(form, {"reason": "y"}, user="U_LEAD")  # a stray confirmation
    assert "say why it is rejected" in json.loads(body)["errors"]["reason"]
    reason = next(b for b in form["blocks"] if b.get("block_id") == "reason")
    assert reason["element"]["max_length"] == 3000  # Slack stops the typing there
    slack.submit(form, {"reason": "not during the sale"}, user="U_LEAD")
    slack.settle()
    [plan] = slack.plans()
    assert "Rejected by <@U_LEAD>: not during the sale" in plan.all_text() and not plan.controls()
    assert slack.wired.queries.get_run(1).state == RunState.REJECTED


def test_expiry_updates_the_buttons_and_tells_the_thread(
    slack: ChatHarness, clock: ManualClock
) -> None:
    slack.command("/change", "deploy service=web", user="U_CODER")
    slack.settle()
    clock.advance(timedelta(hours=4, minutes=1))
    slack.sweeper.sweep()
    slack.settle()
    [plan] = slack.plans()
    assert "Expired" in plan.all_text() and not plan.controls()
    assert any("expired" in m.all_text() for m in slack.thread(plan))
    slack.click(
        "chatops.approve", user="U_LEAD", value=None, message=plan
    ) if plan.controls() else None
    assert slack.wired.queries.get_run(1).state == RunState.EXPIRED


def test_cancel_a_run_waiting_on_a_person_ends_it_at_once(slack: ChatHarness) -> None:
    slack.command("/change", "deploy service=web", user="U_CODER")
    slack.settle()
    slack.click("chatops.approve", user="U_LEAD")
    slack.settle()
    assert slack.wired.queries.get_run(1).state == RunState.RUNNING  # at a person's step
    slack.click("chatops.cancel", user="U_ONCALL")
    slack.settle()
    assert any("only the requester or a lead" in t for t in slack.ephemerals("U_ONCALL"))
    slack.click("chatops.cancel", user="U_CODER")
    slack.settle()
    run = slack.wired.queries.get_run(1)
    assert run.state == RunState.CANCELLED and "cancelled by U_CODER" in run.error
    [plan] = slack.plans()
    thread = slack.thread(plan)
    assert "Run #1 cancelled" in thread[-1].all_text()
    assert not any(m.controls() for m in thread)  # no Mark done, no Cancel left on screen
    assert not plan.controls() and "cancelled" in plan.all_text()
    status = next(m for m in thread if m.text.startswith("Run #1"))
    assert "cancelled" in status.text
    actions = [e.action for e in slack.wired.queries.audit_for_run(1)]
    assert "run.cancelled" in actions and "denied.cancel" in actions
    steps = slack.wired.queries.steps(1)
    assert [s.state.value for s in steps if s.step_id == "prepare"] == ["cancelled"]


def test_big_plans_stay_within_block_kit_limits(slack: ChatHarness) -> None:
    long_text = "x" * 5000
    slack.command("/change", f"deploy service=web -- {long_text}", user="U_CODER")
    slack.settle()
    [plan] = slack.plans()
    assert len(plan.blocks) <= 50
    for b in plan.blocks:
        Block.parse(b).validate_json()
        if b.get("type") == "section" and "text" in b:
            assert len(b["text"]["text"]) <= 3000
    for button in plan.controls():
        assert len(button["value"]) <= 2000 and len(button["action_id"]) <= 255
    assert "+27 more" in plan.all_text()  # 30 hosts, one command, folded


def open_home(slack: ChatHarness, user: str) -> None:
    body = {
        "type": "event_callback",
        "team_id": "T0TEST",
        "api_app_id": "A0TEST",
        "event_id": f"Evhome-{user}",
        "event": {"type": "app_home_opened", "user": user, "tab": "home"},
    }
    assert slack.post(json.dumps(body).encode(), "application/json")[0] == 200
    slack.settle()


def homes(slack: ChatHarness, user: str) -> list[dict]:  # type: ignore[type-arg]
    return [
        v["view"] for v in slack.standin.views if v["kind"] == "publish" and v["user_id"] == user
    ]


def test_app_home_shows_what_waits_and_is_republished(slack: ChatHarness) -> None:
    open_home(slack, "U_LEAD")
    [first] = homes(slack, "U_LEAD")
    View(**first).validate_json()
    assert "Waiting for your approval*: nothing" in json.dumps(first)
    slack.command("/change", "deploy service=web -- ship it", user="U_CODER")
    slack.settle()
    latest = homes(slack, "U_LEAD")[-1]
    View(**latest).validate_json()
    text = json.dumps(latest)
    assert (
        "Waiting for your approval* (1)" in text
        and "#1 Deploy ready code on web/production" in text
    )
    assert homes(slack, "U_CODER") == []  # never opened: never published
    open_home(slack, "U_CODER")
    assert "Waiting for your approval*: nothing" in json.dumps(homes(slack, "U_CODER")[-1])
    slack.click("chatops.approve", user="U_LEAD")
    slack.settle()
    text = json.dumps(homes(slack, "U_LEAD")[-1])
    assert "Waiting for your approval*: nothing" in text
    assert "#1 deploy web/production: running" in text
    assert "Recent runs of your services" in json.dumps(homes(slack, "U_CODER")[-1])


def test_planning_questions_can_be_answered_in_the_request(slack: ChatHarness) -> None:
    slack.command(
        "/change",
        "migration service=web script=scripts/add-status.js "
        'tables="orders, order_lines" data_effect=none -- orders need a status',
        user="U_ARCH",
    )
    slack.settle()
    [plan] = slack.plans()
    text = plan.all_text()
    assert "Which tables are affected?*\norders, order_lines" in text
    assert "What is the effect on existing data?*\nnone" in text
    assert "Which columns are added, changed or removed?*\n_not answered_" in text


def test_a_dead_replicas_run_is_marked_interrupted_by_the_sweep(
    slack: ChatHarness, clock: ManualClock
) -> None:
    slack.command("/change", "deploy service=web", user="U_CODER")
    slack.settle()
    slack.click("chatops.approve", user="U_LEAD")
    slack.settle()
    store = slack.wired.queries
    runs = Each(slack.wired.tx, "runs")
    other = "other-host:4242:dead"
    assert runs.claim_parked(1, other, clock.now())  # another replica's worker took it on
    steps = Each(slack.wired.tx, "steps")  # and was running `snapshot` on the local host
    Each(slack.wired.tx, "runs").set_current_step(1, "snapshot", clock.now())
    steps.start(1, "main", "snapshot", "", clock.now())
    for i in range(1, 31):  # on each of its thirty hosts
        steps.start(1, "main", "snapshot", f"h{i}", clock.now())
    now = clock.now()
    slack.wired.workers.register(WorkerInfo(other, "serve", "other-host", 4242, None, now, now))
    slack.sweeper.sweep()
    assert store.get_run(1).state == RunState.RUNNING  # its worker beats: alive, left alone
    assert store.get_run(1).owner == other
    clock.advance(timedelta(minutes=3))  # its worker fell silent: dead
    slack.sweeper.sweep()
    slack.settle()
    # taken over; but a command on this machine keeps no record of how it ended: nobody can
    # say whether `snapshot` ran, so a lead decides (never run twice by a machine's guess)
    assert store.get_run(1).state == RunState.INTERRUPTED
    [plan] = slack.plans()
    said = [m.all_text() for m in slack.thread(plan)]
    assert any("took over" in t and "other-host:4242:dead" in t for t in said)
    assert "Nothing will re-run until a lead resumes it" in said[-1]
    assert "nothing there records how it ended" in said[-1]
    slack.click("chatops.resume", user="U_CODER")
    slack.settle()
    assert any("only a lead may resume" in t for t in slack.ephemerals("U_CODER"))
    slack.click("chatops.resume", user="U_LEAD")
    slack.settle()
    run = store.get_run(1)
    assert run.state == RunState.RUNNING and run.current_step in ("prepare", "snapshot")
    assert any("Resumed by <@U_LEAD>" in m.all_text() for m in slack.thread(plan))


def test_a_bare_word_after_the_process_is_the_service(slack: ChatHarness) -> None:
    slack.command("/change", "deploy web ref=v2 -- ship it", user="U_CODER")
    slack.settle()
    [plan] = slack.plans()
    assert "Deploy ready code: web / production" in plan.all_text()
    slack.command("/change", "deploy wbe ref=v2", user="U_CODER")
    slack.mention("deploy shop", user="U_CODER")
    slack.settle()
    said = slack.ephemerals("U_CODER")  # two requests at once: answered in either order
    assert len(said) == 2
    [typo] = [t for t in said if "'wbe'" in t]
    [shop] = [t for t in said if "'shop'" in t]
    assert "'wbe' is not a service I know: did you mean service=web?" in typo
    assert "'shop' is not a service I know" in shop and "Known services: web" in shop
    assert len(slack.plans()) == 1


def test_mentions_understand_status_logs_and_help(slack: ChatHarness) -> None:
    slack.mention("status web", user="U_ONCALL")
    slack.settle()
    slack.mention("logs web lines=5", user="U_ONCALL")
    slack.settle()
    slack.mention("help", user="U_ONCALL")
    slack.settle()
    slack.mention("logs web", user="U_NOBODY")
    slack.settle()
    said = slack.ephemerals("U_ONCALL")
    assert any("Status of web" in t for t in said)
    assert any("Logs of web" in m.all_text() for m in slack.standin.channel(slack.channel))
    assert any("@chatops status SERVICE" in t for t in said)
    assert not any("unknown process" in t for t in said)
    refused = slack.ephemerals("U_NOBODY")
    assert len(refused) == 1 and "may read logs" in refused[0]  # the same roles as /logs
