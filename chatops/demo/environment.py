"""Build the demo: a git remote with tagged releases, an app checkout with a SQLite database,
the app running on a loopback port, and a commented chatops.yml with a user in every role.
Used by `chatops init`, `chatops demo` and `chatops console`; nothing leaves this machine."""

from __future__ import annotations

import json
import shlex
import shutil
import socket
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MARK = "# chatops demo config"

MIGRATION = '''\
"""Add a label column (and its index) to orders. Safe to run twice."""
import sqlite3

db = sqlite3.connect("data/demo.db")
columns = [r[1] for r in db.execute("PRAGMA table_info(orders)")]
if "label" in columns:
    print("orders.label exists already: nothing to do")
else:
    db.execute("ALTER TABLE orders ADD COLUMN label TEXT")
    db.execute("CREATE INDEX orders_label ON orders(label)")
    db.commit()
    print("added orders.label and its index")
'''

DATA_FIX = '''\
"""Orders stuck in 'paid' for a shipped parcel become 'shipped'."""
import sqlite3

db = sqlite3.connect("data/demo.db")
sql = "UPDATE orders SET status = 'shipped' WHERE status = 'paid' AND parcel IS NOT NULL"
n = db.execute(sql).rowcount
db.commit()
print(f"fixed {n} orders")
'''


BAD_FIX = '''\
"""A data fix with a bug: it deletes every order, then fails. The backup brings them back."""
import sqlite3
import sys

db = sqlite3.connect("data/demo.db")
db.execute("DELETE FROM orders")
db.commit()
sys.exit("fix-labels: oops, the WHERE clause was missing")
'''


@dataclass(frozen=True)
class Demo:
    base: Path
    config: Path
    app_dir: Path
    port: int

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ECK/health"

    def ctl(self, verb: str) -> str:
        out = subprocess.run(
            [sys.executable, str(HERE / "democtl.py"), verb, str(self.port)],
            cwd=self.app_dir,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()

    def stop(self) -> None:
        """Stop the demo app (it keeps running after `chatops init` and `chatops demo`)."""
        if self.app_dir.exists():
            self.ctl("stop")


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _commit(work: Path, version: str, health: dict[str, str]) -> None:
    (work / "health.json").write_text(json.dumps(health) + "\n")
    (work / "VERSION").write_text(version + "\n")
    _git("add", "-A", cwd=work)
    _git(
        "-c",
        "user.name=demo",
        "-c",
        "user.email=demo@localhost",
        "commit",
        "-qm",
        version,
        cwd=work,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _database(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, "
            "status TEXT NOT NULL, parcel TEXT)"
        )
        db.executemany(
            "INSERT INTO orders (customer, status, parcel) VALUES (?, ?, ?)",
            [
                ("acme", "shipped", "P-1001"),
                ("globex", "paid", "P-1002"),
                ("initech", "paid", None),
                ("umbrella", "new", None),
            ],
        )


def build_demo(base: Path, *, config: Path | None = None, start: bool = True) -> Demo:
    """Create the demo in `base` (replacing an earlier one), write its config (to `config`,
    or base/chatops.yml) and start its app."""
    base = base.resolve()
    if base.exists():
        old = base / "srv" / "demo"
        if (old / ".chatops" / "pid").exists():
            subprocess.run(
                [sys.executable, str(HERE / "democtl.py"), "stop", "0"],
                cwd=old,
                check=False,
                capture_output=True,
            )
        shutil.rmtree(base)
    origin, work, app = base / "origin.git", base / "work", base / "srv" / "demo"
    base.mkdir(parents=True)
    _git("init", "-q", "--bare", "-b", "main", str(origin), cwd=base)
    _git("clone", "-q", str(origin), str(work), cwd=base)
    (work / ".gitignore").write_text("data/\nlogs/\n.chatops/\n")
    _commit(work, "v1", {"status": "healthy"})
    _git("push", "-q", "origin", "HEAD:main", cwd=work)
    app.parent.mkdir(parents=True)
    _git("clone", "-q", str(origin), str(app), cwd=base)
    (app / "logs").mkdir()
    (app / "logs" / "demo-out.log").write_text("demo v1 started\n")
    (app / "logs" / "demo-error.log").write_text("")
    _database(app / "data" / "demo.db")
    (work / "scripts").mkdir()
    (work / "scripts" / "add-labels.py").write_text(MIGRATION)
    (work / "scripts" / "fix-paid-orders.py").write_text(DATA_FIX)
    (work / "scripts" / "fix-labels-buggy.py").write_text(BAD_FIX)
    _commit(work, "v2", {"status": "healthy"})
    _git("tag", "v2", cwd=work)
    _commit(work, "v3-broken", {"status": "broken", "error": "label printer: ECONNREFUSED"})
    _git("tag", "v3-broken", cwd=work)
    _commit(work, "v4", {"status": "healthy"})
    _git("push", "-q", "origin", "HEAD:main", "--tags", cwd=work)
    port = _free_port()
    config = config or base / "chatops.yml"
    config.write_text(config_text(app, port, base / "backups"))
    demo = Demo(base, config, app, port)
    if start:
        demo.ctl("start")
    return demo


def config_text(app: Path, port: int, backups: Path) -> str:
    """The demo's chatops.yml, with comments that say what each part is for."""
    py = shlex.quote(sys.executable)
    ctl = f"{py} {shlex.quote(str(HERE / 'democtl.py'))}"
    db = f"{py} {shlex.quote(str(HERE / 'demodb.py'))}"
    return f"""{MARK} (written by `chatops init`; see examples/chatops.yml for a real team's).
# One service, 'demo': a small program on this machine with a git remote, tagged releases
# (v2 healthy, v3-broken unhealthy, main healthy) and a SQLite database. Its steps run here,
# through the 'local' transport; a real host uses SSH with strict host keys instead.
services:
  demo:
    description: a demo service on this machine
    app_dir: {json.dumps(str(app))}
    install: echo dependencies up to date
    # How the service is started and stopped (pm2, systemd and docker-compose are built in).
    manager:
      type: custom
      status: {json.dumps(f"{ctl} status {port}")}
      start: {json.dumps(f"{ctl} start {port}")}
      stop: {json.dumps(f"{ctl} stop {port}")}
      restart: {json.dumps(f"{ctl} restart {port}")}
    logs:
      type: file
      paths: [{json.dumps(str(app / "logs" / "demo-out.log"))}]
      error_paths: [{json.dumps(str(app / "logs" / "demo-error.log"))}]
    # Checked after every deploy, restart and migration.
    health:
      url: http://127.0.0.1:{port}/ECK/health
      expect_json: {{status: healthy}}
      retries: 3
      interval: 0.5
    # Backed up before every migration and data fix, restored if one fails.
    database:
      name: demo
      backup: {json.dumps(f"{db} backup {{backup_file}}")}
      restore: {json.dumps(f"{db} restore {{backup_file}}")}
      migrate: {json.dumps(f"{py} {{script}}")}
      verify: {json.dumps(f"{db} verify")}
      ping: {json.dumps(f"{db} ping")}
      backup_dir: {json.dumps(str(backups))}
    environments:
      production:
        hosts: [{{name: local, transport: local}}]
# Who may do what (the seed's delegation rules): Slack user ids in a real workspace.
roles:
  requester: {{users: [alice, carol, dave]}}
  coder: {{users: [alice]}}
  lead: {{users: [bob]}}
  architect: {{users: [carol]}}
  oncall: {{users: [dave]}}
"""


def is_demo_config(path: Path) -> bool:
    try:
        return path.read_text(encoding="utf-8").startswith(MARK)
    except OSError:
        return False
