"""A tiny real service for end-to-end runs: a git remote, an app checkout, a health endpoint."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


@dataclass
class App:
    origin: Path
    app_dir: Path
    revs: dict[str, str]

    def head(self) -> str:
        return git("rev-parse", "HEAD", cwd=self.app_dir)

    def state(self) -> str:
        p = self.app_dir / ".chatops" / "state"
        return p.read_text().strip() if p.exists() else ""


def make_app(base: Path) -> App:
    """origin.git with tags v1 (healthy), v2 (healthy), v3-broken (unhealthy); app at v1."""
    origin, work, app = base / "origin.git", base / "work", base / "srv" / "web"
    base.mkdir(parents=True, exist_ok=True)
    git("init", "-q", "--bare", "-b", "main", str(origin), cwd=base)
    git("clone", "-q", str(origin), str(work), cwd=base)
    revs = {}
    for tag, health in (("v1", "healthy"), ("v2", "healthy"), ("v3-broken", "broken")):
        (work / "health.json").write_text(json.dumps({"status": health}))
        (work / "VERSION").write_text(tag + "\n")
        git("add", "-A", cwd=work)
        git("-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-qm", tag, cwd=work)
        git("tag", tag, cwd=work)
        revs[tag] = git("rev-parse", "HEAD", cwd=work)
        if tag == "v1":
            git("push", "-q", "origin", "HEAD:main", "--tags", cwd=work)
            app.parent.mkdir(parents=True, exist_ok=True)
            git("clone", "-q", str(origin), str(app), cwd=base)
            (app / "logs").mkdir()
            (app / "logs" / "web-out.log").write_text("started\n")
    git("push", "-q", "origin", "HEAD:main", "--tags", cwd=work)
    subprocess.run(["chmod", "-R", "a+rwX", str(base)], check=True)
    return App(origin, app, revs)


@contextmanager
def health_server(app: App) -> Iterator[str]:
    """Serves the app checkout's health.json: 200 when healthy, 503 otherwise."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = (app.app_dir / "health.json").read_bytes()
            self.send_response(200 if b'"healthy"' in body else 503)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_a: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/health"
    finally:
        server.shutdown()


#: A workspace whose per-channel post limit is not what the test is about: a thread of a run
#: of eight steps posts at Slack's pace (about one a second per channel), which tests of
#: buttons, forms and faults need not wait for. The limits' own tests (test_slack_incident,
#: test_standin_limits, test_slack_outages) and the console keep Slack's.
ROOMY = "chat.postMessage=20/s+20"


def service_config(
    app: App, health_url: str, hosts: list[dict[str, object]], **extra: object
) -> dict[str, object]:
    svc: dict[str, object] = {
        "app_dir": str(app.app_dir),
        "install": "echo installing",
        "manager": {
            "type": "custom",
            "status": "cat .chatops/state",
            "start": "echo running > .chatops/state",
            "stop": "echo stopped > .chatops/state",
            "restart": "mkdir -p .chatops && echo running $(cat VERSION) > .chatops/state",
        },
        "logs": {"type": "file", "paths": [str(app.app_dir / "logs" / "web-out.log")]},
        "health": {
            "url": health_url,
            "expect_json": {"status": "healthy"},
            "retries": 1,
            "interval": 0.1,
        },
        "environments": {"production": {"hosts": hosts}},
    }
    svc.update(extra)
    return {
        "services": {"web": svc},
        "roles": {
            "coder": {"users": ["U_CODER"]},
            "lead": {"users": ["U_LEAD"]},
            "oncall": {"users": ["U_ONCALL"]},
            "architect": {"users": ["U_ARCH"]},
        },
    }


def service_runbook(title: str, description: str, steps: str) -> str:
    """A runbook of machine steps on one service, asked by a coder, approved by one lead
    (`steps`: its YAML list, each line indented two spaces)."""
    return f"""\
kind: debug
title: {title}
description: {description}
requesters: [coder]
approval: {{roles: [lead], quorum: 1}}
parameters:
  service: {{type: service}}
  environment: {{type: environment, default: production}}
steps:
{steps}
"""


#: A database section whose commands only say what they would do (migration plans).
ECHO_DATABASE = {
    "backup": "echo b {backup_file}",
    "restore": "echo r",
    "verify": "echo ok",
    "migrate": "echo m {script}",
}


def cli_config(base: Path, **extra: object) -> list[str]:
    """A chatops.yml for service `web` on this machine, in `base`, and the options that point
    a `chatops` command at it, the shipped runbooks and a database of its own."""
    import yaml

    app = make_app(base / "app")
    hosts: list[dict[str, object]] = [{"name": "local", "transport": "local"}]
    cfg = service_config(app, "http://127.0.0.1:9/health", hosts, **extra)
    (base / "chatops.yml").write_text(yaml.safe_dump(cfg))
    from tests.conftest import ROOT

    return [
        *("--config", str(base / "chatops.yml")),
        *("--commands", str(ROOT / "commands")),
        *("--database-url", f"sqlite:///{base / 'c.db'}"),
    ]
