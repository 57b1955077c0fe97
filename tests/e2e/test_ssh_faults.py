"""The connection to a host is lost mid-step, on a real sshd of the test's own: the sshd
child serving the step is killed (the listener stays, or comes back), or the host stays
away. A lost connection is not a failure: the executor reconnects and follows the command
to its true end; if it cannot, the run ends `interrupted` with the outcome unknown, and
nothing is rolled back while the command may still run."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from chatops.engine.domain.run import RunState
from chatops.engine.planning.inventory import Host
from chatops.executors.ssh import SshExecutor
from chatops.simulator.harness import ChatHarness
from tests.apps import ROOMY, App, health_server, make_app, service_config
from tests.conftest import ROOT, need
from tests.faults import audit_verify, manager, wait_for
from tests.servers import SSHD, Sshd, run_sshd

pytestmark = pytest.mark.sshd

# The restart step: records its start and end on the host, and takes a while.
RESTART = (
    "mkdir -p .chatops && echo begin-$(cat VERSION) >> .chatops/restarts && "
    "for i in $(seq 1 TICKS); do echo tick $i; sleep 0.1; done && "
    "echo end-$(cat VERSION) >> .chatops/restarts && echo running $(cat VERSION) > .chatops/state"
)


@pytest.fixture
def own_sshd() -> Iterator[Sshd]:
    if not Path(SSHD).exists() or shutil.which("ssh-keygen") is None:
        need("OpenSSH server (/usr/sbin/sshd)", "apt-get install openssh-server")
    with run_sshd() as server:
        yield server


def test_the_executor_follows_a_command_across_a_killed_session(own_sshd: Sshd) -> None:
    record = own_sshd.workdir / "record"
    host = Host.model_validate(own_sshd.host(reconnect_for=20))
    out: list[str] = []
    command = (
        f"echo start >> {record}; for i in $(seq 1 20); do echo tick $i; sleep 0.1; done; "
        f"echo end >> {record}; exit 7"
    )
    ex = SshExecutor()
    box: dict[str, Any] = {}
    t = threading.Thread(
        target=lambda: box.update(r=ex.run(host, command, timeout=30, on_output=out.append))
    )
    t.start()
    wait_for(lambda: "tick 3" in "".join(out), what="the command to print")
    own_sshd.kill_sessions()
    t.join(timeout=60)
    r = box["r"]
    assert r.outcome == "failed" and r.exit_code == 7, r  # its true status, not -1
    assert record.read_text().split() == ["start", "end"]  # ran once
    text = "".join(out)
    ticks = [int(line.split()[1]) for line in text.splitlines() if line.startswith("tick")]
    assert ticks == list(range(1, 21))  # what was printed while away is not lost nor doubled


def test_the_host_gone_past_the_reconnect_window_is_an_unknown_outcome(own_sshd: Sshd) -> None:
    record = own_sshd.workdir / "record2"
    host = Host.model_validate(own_sshd.host(reconnect_for=1, connect_timeout=1))
    out: list[str] = []
    command = f"echo start >> {record}; sleep 2; echo end >> {record}"
    box: dict[str, Any] = {}
    t = threading.Thread(
        target=lambda: box.update(
            r=SshExecutor().run(host, command, timeout=30, on_output=out.append)
        )
    )
    t.start()
    wait_for(lambda: record.exists(), what="the command to start")
    own_sshd.stop()
    t.join(timeout=60)
    r = box["r"]
    assert r.outcome == "unknown" and r.exit_code is None
    assert "connection to box-1 lost during the command" in r.error
    wait_for(lambda: record.read_text().split() == ["start", "end"], what="the command's end")


@pytest.fixture
def app(tmp_path: Path) -> App:
    return make_app(tmp_path / "app")


Start = Callable[..., ChatHarness]


@pytest.fixture
def harness(tmp_path: Path, app: App, own_sshd: Sshd) -> Iterator[Start]:
    started: list[ChatHarness] = []
    with health_server(app) as health:

        def start(host_over: dict[str, Any], ticks: int = 30) -> ChatHarness:
            hosts = [own_sshd.host("box-1", **host_over)]
            restart = manager(RESTART.replace("TICKS", str(ticks)))
            cfg = service_config(app, health, hosts, manager=restart)
            path = tmp_path / "chatops.yml"
            path.write_text(yaml.safe_dump(cfg))
            db = f"sqlite:///{tmp_path / 'c.db'}"
            h = ChatHarness(
                config=path,
                commands=ROOT / "commands",
                database_url=db,
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


def restarts(app: App) -> list[str]:
    p = app.app_dir / ".chatops" / "restarts"
    return p.read_text().split() if p.exists() else []


def into_restart(slack: ChatHarness, app: App) -> None:
    slack.command("/change", "deploy service=web ref=v2", user="U_CODER")
    slack.settle()
    slack.click("chatops.approve", user="U_LEAD")
    slack.settle()
    slack.click("chatops.done", user="U_CODER")
    wait_for(lambda: restarts(app) == ["begin-v2"], what="the restart to begin")


def thread_text(slack: ChatHarness) -> str:
    [plan] = slack.plans()
    return "\n".join(m.all_text() for m in slack.thread(plan))


def test_a_killed_session_and_listener_back_the_deploy_still_succeeds_once(
    harness: Start, app: App, own_sshd: Sshd
) -> None:
    slack = harness({"reconnect_for": 30})
    into_restart(slack, app)
    own_sshd.stop()  # the session and the listener
    time.sleep(1)
    own_sshd.start()  # back on the same port
    run = wait_for(
        lambda: (r := slack.wired.queries.get_run(1)).state.is_terminal and r, what="the end"
    )
    slack.settle()
    assert run.state == RunState.SUCCEEDED, run.error
    assert restarts(app) == ["begin-v2", "end-v2"]  # once, and no rollback after it
    steps = slack.wired.queries.steps(1)
    assert not [s for s in steps if s.phase == "rollback"]
    text = thread_text(slack)
    assert "`restart` finished" in text and "Run #1 succeeded" in text
    audit_verify(slack.settings.config, slack.settings.database_url)
    assert "failed" not in text
    audit_verify(slack.settings.config, slack.settings.database_url)


def test_an_unknown_outcome_interrupts_the_run_and_a_lead_rolls_back_after_it_ended(
    harness: Start, app: App, own_sshd: Sshd
) -> None:
    slack = harness({"reconnect_for": 1, "connect_timeout": 1})
    into_restart(slack, app)
    own_sshd.stop()
    run = wait_for(
        lambda: (r := slack.wired.queries.get_run(1)).state != RunState.RUNNING and r,
        what="the run to stop",
    )
    slack.settle()
    assert run.state == RunState.INTERRUPTED, run.error
    assert "connection to box-1 lost during `restart`" in run.error
    assert not [s for s in slack.wired.queries.steps(1) if s.phase == "rollback"]
    text = thread_text(slack)
    assert "`restart` outcome unknown" in text and "resume or roll back" in text
    prompt = slack.find("chatops.rollback")
    assert {b["action_id"] for b in prompt.controls()} >= {"chatops.resume", "chatops.rollback"}

    wait_for(lambda: restarts(app) == ["begin-v2", "end-v2"], what="the command's own end")
    own_sshd.start()
    slack.click("chatops.rollback", user="U_CODER")  # not a lead
    slack.settle()
    assert any("only a lead" in t for t in slack.ephemerals("U_CODER"))
    slack.click("chatops.rollback", user="U_LEAD")
    slack.settle()
    run = slack.wired.queries.get_run(1)
    assert run.state == RunState.ROLLED_BACK, run.error
    # the rollback's restart came after the original one had ended, on the old revision
    assert restarts(app) == ["begin-v2", "end-v2", "begin-v1", "end-v1"]
    assert app.head() == app.revs["v1"]
    actions = [e.action for e in slack.wired.queries.audit_for_run(1)]
    assert "run.rollback_requested" in actions and "denied.rollback" in actions
    assert "step.settled" in actions  # how `restart` had ended was learned first
    audit_verify(slack.settings.config, slack.settings.database_url)


def test_a_resume_waits_for_the_command_still_running_and_never_runs_it_again(
    harness: Start, app: App, own_sshd: Sshd
) -> None:
    slack = harness({"reconnect_for": 1, "connect_timeout": 1}, ticks=80)
    into_restart(slack, app)
    own_sshd.stop()
    wait_for(
        lambda: slack.wired.queries.get_run(1).state == RunState.INTERRUPTED,
        what="the unknown outcome",
    )
    slack.settle()
    own_sshd.start()
    assert restarts(app) == ["begin-v2"]  # still running on the host
    slack.click("chatops.resume", user="U_LEAD")
    slack.settle(timeout=60)
    run = wait_for(
        lambda: (r := slack.wired.queries.get_run(1)).state.is_terminal and r, what="the end"
    )
    assert run.state == RunState.SUCCEEDED, run.error
    assert restarts(app) == ["begin-v2", "end-v2"]  # waited for, not run again on top of it
    restart = [s for s in slack.wired.queries.steps(1) if s.step_id == "restart" and s.host]
    assert [s.state.value for s in restart] == ["succeeded"]
    text = thread_text(slack)
    assert "`restart` finished" in text and "Run #1 succeeded" in text
