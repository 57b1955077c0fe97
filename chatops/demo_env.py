"""The demo environment: a git remote, an app checkout, a health endpoint, a config with a
user in every role. Used by `chatops demo` and `chatops console`; nothing leaves this
machine."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def runbook_dir() -> Path:
    """The runbooks beside the package (a checkout), or ./commands."""
    return ROOT / "commands" if (ROOT / "commands").is_dir() else Path("commands")


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _commit(work: Path, health: str, message: str) -> None:
    (work / "health.json").write_text(json.dumps({"status": health}) + "\n")
    (work / "VERSION").write_text(message + "\n")
    _git("add", "-A", cwd=work)
    _git(
        "-c",
        "user.name=demo",
        "-c",
        "user.email=demo@localhost",
        "commit",
        "-qm",
        message,
        cwd=work,
    )


def build_demo(base: Path, health_url: str) -> Path:
    """Create the demo's git remote, app checkout and config; return the config path."""
    if base.exists():
        shutil.rmtree(base)
    origin, work, app = base / "origin.git", base / "work", base / "srv" / "demo"
    base.mkdir(parents=True)
    _git("init", "-q", "--bare", "-b", "main", str(origin), cwd=base)
    _git("clone", "-q", str(origin), str(work), cwd=base)
    _commit(work, "healthy", "v1")
    _git("push", "-q", "origin", "HEAD:main", cwd=work)
    app.parent.mkdir(parents=True)
    _git("clone", "-q", str(origin), str(app), cwd=base)
    (app / "logs").mkdir()
    (app / "logs" / "demo-out.log").write_text("demo started\n")
    _commit(work, "healthy", "v2")
    _git("tag", "v2", cwd=work)
    _commit(work, "broken", "v3-broken")
    _git("tag", "v3-broken", cwd=work)
    _git("push", "-q", "origin", "HEAD:main", "--tags", cwd=work)
    config = {
        "services": {
            "demo": {
                "description": "a demo service on this machine",
                "app_dir": str(app),
                "install": "echo dependencies up to date",
                "manager": {
                    "type": "custom",
                    "status": "cat .chatops/state 2>/dev/null || echo stopped",
                    "start": "echo running > .chatops/state",
                    "stop": "echo stopped > .chatops/state",
                    "restart": "mkdir -p .chatops && echo running $(cat VERSION) > .chatops/state "
                    '&& echo restarted && echo "restart $(cat VERSION)" >> logs/demo-out.log',
                },
                "logs": {"type": "file", "paths": [f"{app}/logs/demo-out.log"]},
                "health": {
                    "url": health_url,
                    "expect_json": {"status": "healthy"},
                    "retries": 1,
                    "interval": 0.2,
                },
                "environments": {
                    "production": {"hosts": [{"name": "local", "transport": "local"}]}
                },
            }
        },
        "roles": {
            "requester": {"users": ["alice", "carol", "dave"]},
            "coder": {"users": ["alice"]},
            "lead": {"users": ["bob"]},
            "architect": {"users": ["carol"]},
            "oncall": {"users": ["dave"]},
        },
    }
    path = base / "chatops.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def serve_health(holder: dict[str, Path]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = (holder["app"] / "health.json").read_bytes()
            healthy = b'"healthy"' in body
            self.send_response(200 if healthy else 503)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
