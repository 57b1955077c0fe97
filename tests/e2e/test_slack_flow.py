"""The Slack app end to end: signed requests in, the Web API stand-in records what is said."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk.models.blocks import Block

from chatops.engine.domain.run import RunState
from chatops.simulator.harness import ChatHarness
from tests.apps import ROOMY, App, health_server, make_app, service_config
from tests.conftest import ROOT
from tests.servers import Sshd


@pytest.fixture
def app(tmp_path: Path) -> App:
    return make_app(tmp_path / "app")


Factory = Callable[..., ChatHarness]


@pytest.fixture
def slack_with(tmp_path: Path, app: App, sshd: Sshd) -> Iterator[Factory]:
    """Start the app with the test service on the real sshd; keyword args amend the config."""
    started: list[ChatHarness] = []
    with health_server(app) as url:

        def start(service: dict[str, Any] | None = None, **amend: Any) -> ChatHarness:
            cfg = service_config(app, url, [sshd.host("box-1")], **(service or {}))
            for key, value in amend.items():
                cfg[key] = value
            path = tmp_path / "chatops.yml"
            path.write_text(yaml.safe_dump(cfg))
            h = ChatHarness(
                config=path,
                commands=ROOT / "commands",
                database_url=f"sqlite:///{tmp_path / 'c.db'}",
                throttle=0.2,
                slack_limits=ROOMY,
            )
            started.append(h)
            return h

        try:
            yield start
        finally:
            for h in started:
                h.stop()


@pytest.fixture
def slack(slack_with: Factory) -> ChatHarness:
    return slack_with()


def deploy_v2(slack: ChatHarness, text: str = "deploy service=web ref=v2") -> None:
    """The coder asks, the lead approves, the coder marks the manual step done."""
    slack.command("/change", text, user="U_CODER")
    slack.settle()
    slack.click("chatops.approve", user="U_LEAD")
    slack.settle()
    slack.click("chatops.done", user="U_CODER")
    slack.settle()


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
    assert {b["action_id"] for b in plan.controls()} == {"chatops.approve", "chatops.reject"}

    slack.click("chatops.approve", user="U_ONCALL")  # not a lead
    slack.click("chatops.approve", user="U_CODER")  # the requester
    slack.settle()
    assert any("only lead may approve" in t for t in slack.ephemerals("U_ONCALL"))
    assert any("four-eyes" in t for t in slack.ephemerals("U_CODER"))
    assert slack.wired.queries.get_run(1).state == RunState.AWAITING_APPROVAL

    slack.click("chatops.approve", user="U_LEAD")
    slack.settle()
    plan = slack.standin.message(plan.channel, plan.ts)
    assert "Approved by <@U_LEAD>" in plan.all_text() and not plan.controls()
    slack.click("chatops.done", user="U_CODER")  # the manual "tests pass, pushed" step
    slack.settle()

    run = slack.wired.queries.get_run(1)
    assert run.state == RunState.SUCCEEDED, run.error
    assert app.head() == app.revs["v2"] and app.state() == "running v2"
    thread = slack.thread(plan)
    joined = "\n".join(m.all_text() for m in thread)
    for step in ("snapshot", "pull", "install", "restart", "logs", "health"):
        assert f"`{step}` finished" in joined, step
    assert "*box-1*: exit 0" in joined
    pull = next(m for m in thread if "`pull` finished" in m.all_text())
    # one message a step: posted as "started" and updated with its result, or (the step
    # over before its start was told) posted with its result
    assert sum("`pull` " in m.all_text() for m in thread) == 1 and pull.edits <= 1
    assert not any("started" in m.all_text() for m in thread if "`" in m.text and m.edits == 0)
    summary = thread[-1]
    assert summary.broadcast and "Run #1 succeeded" in summary.all_text()
    assert "*Done:*" in summary.all_text() and "*Validation:*" in summary.all_text()
    status_msg = next(m for m in thread if m.all_text().startswith("Run #1"))
    assert status_msg.edits >= 2 and "succeeded" in status_msg.all_text()
    for m in thread:
        valid_blocks(m.blocks)
    audit = [e.action for e in slack.wired.queries.audit_for_run(1)]
    assert audit.count("denied.approve") == 2 and "run.succeeded" in audit


def test_an_approval_of_an_edited_plan_is_void(slack_with: Factory, app: App) -> None:
    roles = service_config(app, "http://127.0.0.1:1/", [])["roles"]
    assert isinstance(roles, dict)
    roles["lead"] = {"users": ["U_LEAD", "U_LEAD2"]}
    slack = slack_with(policies={"approvals": {"deploy": 2}}, roles=roles)
    slack.command("/change", "deploy service=web ref=v2 -- ship the label fix", user="U_CODER")
    slack.settle()
    [plan] = slack.plans()
    stale_payload = slack.click_payload("chatops.approve", "U_LEAD2", plan)
    slack.click("chatops.approve", user="U_LEAD", message=plan)
    slack.settle()
    assert any("still needed" in t for t in slack.ephemerals("U_LEAD"))
    partly = slack.standin.message(plan.channel, plan.ts)  # redrawn from ApprovalAdded
    # who is still needed, named, and who approved: no dangling phrase
    assert "2 approvals from lead" in plan.all_text()
    assert "needs: 1 more approval from lead (U_LEAD2); U_LEAD (lead) approved" in (
        partly.all_text()
    )
    assert partly.controls()

    slack.command("/change", "edit 1 ref=v1 -- deploy v1 instead", user="U_CODER")
    slack.settle()
    revised = slack.standin.message(plan.channel, plan.ts)
    assert "ref=v1" in revised.all_text() and "U_LEAD (lead) approved" not in revised.all_text()
    assert any("no longer count" in m.all_text() for m in slack.thread(plan))
    # the words after -- say why it changed; the request keeps its own words
    assert any(
        "changed the plan" in m.all_text() and "deploy v1 instead" in m.all_text()
        for m in slack.thread(plan)
    )
    revision = slack.wired.queries.load_plan(slack.wired.queries.get_run(1).task_id)
    assert revision.request == "ship the label fix"
    assert "ship the label fix" in revised.all_text()
    trail = [e.detail for e in slack.wired.queries.audit_for_run(1) if e.action == "plan.revised"]
    assert trail == [trail[0]] and trail[0].endswith("why: deploy v1 instead")

    slack.send(stale_payload)  # a click on the old version
    slack.settle()
    assert any("different version of the plan" in t for t in slack.ephemerals("U_LEAD2"))
    slack.click("chatops.approve", user="U_LEAD2", message=revised)
    slack.settle()
    run = slack.wired.queries.get_run(1)
    assert run.state == RunState.AWAITING_APPROVAL  # U_LEAD's approval was for the old plan
    slack.click("chatops.approve", user="U_LEAD", message=revised)
    slack.settle()
    assert slack.wired.queries.get_run(1).state != RunState.AWAITING_APPROVAL
    audit = [e.action for e in slack.wired.queries.audit_for_run(1)]
    assert "plan.revised" in audit and "denied.approve" in audit


def test_forged_or_stale_requests_get_401_and_change_nothing(slack: ChatHarness) -> None:
    import time

    before = len(slack.standin.calls)
    body = b"command=%2Fchange&text=deploy+service%3Dweb&user_id=U_CODER&channel_id=C0CHANGES"
    ctype = "application/x-www-form-urlencoded"
    assert slack.post(body, ctype, secret="not-the-secret")[0] == 401
    assert slack.post(body, ctype, timestamp=int(time.time()) - 6 * 60)[0] == 401
    status, _ = slack.post(body, ctype, headers={"X-Slack-Signature": "v0=" + "0" * 64})
    assert status == 401
    slack.settle()
    assert slack.standin.calls[before:] == []
    assert slack.wired.queries.list_runs() == []


def test_healthz(slack: ChatHarness) -> None:
    status, body = slack.get("/healthz")
    assert status == 200
    said = json.loads(body)
    workers = said.pop("workers")
    config = said.pop("config")
    assert config["refused"] is None and len(config["sha256"]) == 12  # the config it serves
    assert said == {
        "status": "ok",
        "database": "ok",
        "scheduler": "off",
        "behind": {"slack-thread": 0, "app-home": 0, "postmortems": 0},
    }
    # the process is a worker, and lists itself: who executes runs is never a guess
    assert [(w["id"], w["kind"], w["site"]) for w in workers] == [
        (slack.wired.owner, "serve", None)
    ]


def test_retried_deliveries_and_concurrent_clicks_start_one_run(slack: ChatHarness) -> None:
    from concurrent.futures import ThreadPoolExecutor

    for retry in (None, 1, 2, 3):  # the first delivery and three retries of it
        assert (
            slack.mention("deploy web ref=v2", user="U_CODER", event_id="Ev0RETRY", retry=retry)[0]
            == 200
        )
    slack.settle()
    assert len(slack.plans()) == 1
    plan = slack.plans()[0]
    with ThreadPoolExecutor(10) as pool:
        statuses = list(
            pool.map(
                lambda _i: slack.click("chatops.approve", user="U_LEAD", message=plan)[0], range(10)
            )
        )
    assert statuses == [200] * 10
    slack.settle()
    runs = slack.wired.queries.list_runs()
    assert len(runs) == 1 and runs[0].state == RunState.RUNNING  # parked at its manual step
    audit = [e.action for e in slack.wired.queries.audit_for_run(runs[0].id)]
    assert audit.count("plan.approved") == 1 and audit.count("run.started") == 1
    status_msgs = [m for m in slack.thread(plan) if m.all_text().startswith("Run #1")]
    assert len(status_msgs) == 1
    waiting = [
        m for m in slack.thread(plan) if any(b["action_id"] == "chatops.done" for b in m.controls())
    ]
    assert len(waiting) == 1


def test_a_429_is_honoured_and_the_message_still_arrives(slack: ChatHarness) -> None:
    slack.standin.fail("chat.postMessage", status=429, retry_after=1, times=1)
    slack.command("/change", "deploy service=web ref=v2", user="U_CODER")
    slack.settle()
    calls = slack.standin.calls_to("chat.postMessage")
    assert [c.status for c in calls[:2]] == [429, 200]
    assert calls[1].at - calls[0].at >= 0.9  # waited for Retry-After
    assert len(slack.plans()) == 1


def test_a_500_is_retried(slack: ChatHarness) -> None:
    slack.standin.fail("chat.postMessage", status=500, times=1)
    slack.command("/change", "deploy service=web ref=v2", user="U_CODER")
    slack.settle()
    assert [c.status for c in slack.standin.calls_to("chat.postMessage")[:2]] == [500, 200]
    assert len(slack.plans()) == 1


def test_long_output_is_uploaded_as_a_file(slack_with: Factory) -> None:
    slack = slack_with(service={"install": "seq 1 500"})
    deploy_v2(slack)
    [plan] = slack.plans()
    thread = slack.thread(plan)
    install = next(m for m in thread if "`install` finished" in m.all_text())
    assert "500" in install.all_text() and "\n1\n" not in install.all_text()
    files = [m for m in thread if m.files]
    assert len(files) == 1
    uploaded = slack.standin.files[files[0].files[0]["id"]]["content"].decode()
    assert uploaded.splitlines() == [str(i) for i in range(1, 501)]
    assert "full output" in files[0].text


def test_status_updates_at_most_once_a_second(slack_with: Factory, tmp_path: Path) -> None:
    noisy = "for i in $(seq 1 40); do echo tick $i; sleep 0.1; done"
    slack = slack_with(service={"install": noisy})
    slack.desk.progress_every = 1.0
    deploy_v2(slack)
    [plan] = slack.plans()
    status = next(m for m in slack.thread(plan) if m.all_text().startswith("Run #1"))
    updates = [c for c in slack.standin.calls_to("chat.update") if c.args.get("ts") == status.ts]
    # a step starting or ending goes at once (on a busy machine two can be 0.2 s apart);
    # the install's live tail is progress, and progress goes at most once a second
    progress = [c.at for c in updates if "*install* (live)" in str(c.args.get("blocks"))]
    assert len(progress) >= 3  # it was kept current while the 4 s of output streamed
    gaps = [b - a for a, b in itertools.pairwise(progress)]
    assert min(gaps) >= 0.95, gaps
    assert "succeeded" in slack.standin.message(status.channel, status.ts).all_text()


def test_an_unexpected_error_gets_an_id_that_is_in_the_logs(
    slack: ChatHarness, caplog: pytest.LogCaptureFixture
) -> None:
    slack.standin.fail("views.open", status=500, times=10)
    with caplog.at_level("ERROR"):
        slack.command("/change", "", user="U_CODER")  # opens the form: Slack fails it
        slack.settle()
    [said] = slack.ephemerals("U_CODER")
    assert "error id" in said
    error_id = said.split("`")[1]
    assert any(error_id in r.getMessage() for r in caplog.records)


def metric(text: str, name: str) -> float:
    """The value of one sample line (name with labels) of the Prometheus exposition."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def test_metrics_count_runs_steps_slack_calls_and_decisions(slack: ChatHarness) -> None:
    _, before = slack.get("/metrics")
    slack.standin.fail("chat.postMessage", status=429, retry_after=1, times=1)
    slack.command("/change", "deploy service=web ref=v2", user="U_CODER")
    slack.settle()
    slack.click("chatops.approve", user="U_ONCALL")  # refused
    slack.click("chatops.approve", user="U_LEAD")
    slack.settle()
    slack.click("chatops.done", user="U_CODER")
    slack.settle()
    ended = 'chatops_runs{state="succeeded"} 1.0'  # the next snapshot (at most a second)
    deadline = time.monotonic() + 30
    while ended not in (after := slack.get("/metrics")[1]) and time.monotonic() < deadline:
        time.sleep(0.1)
    status, after = slack.get("/metrics")
    assert status == 200

    def grew(name: str) -> float:
        return metric(after, name) - metric(before, name)

    assert metric(after, 'chatops_runs{state="succeeded"}') == 1.0
    assert grew("chatops_approvals_total") == 1.0
    assert grew('chatops_refusals_total{action="denied.approve"}') == 1.0
    assert grew("chatops_slack_rate_limited_total") == 1.0
    assert grew('chatops_slack_api_calls_total{method="chat.postMessage",ok="true"}') >= 5
    assert (
        grew('chatops_step_duration_seconds_count{outcome="ok",runbook="deploy",step="pull"}') == 1
    )


def test_configured_secrets_never_reach_slack(
    slack_with: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s3cret-value-4242"
    monkeypatch.setenv("CHATOPS_TEST_DB_PASSWORD", secret)
    slack = slack_with(
        service={"install": f"echo installing with {secret}"},
        secrets={"env": ["CHATOPS_TEST_DB_PASSWORD"]},
    )
    slack.command(
        "/change", f"deploy service=web ref=v2 -- the password is {secret}", user="U_CODER"
    )
    slack.settle()
    slack.click("chatops.approve", user="U_LEAD")
    slack.settle()
    slack.click("chatops.done", user="U_CODER")
    slack.settle()
    [plan] = slack.plans()
    assert "echo installing with [REDACTED]" in plan.all_text()
    sent = json.dumps([c.args for c in slack.standin.calls])
    assert secret not in sent and "[REDACTED]" in sent
    assert slack.wired.queries.get_run(1).state == RunState.SUCCEEDED
