"""`chatops demo`: the whole change process on this machine, no Slack and no servers.

Builds a scratch git remote and an app checkout, a health endpoint on loopback, a demo
config with users in every role, then requests, approves and runs two deploys: one that
succeeds, and one whose health check fails and is rolled back.
"""

from __future__ import annotations

import json
from pathlib import Path

from chatops.cli.main import main as cli_main
from chatops.demo_env import build_demo, runbook_dir, serve_health


def run_demo(base: Path) -> int:
    base = base.resolve()
    holder: dict[str, Path] = {}
    server = serve_health(holder)
    url = f"http://127.0.0.1:{server.server_address[1]}/ECK/health"
    config = build_demo(base, url)
    holder["app"] = base / "srv" / "demo"
    commands = runbook_dir()
    common = [
        "--config",
        str(config),
        "--commands",
        str(commands),
        "--database-url",
        f"sqlite:///{base / 'chatops.db'}",
    ]
    print("== a deploy plan, as the bot would post it\n")
    cli_main(["plan", "deploy", "service=demo", "ref=v2", "--as", "alice", *common])
    print("\n== alice requests it, bob (lead) approves, the steps run on this machine\n")
    ok = cli_main(
        [
            "run",
            "deploy",
            "service=demo",
            "ref=v2",
            "--as",
            "alice",
            "--approve-as",
            "bob",
            "--manual-done",
            *common,
        ]
    )
    print("\n== a deploy of a broken build: the health check fails and it is rolled back\n")
    cli_main(
        [
            "run",
            "deploy",
            "service=demo",
            "ref=v3-broken",
            "--as",
            "alice",
            "--approve-as",
            "bob",
            "--manual-done",
            *common,
        ]
    )
    print("\n== a refactor task (seed JSON) that mixes in a new feature is refused by policy\n")
    task = base / "refactor-task.json"
    task.write_text(
        json.dumps(
            {
                "target_agent": "production_server",
                "task_id": "refactor-orders-1",
                "objective": "Split the order module",
                "steps": [
                    "Move order validation into its own module",
                    "Add a new endpoint for labels",
                    "[pull] Deploy the refactored code",
                    "[restart] Restart the service",
                ],
                "validation": ["Existing clients work unchanged"],
            }
        )
    )
    cli_main(["plan", "refactor", "service=demo", "--as", "carol", "--import", str(task), *common])
    print("\n== runs and the audit trail\n")
    cli_main(["runs", *common])
    print()
    cli_main(["audit", "--limit", "12", *common])
    print(f"\nEverything is in {base}; try: chatops show 1 {' '.join(common)}")
    server.shutdown()
    return ok
