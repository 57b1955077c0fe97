"""On-call through the Slack harness with a real sshd: /hotfix and its post-mortem, /logs,
/status, injection attempts, refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from chatops.adapters.clock import ManualClock
from chatops.engine.domain.run import RunState
from chatops.errors import StateError
from chatops.simulator.harness import ChatHarness
from tests.apps import ROOMY, App, health_server, make_app, service_config
from tests.conftest import ROOT
from tests.factories import NOW
from tests.servers import Sshd

Factory = Callable[..., ChatHarness]


@pytest.fixture
def app(tmp_path: Path) -> App:
    return make_app(tmp_path / "app")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)  # Monday 2026-01-05 09:00 UTC


@pytest.fixture
def start(tmp_path: Path, app: App, sshd: Sshd, clock: ManualClock) -> Iterator[Factory]:
    running: list[ChatHarness] = []
    with health_server(app) as url:

        def start(
            service: dict[str, Any] | None = None,
            hosts: list[dict[str, object]] | None = None,
            **kw: Any,
        ) -> ChatHarness:
            cfg = service_config(app, url, hosts or [sshd.host("box-1")], **(service or {}))
            path = tmp_path / "chatops.yml"
            path.write_text(yaml.safe_dump(cfg))
            h = ChatHarness(
                config=path,
                commands=ROOT / "commands",
                clock=clock,
                throttle=0.1,
                slack_limits=ROOMY,
                database_url=f"sqlite:///{tmp_path / 'c.db'}",
                **kw,
            )
            running.append(h)
            return h

        try:
            yield start
        finally:
            for h in running:
                h.stop()
            for h in running:
                h.standin.stop()


def texts(msgs: list[Any]) -> str:
    return "\n".join(m.all_text() for m in msgs)


def test_hotfix_postmortem_reminders_survive_a_restart(
    start: Factory, clock: ManualClock, app: App, tmp_path: Path
) -> None:
    slack = start(scheduler=True)
    slack.command("/hotfix", "web ref=v2 label printing is down since 02:10", user="U_ONCALL")
    slack.settle()
    [plan] = slack.plans()
    assert (
        ":rotating_light: hotfix" in plan.all_text() and "label printing is down" in plan.all_text()
    )
    slack.click("chatops.approve", user="U_LEAD")
    slack.settle()
    for _ in ("identify", "fix", "quick-test"):
        slack.click("chatops.done", user="U_ONCALL")
        slack.settle()
    run = slack.wired.queries.get_run(1)
    assert run.state == RunState.SUCCEEDED, run.error
    assert app.head() == app.revs["v2"]
    thread = slack.thread(plan)
    assert any("Hotfix* · " in m.all_text() and m.broadcast for m in thread)  # marked everywhere
    assert "A post-mortem is open" in texts(thread)
    assert "<@U_ONCALL>" in texts(thread) and "<@U_ARCH>" in texts(thread)  # the owners
    assert slack.standin.channel("U_ONCALL") and slack.standin.channel("U_ARCH")  # DMs
    pm = slack.wired.postmortems.get(1)
    assert pm.due_at == NOW + timedelta(days=2)  # Monday -> Wednesday: two business days

    def reminders() -> list[str]:
        return [m.all_text() for m in slack.thread(plan) if "Reminder" in m.all_text()]

    clock.advance(timedelta(days=2, minutes=1))
    assert slack.wired.postmortems.tick() == [1]
    assert slack.wired.postmortems.tick() == []  # due once, sent once
    slack.settle()
    assert len(reminders()) == 1 and "Reminder 1" in reminders()[0]
    assert slack.scheduler is not None and "pm-1" in slack.scheduler.jobs()

    slack.stop(keep_standin=True)  # a restart between two reminders; Slack stays the same
    slack = start(scheduler=True, standin=slack.standin)
    assert slack.scheduler is not None and slack.scheduler.is_leader
    assert "pm-1" in slack.scheduler.jobs()  # rebuilt from the post-mortem's row
    assert slack.wired.postmortems.tick() == []  # nothing due yet: none sent twice
    clock.advance(timedelta(days=1))
    slack.scheduler.sweep()
    slack.settle()
    assert len(reminders()) == 2 and "Reminder 2" in reminders()[1]

    clock.advance(timedelta(days=1))
    slack.scheduler.sweep()
    slack.settle()
    assert len(reminders()) == 3
    assert "still not written after 3 reminders" in texts(slack.thread(plan))
    assert any("<@U_LEAD>" in m.all_text() for m in slack.standin.channel("U_LEAD"))

    slack.click("chatops.pm_write", user="U_ONCALL")
    slack.settle()
    form = slack.opened_views()[-1]
    timeline = next(b for b in form["blocks"] if b.get("block_id") == "timeline")
    prefilled = timeline["element"]["initial_value"]
    assert "U_LEAD: plan.approved" in prefilled and "deploy on box-1: succeeded exit 0" in prefilled
    assert "owner" not in prefilled  # which process ran it is not a fact of the incident
    lines = prefilled.splitlines()
    last_step = max(i for i, line in enumerate(lines) if " on box-1: " in line)
    assert any("run.succeeded" in line for line in lines[last_step + 1 :])  # the end comes last
    _, body = slack.submit(form, {"why": "a bad label template", "prevent": ""}, user="U_ONCALL")
    assert "prevent" in json.loads(body)["errors"]
    answers = {
        "why": "a bad label template",
        "prevent": "a test of the template",
        "process": "hotfixes get a second pair of eyes",
        "docs": "runbook/labels.md",
        "timeline": prefilled,
    }
    assert slack.submit(form, answers, user="U_ONCALL") == (200, "")
    slack.settle()
    assert "Post-mortem written" in texts(slack.thread(plan))
    # no message, in the thread or in a DM, offers Write or Snooze any more
    told = [
        *slack.thread(plan),
        *slack.standin.channel("U_ONCALL"),
        *slack.standin.channel("U_ARCH"),
    ]
    offering = [
        m.all_text()[:60]
        for m in told
        if {b["action_id"] for b in m.controls()} & {"chatops.pm_write", "chatops.pm_snooze"}
    ]
    assert offering == []
    retired = [m for m in slack.thread(plan) if "post-mortem of hotfix run #1 is written" in m.text]
    assert len(retired) == 4  # opened, and three reminders

    clock.advance(timedelta(days=3))
    assert slack.wired.postmortems.tick() == []
    slack.scheduler.sweep()
    assert "pm-1" not in slack.scheduler.jobs()
    slack.settle()
    assert reminders() == []  # no new one; the old ones now say it is written
    audit = [e.action for e in slack.wired.queries.audit_for_run(1)]
    assert audit.count("postmortem.reminded") == 3 and audit.count("postmortem.escalated") == 1
    code, page = slack.get(slack.wired.pages.link(1, "U_LEAD"))  # the run's page tells it too
    assert code == 200 and "Post-mortem" in page and "a bad label template" in page

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "chatops",
            "postmortem",
            "1",
            "--markdown",
            "--config",
            str(slack.settings.config),
            "--commands",
            str(ROOT / "commands"),
            "--database-url",
            slack.settings.database_url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "# Post-mortem: hotfix of web" in out.stdout
    assert "## Why did the problem happen?\n\na bad label template" in out.stdout
    assert "## Timeline" in out.stdout and "deploy on box-1" in out.stdout


def test_snooze_moves_the_next_reminder(start: Factory, clock: ManualClock) -> None:
    slack = start()
    slack.command("/hotfix", "web ref=v2 -- checkout fails", user="U_ONCALL")
    slack.settle()
    [run] = slack.wired.queries.list_runs()
    assert slack.wired.queries.load_plan(run.task_id).request == "checkout fails"  # no "--"
    slack.click("chatops.approve", user="U_LEAD")
    slack.settle()
    for _ in range(3):
        slack.click("chatops.done", user="U_ONCALL")
        slack.settle()
    clock.advance(timedelta(days=2, minutes=1))
    slack.click("chatops.pm_snooze", user="U_CODER")  # not an owner
    slack.click("chatops.pm_snooze", user="U_ONCALL")
    slack.settle()
    assert any("only the post-mortem's owners" in t for t in slack.ephemerals("U_CODER"))
    assert any("snoozed until" in t for t in slack.ephemerals("U_ONCALL"))
    assert slack.wired.postmortems.tick() == []
    clock.advance(timedelta(days=1))
    assert slack.wired.postmortems.tick() == [1]


def test_logs_from_a_file_and_from_a_command(start: Factory, sshd: Sshd, app: App) -> None:
    log = app.app_dir / "logs" / "web-out.log"
    log.write_text("".join(f"line {i} token=s3cr3t-{i}\n" for i in range(1, 301)))
    slack = start()
    slack.command("/logs", "web lines=5", user="U_ONCALL")
    slack.settle()
    [msg] = [m for m in slack.standin.channel(slack.channel) if "Logs of web" in m.all_text()]
    text = msg.all_text()
    assert "line 300" in text and "line 295" not in text and "line 296" in text
    assert "s3cr3t" not in text and "[REDACTED]" in text
    slack.command("/logs", 'web lines=200 grep="line 2"', user="U_ONCALL")
    slack.settle()
    msg = [m for m in slack.standin.channel(slack.channel) if "Logs of web" in m.all_text()][-1]
    [file_msg] = [m for m in slack.standin.thread(msg.channel, msg.ts) if m.files]
    content = slack.standin.files[file_msg.files[0]["id"]]["content"].decode()
    assert content.splitlines()[0].startswith("line 2") and len(content.splitlines()) == 111
    assert "s3cr3t" not in content

    sshd.tool("pm2", 'echo "pm2 $*"; for i in 1 2 3; do echo "web-error: boom $i"; done\n')
    cmd = {"logs": {"type": "command", "command": "pm2 logs web --lines {lines} --nostream"}}
    slack.stop()
    slack = start(service=cmd)
    slack.command("/logs", "web lines=3 stream=err", user="U_ONCALL")
    slack.settle()
    msg = [m for m in slack.standin.channel(slack.channel) if "Logs of web" in m.all_text()][-1]
    assert "pm2 logs web --lines 3 --nostream" in msg.all_text() and "boom 3" in msg.all_text()


def test_logs_since_keeps_the_lines_of_the_window_by_their_own_times(
    start: Factory, sshd: Sshd, app: App, clock: ManualClock
) -> None:
    """`since=1h` over log files: the lines whose own time (PM2's ISO prefix, nginx's) is
    in the last hour, with the lines without a time that follow them (a stack trace); a
    file whose lines carry no time is shown as it is, and the reader told so."""
    now = clock.now()

    def at(minutes_ago: int) -> str:
        return (now - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%S")

    log = app.app_dir / "logs" / "web-out.log"
    log.write_text(
        f"{at(180)}: old request ok\n"
        f"{at(61)}: just too old\n"
        "    at handler (old trace)\n"
        f"{at(30)}: TypeError: boom\n"
        "    at checkout (app.js:12)\n"
        f"{(now - timedelta(minutes=5)).strftime('%Y/%m/%d %H:%M:%S')} [error] upstream gone\n"
    )
    slack = start()
    slack.command("/logs", "web since=1h", user="U_ONCALL")
    slack.settle()
    [msg] = [m for m in slack.standin.channel(slack.channel) if "Logs of web" in m.all_text()]
    text = msg.all_text()
    assert "TypeError: boom" in text and "at checkout (app.js:12)" in text
    assert "upstream gone" in text
    assert "old request ok" not in text and "just too old" not in text and "old trace" not in text
    assert "does not apply" not in text

    log.write_text("".join(f"plain line {i}\n" for i in range(1, 6)))
    slack.command("/logs", "web since=1h", user="U_ONCALL")
    slack.settle()
    msg = [m for m in slack.standin.channel(slack.channel) if "Logs of web" in m.all_text()][-1]
    text = msg.all_text()
    assert "plain line 5" in text and "carry no time chatops reads" in text


def test_the_thread_says_why_each_host_failed(start: Factory, sshd: Sshd) -> None:
    """A host whose name does not resolve: the step's reply, the status message and the
    summary each name the host and why (not just "step snapshot failed")."""
    slack = start(hosts=[sshd.host("box-1"), sshd.host("ghost", address="no-such-host.invalid")])
    slack.command("/change", "deploy web ref=v2", user="U_CODER")
    slack.settle()
    slack.click("chatops.approve", user="U_LEAD")
    slack.settle()
    slack.click("chatops.done", user="U_CODER")
    slack.settle()
    [run] = slack.wired.queries.list_runs()
    assert run.state == RunState.FAILED
    why = "step snapshot failed on ghost: name does not resolve"
    assert run.error.startswith(why), run.error
    said = texts(slack.standin.messages)
    assert "*ghost*: unreachable" in said and "name does not resolve" in said
    status = next(m for m in slack.standin.messages if m.all_text().startswith("Run #1"))
    assert why in status.all_text()
    summary = next(m for m in slack.standin.messages if "*Done:*" in m.all_text())
    assert why in summary.all_text()


def test_status_reads_the_manager_and_the_health(start: Factory, sshd: Sshd) -> None:
    jlist = json.dumps(
        [{"name": "web", "pm2_env": {"status": "online", "pm_uptime": 0, "restart_time": 4}}]
    )
    sshd.tool("pm2", f"echo '{jlist}'\n")
    slack = start(
        service={"manager": {"type": "pm2", "name": "web"}},
        hosts=[sshd.host("box-1"), sshd.host("box-2", port=1)],
    )
    slack.command("/status", "web", user="U_CODER")
    slack.settle()
    [said] = [e for e in slack.standin.ephemeral if e["user"] == "U_CODER"]
    text = json.dumps(said["blocks"])
    assert "*box-1*: online" in text and "4 restarts" in text
    assert "*box-2*: unreachable" in text  # reported, not fatal
    assert "*Health:* healthy" in text


CANARY_ARGS = [
    "web;touch {c}",
    "web lines=5;touch {c}",
    "web since=$(touch {c})",
    "web grep=`touch {c}`",
    "web grep=\"x'; touch {c}; echo '\"",
    "web host=box-1;touch {c}",
    "web stream=err|touch {c}",
    "web lines=5 grep=$(touch {c})",
]


@pytest.mark.parametrize("arg", CANARY_ARGS)
def test_injection_in_logs_arguments_runs_nothing(arg: str, start: Factory, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    slack = start()
    slack.command("/logs", arg.format(c=canary), user="U_ONCALL")
    slack.settle()
    assert not canary.exists()


@pytest.mark.parametrize(
    "arg",
    [
        "web;touch {c} broken",
        "web ref=$(touch {c}) broken",
        "web ref=v2 `touch {c}` broken",
        "web environment=x;touch {c} y",
        "$(touch {c}) broken",
    ],
)
def test_injection_in_hotfix_arguments_runs_nothing(
    arg: str, start: Factory, tmp_path: Path
) -> None:
    canary = tmp_path / "canary"
    slack = start()
    slack.command("/hotfix", arg.format(c=canary), user="U_ONCALL")
    slack.settle()
    for plan in slack.plans():
        slack.click("chatops.approve", user="U_LEAD", message=plan)
        slack.settle()
        for _ in range(3):
            try:
                slack.click("chatops.done", user="U_ONCALL")
            except LookupError:
                break
            slack.settle()
    assert not canary.exists()


def test_unauthorised_logs_is_refused_and_audited(start: Factory) -> None:
    slack = start()
    slack.command("/logs", "web", user="U_STRANGER")
    slack.settle()
    assert any(
        "only coder, lead, oncall may read logs" in t for t in slack.ephemerals("U_STRANGER")
    )
    [event] = slack.wired.queries.recent_audit(1)
    assert event.action == "denied.logs" and event.actor == "U_STRANGER"
    assert not [m for m in slack.standin.channel(slack.channel) if "Logs of" in m.all_text()]


def test_the_fix_paths_go_when_the_diagnosis_ends(start: Factory) -> None:
    slack = start()
    slack.command("/change", "debug service=web -- orders page times out", user="U_ONCALL")
    slack.settle()
    slack.click("chatops.approve", user="U_LEAD")
    slack.settle()
    [plan] = slack.plans()
    assert slack.find("chatops.fix_code").thread_ts == plan.ts
    while slack.wired.queries.get_run(1).state == RunState.RUNNING:
        slack.click("chatops.done", user="U_ONCALL")
        slack.settle()
    assert slack.wired.queries.get_run(1).state == RunState.SUCCEEDED
    thread = slack.thread(plan)
    left = [b["action_id"] for m in thread for b in m.controls()]
    assert left == [], left
    assert "Diagnosis of web/production" in texts(thread)  # the diagnosis itself stays
    [fixes] = [m for m in thread if m.text.startswith("_No longer waiting")]
    assert "Run #1 succeeded" in fixes.text  # the fix paths' message says why they went
    with pytest.raises(StateError, match="escalate from an open diagnosis"):
        slack.wired.changes.handoffs.escalate(
            1, "U_ONCALL", "recurring"
        )  # an old form, submitted late


def test_diagnosis_offers_the_fix_paths_and_escalation(start: Factory) -> None:
    slack = start()
    slack.command("/change", "debug service=web -- orders page times out", user="U_ONCALL")
    slack.settle()
    slack.click("chatops.approve", user="U_LEAD")
    slack.settle()
    [plan] = slack.plans()
    diagnosis = slack.find("chatops.escalate")
    text = texts(slack.thread(plan))
    assert "Diagnosis of web/production" in text and "Check the service status" in text
    assert {b["action_id"] for b in diagnosis.controls()} == {
        "chatops.fix_code",
        "chatops.fix_config",
        "chatops.fix_data",
        "chatops.escalate",
    }

    slack.click("chatops.fix_config", user="U_ONCALL")
    slack.settle()
    assert "Fix the configuration: web / production" in slack.plans()[-1].all_text()

    slack.click("chatops.fix_code", user="U_ONCALL")
    slack.settle()
    form = slack.opened_views()[-1]
    process = next(b for b in form["blocks"] if b.get("block_id") == "process")
    assert process["element"]["initial_option"]["value"] == "hotfix"
    service = next(b for b in form["blocks"] if b.get("block_id") == "param:service")
    assert service["element"]["initial_option"]["value"] == "web"

    slack.click("chatops.escalate", user="U_ONCALL")
    slack.settle()
    form = slack.opened_views()[-1]
    slack.submit(form, {"reason": "recurring", "details": "third time this week"}, user="U_ONCALL")
    slack.settle()
    said = texts(slack.thread(plan))
    assert "<@U_ARCH>: <@U_ONCALL> escalates this to the Architect" in said
    assert "the problem recurs systematically" in said and "third time this week" in said
    assert any("escalates" in m.all_text() for m in slack.standin.channel("U_ARCH"))
    audit = slack.wired.queries.audit_for_run(1)
    assert any(e.action == "run.escalated" and "recurs" in e.detail for e in audit)
