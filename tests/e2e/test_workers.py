"""Runs belong to workers, on one real PostgreSQL: a run has one owner from claim to end,
whichever process recorded the decision; a worker killed with -9 mid-command is taken over by
another of its site, which follows the command to its true end over SSH (never running it
again); a site without a live worker says so, and a worker of that site started later runs
its run. Replicas in other pid namespaces (containers sharing a hostname) never declare each
other dead."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text

from chatops.simulator.harness import RemoteSlack
from chatops.simulator.standin import SlackStandIn
from chatops.store.db import upgrade
from tests.apps import health_server, make_app, service_config
from tests.cli_rig import chatops
from tests.factories import Each, sql
from tests.faults import wait_for
from tests.serve_process import serve_env
from tests.servers import Sshd, free_port, wait_port


def healthz(port: int) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
        return dict(json.loads(r.read()))


def database(postgres_url: str, name: str) -> str:
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    return url


class Procs:
    """The processes a test starts; each stopped at the end (SIGTERM, then SIGKILL)."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.all: list[subprocess.Popen[bytes]] = []

    def start(
        self, env: dict[str, str], *args: str, prefix: tuple[str, ...] = ()
    ) -> subprocess.Popen[bytes]:
        p = subprocess.Popen(
            [*prefix, sys.executable, "-m", "chatops", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.log, "ab"),  # noqa: SIM115
        )
        self.all.append(p)
        return p

    def stop(self) -> None:
        for p in self.all:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.all:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


@contextmanager
def world(
    tmp_path: Path, cfg: dict[str, object], url: str
) -> Iterator[tuple[dict[str, str], SlackStandIn, Procs]]:
    path = tmp_path / "chatops.yml"
    path.write_text(yaml.safe_dump(cfg))
    standin = SlackStandIn().start()
    env = serve_env(path, url, standin, CHATOPS_SWEEP_EVERY="1")
    procs = Procs(tmp_path / "processes.log")
    try:
        yield env, standin, procs
    finally:
        procs.stop()
        standin.stop()


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return chatops(env, *args, fresh=True)


def audit_actions(url: str, run_id: int) -> list[tuple[str, str]]:
    return [(e.action, e.detail) for e in Each(sql(url), "audit").for_run(run_id)]


def test_replicas_in_other_pid_namespaces_hand_a_run_over_after_a_persons_step(
    tmp_path: Path, postgres_url: str
) -> None:
    """Two `chatops serve` on one PostgreSQL, one in a pid namespace of its own (a container
    on the same host: the same hostname, other pids). A deploy waits for its person, who is
    marked done at the first replica; whichever replica goes on, the other never calls it
    dead while its steps run, and it succeeds with one start and no interruption."""
    url = database(postgres_url, "workers_ns")
    app = make_app(tmp_path / "app")
    with health_server(app) as health:
        cfg = service_config(app, health, [{"name": "local", "transport": "local"}])
        cfg["services"]["web"]["install"] = "sleep 3 && echo installing"  # type: ignore[index]
        with world(tmp_path, cfg, url) as (env, standin, procs):
            ports = [free_port(), free_port()]
            procs.start(env, "serve", "--http", "--port", str(ports[0]))
            contained = ("unshare", "--pid", "--fork", "--mount-proc", "--kill-child")
            procs.start(env, "serve", "--http", "--port", str(ports[1]), prefix=contained)
            for port in ports:
                wait_port(port, timeout=60)
            a, b = (RemoteSlack(f"http://127.0.0.1:{p}", standin) for p in ports)
            a.command("/change", "deploy service=web ref=v2", user="U_CODER")
            plan = wait_for(lambda: next(iter(a.plans()), None), 120, "the plan in Slack")
            assert b.click("chatops.approve", user="U_LEAD", message=plan)[0] == 200
            runs = Each(sql(url), "runs")
            wait_for(lambda: runs.list()[0].current_step == "prepare", what="the person's step")
            wait_for(lambda: runs.list()[0].owner is None, what="the run to park")
            wait_for(lambda: done_shown(standin), 120, "the Mark done button in Slack")
            assert a.click("chatops.done", user="U_CODER")[0] == 200  # at the first replica
            owners: set[str | None] = set()

            def ended() -> bool:
                [run] = runs.list()
                if run.state.value == "running" and run.current_step in ("install", "restart"):
                    owners.add(run.owner)
                return run.state.is_terminal or run.state.value == "interrupted"

            wait_for(ended, timeout=120, what="the run to end")
            [run] = runs.list()
            actions = audit_actions(url, run.id)
            assert run.state.value == "succeeded", (run.error, actions)
            assert [a for a, _ in actions].count("run.started") == 1
            assert not [a for a, _ in actions if a in ("run.interrupted", "run.taken_over")]
            assert None not in owners and len(owners) == 1  # one owner while it ran
            assert app.head() == app.revs["v2"]
            said = " ".join(m.all_text() for m in standin.thread(plan.channel, plan.ts))
            assert "interrupted" not in said
            for port in ports:  # each replica lists both as live workers
                listed = healthz(port)["workers"]
                assert isinstance(listed, list) and len(listed) == 2, listed


