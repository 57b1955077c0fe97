"""The store fails mid-step, on the real parts: the throwaway PostgreSQL stopped and started
again, the SQLite disk (a small tmpfs) filled and emptied, while a deploy runs on the real
sshd through Slack-signed requests. The run must end as it really went, the host's own
record must show the command ran once, the thread must tell it, and the audit chain hold."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from chatops.engine.domain.run import RunState, StepState
from chatops.simulator.harness import ChatHarness
from chatops.store.db import upgrade
from tests.apps import ROOMY, App, health_server, make_app, service_config
from tests.conftest import ROOT, need
from tests.faults import audit_verify, healthz, manager, wait_for
from tests.servers import Postgres, Sshd, pg_bindir, postgres_cluster

# The restart step: says it began, waits for the test's word (a file), says it ended.
RESTART = (
    "mkdir -p .chatops && echo begin >> .chatops/restarts && "
    "for i in $(seq 1 600); do [ -f .chatops/go ] && break; echo tick $i; sleep 0.1; done && "
    "echo end >> .chatops/restarts && echo running $(cat VERSION) > .chatops/state"
)


def restarts(app: App) -> list[str]:
    p = app.app_dir / ".chatops" / "restarts"
    return p.read_text().split() if p.exists() else []


@pytest.fixture
def app(tmp_path: Path) -> App:
    return make_app(tmp_path / "app")


Start = Callable[[str, dict[str, Any]], ChatHarness]


@pytest.fixture
def harness(tmp_path: Path, app: App, sshd: Sshd) -> Iterator[Start]:
    started: list[ChatHarness] = []
    with health_server(app) as health:

        def start(url: str, policies: dict[str, Any]) -> ChatHarness:
            service = {"manager": manager(RESTART)}
            cfg = service_config(app, health, [sshd.host("box-1")], **service)
            cfg["policies"] = policies
            path = tmp_path / "chatops.yml"
            path.write_text(yaml.safe_dump(cfg))
            h = ChatHarness(
                config=path,
                commands=ROOT / "commands",
                database_url=url,
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


def until_restart(slack: ChatHarness, app: App) -> None:
    """The coder asks, the lead approves, the coder marks the manual step done: the run is
    then inside `restart`, which waits for the test's word."""
    slack.command("/change", "deploy service=web ref=v2", user="U_CODER")
    slack.settle()
    slack.click("chatops.approve", user="U_LEAD")
    slack.settle()
    slack.click("chatops.done", user="U_CODER")
    wait_for(lambda: restarts(app) == ["begin"], what="the restart step to begin")
    time.sleep(0.5)  # some output of the step is on its way to the store


def thread_text(slack: ChatHarness) -> str:
    [plan] = slack.plans()
    return "\n".join(m.all_text() for m in slack.thread(plan))


@pytest.fixture
def pg() -> Iterator[Postgres]:
    if pg_bindir() is None:
        need("PostgreSQL (initdb, pg_ctl)", "apt-get install postgresql")
    with postgres_cluster() as cluster:
        upgrade(cluster.url)
        yield cluster


def test_postgres_stopped_mid_step_the_run_finishes_truthfully(
    pg: Postgres, harness: Start, app: App, tmp_path: Path
) -> None:
    slack = harness(pg.url, {})
    until_restart(slack, app)
    pg.stop("fast")
    try:
        _code, state = wait_for(lambda: (s := healthz(slack.url))[0] == 503 and s, what="a 503")
        assert "cannot be written" in state["reason"], state
        (app.app_dir / ".chatops" / "go").touch()  # the command ends while the store is down
        wait_for(lambda: restarts(app) == ["begin", "end"], what="the command to end")
        time.sleep(3)  # the outage goes on past the command's end
    finally:
        pg.start()
    wait_for(lambda: healthz(slack.url)[0] == 200, what="/healthz 200 again")
    run = wait_for(
        lambda: (r := slack.wired.queries.get_run(1)).state.is_terminal and r, what="the end"
    )
    slack.settle()
    assert run.state == RunState.SUCCEEDED, run.error
    assert restarts(app) == ["begin", "end"]  # ran once, never again
    assert app.state() == "running v2"
    text = thread_text(slack)
    assert "Run #1 succeeded" in text and "`restart` finished" in text
    restart = next(s for s in slack.wired.queries.steps(1) if s.step_id == "restart" and s.host)
    assert "tick 1" in slack.wired.queries.output(restart.id)
    audit_verify(tmp_path / "chatops.yml", pg.url)


def test_an_outage_past_the_limit_interrupts_the_run_and_the_thread_says_so(
    pg: Postgres, harness: Start, app: App, tmp_path: Path
) -> None:
    slack = harness(pg.url, {"store_outage_limit": "2s"})
    until_restart(slack, app)
    pg.stop("fast")
    try:
        (app.app_dir / ".chatops" / "go").touch()
        wait_for(lambda: restarts(app) == ["begin", "end"], what="the command to end")
        time.sleep(4)  # past the limit
    finally:
        pg.start()
    run = wait_for(
        lambda: (r := slack.wired.queries.get_run(1)).state != RunState.RUNNING and r,
        what="the run to stop",
    )
    slack.settle()
    assert run.state == RunState.INTERRUPTED, run.error
    assert "the database was unavailable" in run.error
    text = thread_text(slack)
    assert "interrupted at step `restart`" in text and "database was unavailable" in text
    assert slack.find("chatops.resume")  # a lead can resume it
    slack.click("chatops.resume", user="U_LEAD")
    slack.settle()
    assert slack.wired.queries.get_run(1).state == RunState.SUCCEEDED
    # resumed from the truth: the host kept the restart's end, so it is not run twice
    assert restarts(app) == ["begin", "end"]
    restart = next(s for s in slack.wired.queries.steps(1) if s.step_id == "restart" and s.host)
    assert restart.state == StepState.SUCCEEDED and restart.exit_code == 0
    audit_verify(tmp_path / "chatops.yml", pg.url)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    subprocess.run(
        ["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True, check=False
    )
    return filler


def test_the_sqlite_disk_fills_mid_step_and_has_room_again(
    harness: Start, app: App, small_disk: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{small_disk / 'chatops.db'}"
    slack = harness(url, {})
    until_restart(slack, app)
    filler = fill(small_disk)
    try:
        _code, state = wait_for(lambda: (s := healthz(slack.url))[0] == 503 and s, what="a 503")
        assert "full" in state["reason"], state
        (app.app_dir / ".chatops" / "go").touch()
        wait_for(lambda: restarts(app) == ["begin", "end"], what="the command to end")
        time.sleep(2)
        assert slack.wired.queries.get_run(1).state == RunState.RUNNING  # waiting, not lost
    finally:
        filler.unlink()
    wait_for(lambda: healthz(slack.url)[0] == 200, what="/healthz 200 again")
    run = wait_for(
        lambda: (r := slack.wired.queries.get_run(1)).state.is_terminal and r, what="the end"
    )
    slack.settle()
    assert run.state == RunState.SUCCEEDED, run.error
    assert restarts(app) == ["begin", "end"]
    assert "Run #1 succeeded" in thread_text(slack)
    audit_verify(tmp_path / "chatops.yml", url)
