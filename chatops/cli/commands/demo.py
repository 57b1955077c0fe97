"""`chatops init` and `chatops demo`: the whole change process on this machine, no Slack and
no servers.

`init` builds the demo service (a git remote, an app checkout with a SQLite database, the
app running on a loopback port) and writes ./chatops.yml for it. `demo` does that when there
is no ./chatops.yml yet, then requests, approves and runs a deploy that succeeds, one whose
health check fails and is rolled back, and a migration that backs up, migrates and verifies.
Its runs stay in ./chatops.db, so every `chatops` command can be tried on them afterwards.
"""

from __future__ import annotations

import json
import shlex
import shutil
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from chatops.adapters.config_files import DEFAULT_DIR, PACKAGED
from chatops.cli.commands.exits import EXIT_UNAVAILABLE, EXIT_USAGE
from chatops.demo.environment import Demo, build_demo, is_demo_config
from chatops.errors import ConfigError

CONFIG = Path("chatops.yml")


def init(base: Path, config: Path = CONFIG, force: bool = False) -> Demo:
    if config.exists() and not force:
        whose = "the demo's, perhaps edited" if is_demo_config(config) else "not the demo's"
        raise ConfigError(
            str(config),
            [f"exists ({whose}): keep it, or pass --force to write the demo's again"],
        )
    demo = build_demo(base, config=config)
    print(f"Wrote {config}: service 'demo' runs on this machine, its files in {demo.base}.")
    copy_runbooks(DEFAULT_DIR)
    print(f"The demo app answers on {demo.health_url} (it keeps running; `chatops demo --stop`).")
    return demo


def copy_runbooks(target: Path) -> None:
    """The shipped runbooks into ./commands, to read and edit (chatops uses ./commands when it
    exists); an existing folder is left as it is."""
    if target.exists():
        return
    target.mkdir(parents=True)
    for rb in sorted(PACKAGED.glob("*.yml")):
        shutil.copyfile(rb, target / rb.name)
    print(f"Copied the {len(list(target.glob('*.yml')))} shipped runbooks into {target}/ to edit.")


def stop(config: Path = CONFIG) -> int:
    from chatops.adapters.config_files import load_config

    if not is_demo_config(config):
        raise ConfigError(str(config), ["is not the demo's config"])
    svc = load_config(config).services["demo"]
    port = (urlsplit(svc.health.url).port or 0) if svc.health else 0
    Demo(Path(svc.app_dir).parents[1], config, Path(svc.app_dir), port).stop()
    print("the demo app is stopped (a deploy or a restart starts it again)")
    return 0


def run_demo(base: Path, cli_main: Callable[[list[str]], int]) -> int:
    """Run the walkthrough through `cli_main` (the CLI's entry point, handed in by it)."""
    if not CONFIG.exists():
        init(base)
    elif not is_demo_config(CONFIG):
        raise ConfigError(str(CONFIG), ["is not the demo's: run the demo in another folder"])

    class Stopped(Exception):
        pass

    def step(title: str, command: str) -> int:
        print(f"\n== {title}\n")
        code = cli_main(shlex.split(command))
        if code in (EXIT_USAGE, EXIT_UNAVAILABLE):  # the set-up is wrong: the rest would be too
            raise Stopped(command, code)
        return code

    try:
        return tour(base, step)
    except Stopped as stopped:
        command, code = stopped.args
        print(f"\nThe tour stopped: `chatops {command}` could not run (see above).")
        return int(code)


def tour(base: Path, step: Callable[[str, str], int]) -> int:
    approved = "--as alice --approve-as bob --manual-done --here"
    step("a deploy plan, as the bot would post it", "plan deploy demo ref=v2 --as alice")
    ok = step(
        "alice requests it, bob (lead) approves, the steps run on this machine",
        f"run deploy demo ref=v2 {approved}",
    )
    step(
        "a deploy of a broken build: the health check fails and it is rolled back",
        f"run deploy demo ref=v3-broken {approved}",
    )
    step(
        "a migration: back up, migrate, verify (carol, the architect, and bob approve)",
        f"run migration demo ref=v2 script=scripts/add-labels.py {approved} --approve-as carol"
        " --answer tables=orders --answer 'columns=orders.label (new, text)'"
        " --answer 'indexes=none' --answer 'data_effect=existing rows get an empty label'"
        " --answer 'backup=yes: a copy of the database file, restored in seconds'",
    )
    task = Path(base) / "refactor-task.json"
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
    step(
        "a refactor task (seed JSON) that mixes in a new feature is refused by policy",
        f"plan refactor demo --as carol --import {shlex.quote(str(task))}",
    )
    step("runs", "runs")
    step("the audit trail", "audit --limit 12")
    print("\nEverything is in ./chatops.db; try `chatops show 1` or `chatops console`.")
    return ok