def test_a_killed_worker_is_taken_over_and_sites_run_on_their_own_workers(
    tmp_path: Path, postgres_url: str, sshd: Sshd
) -> None:
    """Production's hosts are in site eu (two workers there), staging's in site us (none at
    first). A worker killed with -9 mid-command is taken over by the other eu worker within
    30 s, which follows the command on the host to its end: it ran once, the run succeeds, and
    the thread says who took over. The staging run waits, saying no us worker runs; one
    started later runs it, and no eu worker ever touched it."""
    url = database(postgres_url, "workers_sites")
    app = make_app(tmp_path / "app")
    marker = tmp_path / "app" / "installed.log"
    with health_server(app) as health:
        host = sshd.host("eu-1", site="eu")
        cfg = service_config(app, health, [host])
        web = cfg["services"]["web"]  # type: ignore[index]
        web["install"] = f"echo start >> {marker} && sleep 6 && echo done >> {marker}"
        web["environments"]["staging"] = {"site": "us", "hosts": [sshd.host("us-1")]}
        with world(tmp_path, cfg, url) as (env, standin, procs):
            port = free_port()
            procs.start(env, "serve", "--http", "--port", str(port))  # no site: Slack only here
            wait_port(port, timeout=60)
            eu = [procs.start(env, "worker", "--site", "eu") for _ in range(2)]
            wait_for(lambda: len(healthz(port)["workers"]) == 3, what="three workers")  # type: ignore[arg-type]
            slack = RemoteSlack(f"http://127.0.0.1:{port}", standin)
            slack.command("/change", "deploy service=web ref=v2", user="U_CODER")
            plan = wait_for(lambda: next(iter(slack.plans()), None), 120, "the plan in Slack")
            assert slack.click("chatops.approve", user="U_LEAD", message=plan)[0] == 200
            runs = Each(sql(url), "runs")
            wait_for(
                lambda: runs.list()[0].owner is None and runs.list()[0].current_step == "prepare"
            )
            done = cli(env, "done", "1", "prepare", "--as", "U_CODER")
            assert done.returncode == 0, done.stderr
            assert "a worker runs it" in done.stdout  # eu workers are alive
            wait_for(lambda: marker.exists() and "start" in marker.read_text(), what="install")
            [run] = runs.list()
            assert run.current_step == "install" and run.owner is not None
            victim = next(p for p in eu if run.owner.split(":")[1] == str(p.pid))
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=10)
            killed = time.monotonic()
            wait_for(
                lambda: "run.taken_over" in [a for a, _ in audit_actions(url, 1)],
                timeout=40,
                what="the take-over",
            )
            assert time.monotonic() - killed < 30
            wait_for(lambda: runs.list()[0].state.is_terminal, timeout=120, what="the run's end")
            [run] = runs.list()
            actions = audit_actions(url, 1)
            assert run.state.value == "succeeded", (run.error, actions)
            assert marker.read_text().split() == ["start", "done"]  # it ran once, to its end
            assert any(a == "step.settled" and "install" in d for a, d in actions)

            def said() -> str:
                return " ".join(m.all_text() for m in standin.thread(plan.channel, plan.ts))

            wait_for(lambda: "took over" in said(), 120, "the thread to say who took over")
            assert "stopped at step `install`" in said()

            # staging is site us: nobody runs it yet, and the approval says so
            out = cli(
                env,
                "run",
                "deploy",
                "web",
                "environment=staging",
                "ref=v2",
                "install=false",
                "--as",
                "U_CODER",
                "--approve-as",
                "U_LEAD",
            )
            assert "no worker of site us is running" in out.stderr, out.stderr + out.stdout
            assert "start `chatops worker --site us`" in out.stderr
            staging = max(runs.list(), key=lambda r: r.id).id

            def state() -> str:
                return next(r for r in runs.list() if r.id == staging).state.value

            time.sleep(3)  # the eu workers and serve look every half second: none claims it
            assert state() == "queued"
            us = procs.start(env, "worker", "--site", "us")
            wait_for(
                lambda: next(r for r in runs.list() if r.id == staging).current_step == "prepare",
                what="the us worker to start it",
            )
            assert cli(env, "done", str(staging), "prepare", "--as", "U_CODER").returncode == 0
            wait_for(lambda: state() in ("succeeded", "failed", "rolled_back"), timeout=120)
            assert state() == "succeeded", next(r for r in runs.list() if r.id == staging).error
            started = [d for a, d in audit_actions(url, staging) if a == "run.started"]
            assert started and f":{us.pid}:" in started[0]


def done_shown(standin: SlackStandIn) -> bool:
    """A Mark done button is in Slack (the run waits on a person, and its thread says so)."""
    return any(
        b.get("action_id") == "chatops.done" for m in list(standin.messages) for b in m.buttons()
    )
