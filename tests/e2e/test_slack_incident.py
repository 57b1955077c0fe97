"""An incident in small: five runs at once in one channel against a Web API stand-in that
enforces rate limits (429 with Retry-After past them). Every run's end, summary and plan
outcome reach Slack; nothing is sent twice; the bot keeps to the limits instead of meeting
them; no step reply is left saying "started"."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import yaml

from chatops.simulator.harness import ChatHarness
from chatops.simulator.ratelimits import Limits, Rate
from chatops.simulator.standin import SlackStandIn
from tests.apps import make_app, service_config, service_runbook
from tests.conftest import ROOT

RUNS = 5
RUNBOOK = service_runbook(
    "Print a lot",
    "three steps, the second prints for two seconds",
    "  - {id: prepare, kind: ssh, title: Prepare, run: 'echo ready', timeout: 60}\n"
    "  - {id: print, kind: ssh, title: Print, timeout: 60,\n"
    "     run: 'for i in $(seq 1 20); do seq 1 30; sleep 0.1; done'}\n"
    "  - {id: verify, kind: ssh, title: Verify, run: 'echo verified', timeout: 60}",
)
# Slack's shape, quicker: the test takes seconds, not minutes
LIMITS = "chat.update=120/min+10, chat.postMessage=2/s+4"
STANDIN = Limits({"chat.update": Rate(120, 10)}, post_per_channel=Rate(120, 4))


def test_five_runs_in_one_channel_all_end_in_slack_within_the_limits(tmp_path: Path) -> None:
    cfg: dict[str, dict[str, object]] = {"services": {}, "roles": {}}
    for i in range(RUNS):
        one = service_config(
            make_app(tmp_path / f"app{i}"),
            "http://127.0.0.1:9/health",
            [{"name": f"h{i}", "transport": "local"}],
        )
        cfg["services"][f"svc{i}"] = one["services"]["web"]  # type: ignore[index]
        cfg["roles"] = one["roles"]  # type: ignore[assignment]
    (tmp_path / "chatops.yml").write_text(yaml.safe_dump(cfg))
    commands = tmp_path / "commands"
    shutil.copytree(ROOT / "commands", commands)
    (commands / "printer.yml").write_text(RUNBOOK)
    standin = SlackStandIn(limits=STANDIN).start()
    with ChatHarness(
        config=tmp_path / "chatops.yml",
        commands=commands,
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        standin=standin,
        slack_limits=LIMITS,
        throttle=0.2,
    ) as slack:
        for i in range(RUNS):
            slack.command("/change", f"printer svc{i}", user="U_CODER")
        slack.settle(timeout=60)
        plans = slack.plans()
        assert len(plans) == RUNS
        for plan in plans:
            slack.click("chatops.approve", user="U_LEAD", message=plan)
        store = slack.wired.queries
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not all(
            store.get_run(r).state.is_terminal for r in range(1, RUNS + 1)
        ):
            time.sleep(0.1)
        slack.settle(timeout=120)
        for run_id in range(1, RUNS + 1):
            run = store.get_run(run_id)
            assert run.state.value == "succeeded", run
            m = slack.services.records.get(run_id)
            assert m is not None and m.status_ts is not None
            status = standin.message(m.channel, m.status_ts)
            assert status.text == f"Run #{run_id}: succeeded"
            thread = standin.thread(m.channel, m.plan_ts)
            summaries = [x for x in thread if x.broadcast]
            assert len(summaries) == 1 and f"#{run_id}" in summaries[0].text
            assert "succeeded" in standin.message(m.channel, m.plan_ts).all_text().lower()
            assert not [
                x.text for x in thread if "started" in x.text and ":arrow_forward:" in x.text
            ]
        limited = [c.method for c in standin.calls if c.status == 429]
        assert len(limited) <= 2, limited  # the bot keeps to the limits rather than meets them
        assert standin.identical == 0  # no update that changed nothing
        texts = [
            json.dumps([c.args.get("thread_ts"), c.args.get("text"), c.args.get("blocks")])
            for c in standin.calls_to("chat.postMessage")
            if c.status == 200
        ]
        assert len(texts) == len(set(texts))  # no post twice in a thread
