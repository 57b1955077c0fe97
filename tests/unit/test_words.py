"""Words and layout people meet in Slack and the console: no repeats, no internal ids, the
right unit for a health check, fields that fit their column."""

from __future__ import annotations

import io

from chatops.cli.commands.terminal import TerminalNotifier
from chatops.console.render import WIDTH, blocks_text
from chatops.engine.domain.events import StepFinished
from chatops.engine.domain.result import CommandResult
from chatops.engine.domain.run import RunState, RunView
from chatops.engine.incidents.oncall import HostState, ServiceStatus
from chatops.engine.planning.config import Config
from chatops.engine.planning.planner import build_plan
from chatops.engine.planning.policy import evaluate
from chatops.engine.planning.runbook import Runbook
from chatops.engine.runs.checks import output_matches
from chatops.slack.views import blocks as bk
from chatops.slack.views import plan_message
from tests.factories import NOW, plan_for, run_of


def test_a_hotfix_says_hotfix_once_and_its_request_answers_what_is_broken(
    runbooks: dict[str, Runbook], config: Config
) -> None:
    plan = build_plan(
        runbooks["hotfix"],
        config,
        {"service": "eckwms-global", "ref": "fix/x"},
        requester="U_ONCALL",
        now=NOW,
        request="label printing is down",
    )
    assert plan.answers["problem"] == "label printing is down"
    blocks = plan_message.plan_blocks(plan, evaluate(plan), run_of("hotfix"))
    fields = [f["text"] for b in blocks for f in b.get("fields", [])]
    [process] = [f for f in fields if f.startswith("*Process*")]
    assert process == "*Process*\n:rotating_light: hotfix"
    text = "\n".join(blocks_text(blocks, "", []))
    assert "not answered" not in text.split("What is broken?")[1].splitlines()[0]


def test_rollback_lines_sit_with_their_commands(
    runbooks: dict[str, Runbook], config: Config
) -> None:
    plan = plan_for(runbooks, config, service="eckwms-global", ref="v1.2")
    lines = blocks_text(plan_message.plan_blocks(plan, evaluate(plan), run_of()), "", [])
    rollback = [line for line in lines if "rollback:" in line]
    assert rollback and all(line.startswith("    ") for line in rollback)


def test_long_fields_wrap_within_their_column(runbooks: dict[str, Runbook], config: Config) -> None:
    plan = plan_for(runbooks, config, service="eckwms-global", ref="v1.2")
    lines = blocks_text(plan_message.plan_blocks(plan, evaluate(plan), run_of()), "", [])
    fields = lines[2:8]
    assert all(len(line) <= WIDTH for line in fields), fields
    assert any(line.startswith("Parameters:") or "Parameters:" in line for line in fields)


def test_a_quote_reads_as_a_quote_in_the_console() -> None:
    lines = blocks_text([bk.section("escalated:\n>orders time out since 3 a.m.")], "", [])
    assert lines == ["escalated:", "┃ orders time out since 3 a.m."]


def test_a_health_check_reports_http_not_exit() -> None:
    ok = CommandResult("bot", "GET http://127.0.0.1/health", "ok", 200, "{}", 0.1)
    ran = CommandResult("web-1", "systemctl restart x", "ok", 0, "", 0.1)
    assert (ok.code, ran.code) == ("HTTP 200", "exit 0")
    assert CommandResult("h", "c", "host_key_unknown", None, "", 0).code == "host key unknown"


def test_a_failed_health_check_is_said_once_in_the_terminal() -> None:
    out = io.StringIO()
    failed = CommandResult(
        "bot",
        "GET http://x/health",
        "failed",
        None,
        "HTTP 503, expected 200",
        1.0,
        error="HTTP 503, expected 200",
    )
    TerminalNotifier(out=out).publish(StepFinished(run_of(), "health", "main", False, (failed,)))
    assert out.getvalue().count("HTTP 503") == 1


def test_the_diagnosis_does_not_tick_a_stopped_service(runbooks: dict[str, Runbook]) -> None:
    status = runbooks["debug"].steps[0]
    assert status.kind == "check" and status.expect is not None
    for said, running in (
        ("stopped", False),
        ("online v2 pid 7", True),
        ("running v2", True),
        ("ActiveState=inactive\nSubState=dead", False),
        ("ActiveState=active\nSubState=running", True),
    ):
        r = output_matches(CommandResult("h1", "status", "ok", 0, said, 0.1), status.expect)
        assert r.ok is running, said
    r = output_matches(CommandResult("h1", "status", "ok", 0, "stopped\n", 0.1), status.expect)
    assert "it says 'stopped'" in r.error


def test_status_says_when_the_manager_and_the_health_check_disagree() -> None:
    down = ServiceStatus("web", "production", [HostState("h1", "stopped")], "healthy", None)
    assert "health check answers healthy" in down.contradiction
    fine = ServiceStatus("web", "production", [HostState("h1", "online")], "healthy", None)
    assert fine.contradiction == ""


def test_a_diagnosis_summary_does_not_claim_a_deploy(
    runbooks: dict[str, Runbook], config: Config
) -> None:
    debug = plan_for(runbooks, config, "debug", service="eckwms-global")
    deploy = plan_for(runbooks, config, service="eckwms-global", ref="v1")
    done = RunView(
        1,
        "t",
        "h" * 64,
        "debug",
        "debug",
        "eckwms-global",
        "production",
        RunState.SUCCEEDED,
        "U_CODER",
        NOW,
        NOW,
    )
    assert "Deploy:" not in bk.summary_text(done, debug, [])
    assert "Changes:* none" in bk.summary_text(done, debug, [])
    assert "*Deploy:* applied" in bk.summary_text(done, deploy, [])
