"""Two `chatops serve --http` replicas on one real PostgreSQL: clicks at either start one run;
one replica sends the reminders; when it dies the other takes over, losing and doubling none."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from chatops.simulator.harness import RemoteSlack
from chatops.simulator.standin import SlackStandIn
from chatops.store.db import upgrade
from tests.apps import App, health_server, make_app, service_config
from tests.factories import Each, sql
from tests.faults import wait_for
from tests.serve_process import serve_env
from tests.servers import free_port, wait_port


def healthz(port: int) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
        return dict(json.loads(r.read()))


@pytest.fixture
def cluster(
    tmp_path: Path, postgres_url: str
) -> Iterator[tuple[dict[int, subprocess.Popen[bytes]], SlackStandIn, str, App]]:
    from sqlalchemy import create_engine, text

    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text('DROP DATABASE IF EXISTS "replicas"'))
        c.execute(text('CREATE DATABASE "replicas"'))
    url = postgres_url.rsplit("/", 1)[0] + "/replicas"
    upgrade(url)
    app = make_app(tmp_path / "app")
    standin = SlackStandIn().start()
    procs: dict[int, subprocess.Popen[bytes]] = {}
    with health_server(app) as health:
        cfg = service_config(app, health, [{"name": "local", "transport": "local"}])
        cfg["policies"] = {
            "postmortem_due": "2s",
            "reminder_every": "3s",
            "escalate_after": 50,
            "self_approve": [],
        }
        path = tmp_path / "chatops.yml"
        path.write_text(yaml.safe_dump(cfg))
        env = serve_env(path, url, standin, CHATOPS_SCHEDULER_RETRY="1", CHATOPS_SWEEP_EVERY="2")
        for _ in range(2):
            port = free_port()
            procs[port] = subprocess.Popen(
                [sys.executable, "-m", "chatops", "serve", "--http", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        try:
            for port in procs:
                wait_port(port, timeout=60)
            yield procs, standin, url, app
        finally:
            for p in procs.values():
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in procs.values():
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
            standin.stop()


def reminder_numbers(standin: SlackStandIn, channel: str, ts: str) -> list[int]:
    out = []
    for m in standin.thread(channel, ts):
        found = re.search(r"Reminder (\d+):", m.all_text())
        if found:
            out.append(int(found.group(1)))
    return out


def test_two_replicas_one_run_one_reminder_each_time_and_failover(cluster) -> None:  # type: ignore[no-untyped-def]
    procs, standin, url, app = cluster
    ports = list(procs)
    a, b = (RemoteSlack(f"http://127.0.0.1:{p}", standin) for p in ports)
    roles = {p: healthz(p)["scheduler"] for p in ports}
    wait_for(lambda: sorted(str(healthz(p)["scheduler"]) for p in ports) == ["follower", "leader"])

    a.command("/hotfix", "web ref=v2 labels are down", user="U_ONCALL")
    plan = wait_for(lambda: next(iter(a.plans()), None), 120, "the hotfix's plan in Slack")
    payloads = [(x, x.click_payload("chatops.approve", "U_LEAD", plan)) for x in (a, b) * 5]
    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(lambda xp: xp[0].send(xp[1])[0], payloads))
    assert statuses == [200] * 10
    a.settle()

    def waiting_at() -> str | None:
        """The person's step the run waits at, once its Mark done button is in Slack."""
        [run] = Each(sql(url), "runs").list()
        waits = [
            r.step_id for r in Each(sql(url), "steps").of_run(run.id) if r.state.value == "waiting"
        ]
        step = waits[-1] if waits else None
        shown = step is not None and any(
            b.get("value", "").endswith(f":{step}")
            for m in list(standin.messages)
            for b in m.buttons()
            if b.get("action_id") == "chatops.done"
        )
        return step if shown else None

    for sim in (b, a, b):  # the three manual steps, marked done at either replica
        step = wait_for(waiting_at, 120, "the run waiting at a person's step, its button shown")
        sim.click("chatops.done", user="U_ONCALL")
        wait_for(lambda s=step: waiting_at() != s, 120, f"the run past step {step}")
    a.settle()
    run = wait_for(
        lambda: next((r for r in Each(sql(url), "runs").list() if r.state.is_terminal), None),
        120,
        "the run's end",
    )
    assert run.state.value == "succeeded", run.error
    assert app.head() == app.revs["v2"]
    actions = [e.action for e in Each(sql(url), "audit").for_run(run.id)]
    assert actions.count("run.started") == 1 and actions.count("plan.approved") == 1

    # reminders: due 2 s after the run, then every 3 s; only the leader sends them
    wait_for(lambda: len(reminder_numbers(standin, plan.channel, plan.ts)) >= 2, timeout=30)
    numbers = reminder_numbers(standin, plan.channel, plan.ts)
    assert numbers == list(range(1, len(numbers) + 1))  # none doubled, none skipped

    leader = next(p for p in ports if healthz(p)["scheduler"] == "leader")
    survivor = next(p for p in ports if p != leader)
    procs[leader].send_signal(signal.SIGKILL)
    procs[leader].wait(timeout=10)
    killed_at = time.monotonic()
    wait_for(lambda: healthz(survivor)["scheduler"] == "leader", timeout=20)
    assert time.monotonic() - killed_at < 20
    before = len(reminder_numbers(standin, plan.channel, plan.ts))
    wait_for(
        lambda: len(reminder_numbers(standin, plan.channel, plan.ts)) >= before + 2, timeout=30
    )
    numbers = reminder_numbers(standin, plan.channel, plan.ts)
    assert numbers == list(range(1, len(numbers) + 1))
    assert roles  # both replicas answered /healthz from the start
