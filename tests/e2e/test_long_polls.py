"""Waiting holds no thread, against the serve app with a real sshd: a hundred long polls at
once add no thread apiece and /healthz answers meanwhile; a decision or a revocation made
by another process (the CLI) ends the waits it concerns; an agent's waits past its cap are
answered 429 with Retry-After."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.agent_rig import DEPLOY, AgentRig, agent_rig
from tests.conftest import ROOT
from tests.servers import Sshd


@pytest.fixture
def rig(tmp_path: Path, sshd: Sshd) -> Iterator[AgentRig]:
    agents = {"requests_per_minute": 6000, "burst": 1000, "max_waits": 110}
    with agent_rig(tmp_path, sshd, agents) as r:
        yield r


def cli(rig: AgentRig, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "CHATOPS_CONFIG": str(rig.config_path),
        "CHATOPS_COMMANDS": str(ROOT / "commands"),
        "CHATOPS_DATABASE_URL": rig.database_url,
    }
    return subprocess.run(
        [sys.executable, "-m", "chatops", *args], env=env, capture_output=True, text=True
    )


def wait_call(rig: AgentRig, token: str, run_id: int, seconds: float) -> tuple[int, Any, str]:
    req = urllib.request.Request(
        f"{rig.slack.url}/api/v1/runs/{run_id}/decision?wait={seconds:g}",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read()), ""
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null"), e.headers.get("retry-after", "")


def propose(rig: AgentRig, token: str) -> int:
    status, made, _ = rig.api(
        "POST", "/plans", token, {"process": "deploy", "params": DEPLOY, "reason": "ship"}
    )
    assert status == 201, made
    return int(made["run"]["id"])


def test_a_hundred_waits_hold_no_thread_and_another_process_decides(rig: AgentRig) -> None:
    token = rig.add("waiting-agent", "coder")
    run_id = propose(rig, token)

    def served() -> int:  # the process's threads but the test's own clients
        return sum(not t.name.startswith("client") for t in threading.enumerate())

    before = served()
    with ThreadPoolExecutor(100, thread_name_prefix="client") as pool:
        futures = [pool.submit(wait_call, rig, token, run_id, 60) for _ in range(100)]
        rig.until(lambda: rig.slack.wired.gate.waiters.waits == 100, timeout=60)
        grown = served() - before
        status, _ = rig.slack.get("/healthz")
        assert status == 200  # answered while a hundred waits are open
        decided = cli(rig, "approve", str(run_id), "--as", "U_LEAD")  # another process
        assert decided.returncode == 0, decided.stderr
        answers = [f.result(timeout=60) for f in futures]
    assert grown < 40, f"{grown} threads for 100 waits"  # pools, not a thread a wait
    assert {(s, b["decision"]) for s, b, _ in answers} == {(200, "approved")}


def test_a_revocation_in_another_process_ends_the_waits(rig: AgentRig) -> None:
    token = rig.add("revoked-agent", "coder")
    run_id = propose(rig, token)
    with ThreadPoolExecutor(5) as pool:
        futures = [pool.submit(wait_call, rig, token, run_id, 60) for _ in range(5)]
        rig.until(lambda: rig.slack.wired.gate.waiters.waits == 5, timeout=60)
        started = time.monotonic()
        assert cli(rig, "agent", "revoke", "revoked-agent", "--as", "U_LEAD").returncode == 0
        answers = [f.result(timeout=60) for f in futures]
    assert {s for s, _b, _r in answers} == {401}
    assert time.monotonic() - started < 30  # not the 60 s asked for


def test_past_its_cap_an_agents_wait_is_answered_429(tmp_path: Path, sshd: Sshd) -> None:
    with agent_rig(tmp_path, sshd, {"max_waits": 3, "requests_per_minute": 600}) as rig:
        token = rig.add("greedy-agent", "coder")
        run_id = propose(rig, token)
        with ThreadPoolExecutor(3) as pool:
            futures = [pool.submit(wait_call, rig, token, run_id, 30) for _ in range(3)]
            rig.until(lambda: rig.slack.wired.gate.waiters.waits == 3, timeout=60)
            status, body, retry = wait_call(rig, token, run_id, 30)
            assert status == 429 and retry.isdigit() and int(retry) >= 1
            assert "greedy-agent has 3 waits open at once" in body["error"]
            rig.slack.wired.changes.reject(run_id, "U_LEAD", "not now")  # this process
            assert {f.result(timeout=60)[1]["decision"] for f in futures} == {"rejected"}
