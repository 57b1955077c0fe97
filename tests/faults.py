"""What the fault tests share: waiting for a state (not sleeping), a service whose restart
the test controls, `/healthz` as a monitor reads it, and `chatops audit verify` as on-call
runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import ROOT


def wait_for(check: Callable[[], object], timeout: float = 60.0, what: str = "") -> Any:
    """The first truthy answer of `check`, polled every 0.1 s; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or check}")


def manager(restart: str) -> dict[str, Any]:
    """A custom service manager whose restart is `restart` (the rest as tests/apps.py's)."""
    return {
        "type": "custom",
        "status": "cat .chatops/state",
        "start": "echo running > .chatops/state",
        "stop": "echo stopped > .chatops/state",
        "restart": restart,
    }


def healthz(base_url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(base_url + "/healthz", timeout=10) as r:
            return r.status, dict(json.loads(r.read()))
    except urllib.error.HTTPError as e:
        return e.code, dict(json.loads(e.read()))


def audit_verify(config: Path, url: str) -> None:
    """`chatops audit verify` on this database says the trail is intact."""
    env = dict(
        os.environ,
        CHATOPS_CONFIG=str(config),
        CHATOPS_COMMANDS=str(ROOT / "commands"),
        CHATOPS_DATABASE_URL=url,
    )
    done = subprocess.run(
        [sys.executable, "-m", "chatops", "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "intact" in done.stdout, done.stderr
