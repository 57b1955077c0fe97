"""The layers, held: a package imports only its own layer and the ones below it, and no two
packages reach each other (directly or round a circle), neither chatops's nor the engine's
own, whose top-level modules (ports, events, units of work) count as one.

    errors <- engine (domain and planning: pure; services, ports) <- settings, logs, metrics
           <- adapters (adapters/, store, executors, slack, api) <- bootstrap
           <- entry points (cli, serve, console, demo, simulator)
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.code import nodes
from tests.conftest import ROOT

LAYERS: dict[str, int] = {
    "errors": 0,
    "engine": 1,
    **dict.fromkeys(("settings", "logs", "metrics"), 2),
    **dict.fromkeys(("adapters", "executors", "store", "slack", "api", "web"), 3),
    **dict.fromkeys(("bootstrap", "wiring"), 4),
    **dict.fromkeys(("cli", "serve", "console", "demo", "simulator", "__main__", "__init__"), 5),
}

PACKAGE = ROOT / "chatops"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in nodes(path):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {m for m in found if m.startswith("chatops.")}


def _graph(base: Path, prefix: str, top: str | None = None) -> dict[str, set[tuple[str, str]]]:
    """Package -> {(package it imports, from which file)} for the packages under `base`. With
    `top`, the modules at `base`'s own level count as one package of that name (the ports,
    the events: what every concern stands on)."""

    def node(parts: list[str]) -> str:
        if top is not None and (len(parts) == 1 or parts[1:] == []):
            return top
        return parts[0]

    graph: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for f in sorted(base.rglob("*.py")):
        rel = list(f.relative_to(base).with_suffix("").parts)
        source = node(rel)
        for module in _imports(f):
            if not module.startswith(prefix):
                continue
            target = node(module.removeprefix(prefix).split("."))
            if target and target != source:
                graph[source].add((target, str(f.relative_to(ROOT))))
    return graph


def _circles(graph: dict[str, set[tuple[str, str]]]) -> set[tuple[str, str]]:
    """Pairs of packages that reach each other, directly or round a circle."""
    edges: dict[str, set[str]] = defaultdict(set)
    for a, targets in graph.items():
        edges[a] |= {b for b, _ in targets}

    def reach(start: str) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            for nxt in edges[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    reached = {a: reach(a) for a in list(edges)}
    return {(a, b) for a in reached for b in reached[a] if a < b and a in reached.get(b, set())}


def _layer(node: str) -> int:
    return LAYERS[node.split(".")[0]]


def test_every_package_has_a_layer() -> None:
    found = {p.name.removesuffix(".py") for p in PACKAGE.iterdir() if not p.name.startswith("_")}
    found |= {"__main__", "__init__"}
    found -= {"py.typed", "runbooks"}  # data
    assert found - set(LAYERS) == set(), "give the new package a layer in LAYERS"


def test_imports_go_down_the_layers_only() -> None:
    upward = [
        (file, f"{source} (layer {_layer(source)}) imports {target} (layer {_layer(target)})")
        for source, targets in _graph(PACKAGE, "chatops.").items()
        for target, file in targets
        if _layer(target) > _layer(source)
    ]
    assert upward == []


def test_no_two_packages_import_each_other() -> None:
    assert _circles(_graph(PACKAGE, "chatops.")) == set()


def test_no_two_of_the_engines_packages_import_each_other() -> None:
    assert _circles(_graph(PACKAGE / "engine", "chatops.engine.", top="engine")) == set()


ALLOWED_UNDER_THE_DOMAIN = ("chatops.errors", "chatops.engine.planning", "chatops.engine.domain")


def test_the_domain_is_built_on_planning_alone() -> None:
    """engine/domain/ holds the records and rules every service and port builds on: it
    imports no other part of chatops but planning (runbooks, plans: pure too) and errors."""
    files = sorted((PACKAGE / "engine" / "domain").glob("*.py"))
    assert len(files) >= 6
    found = {
        str(f.relative_to(ROOT)): {
            m for m in _imports(f) if not m.startswith(ALLOWED_UNDER_THE_DOMAIN)
        }
        for f in files
    }
    assert {f: m for f, m in found.items() if m} == {}


IO = {"socket", "subprocess", "threading", "sqlite3", "urllib", "http", "os", "time", "asyncio"}


def test_the_domain_and_planning_are_pure() -> None:
    """Plans, runbooks, policies, the run state machine, events, roles, freezes and the
    agents' rules (engine/domain, engine/planning) do no I/O: no sockets, processes,
    threads, files by path, clocks or sleeps; and planning builds on the domain alone."""
    found = {}
    for f in sorted(
        [
            *(PACKAGE / "engine" / "domain").glob("*.py"),
            *(PACKAGE / "engine" / "planning").glob("*.py"),
        ]
    ):
        libs = {
            a.name.split(".")[0] for n in nodes(f) if isinstance(n, ast.Import) for a in n.names
        } | {
            n.module.split(".")[0]
            for n in nodes(f)
            if isinstance(n, ast.ImportFrom) and n.module and n.level == 0
        }
        ours = {m for m in _imports(f) if not m.startswith(ALLOWED_UNDER_THE_DOMAIN)}
        if libs & IO or ours:
            found[str(f.relative_to(ROOT))] = sorted((libs & IO) | ours)
    assert found == {}
    named = {f.stem for f in (PACKAGE / "engine" / "domain").glob("*.py")}
    assert {"run", "events", "roles", "agent_rules", "postmortem"} <= named


TOP_LEVEL = {"__init__", "__main__", "errors", "settings", "logs", "metrics", "serve"}
TOP_LEVEL |= {"wiring"}  # the engine's half of the composition root (bootstrap/ is a package)


def test_the_tree_shows_the_layers() -> None:
    """At chatops/'s top only the foundations (errors, settings, logs, metrics), the composition
    root and serve; every adapter in a package (adapters/, store/, executors/, slack/,
    api/); Slack's transports, thread and views in folders of their own."""
    loose = {f.stem for f in PACKAGE.glob("*.py")}
    assert loose == TOP_LEVEL
    slack = PACKAGE / "slack"
    folders = {p.name for p in slack.iterdir() if (p / "__init__.py").exists()}
    assert folders == {"listeners", "thread", "transport", "views"}
    assert {f.stem for f in (slack / "transport").glob("*.py")} >= {"http", "socket_mode"}
    assert len(list(slack.glob("*.py"))) <= 12


def _subpackage_graph() -> dict[str, set[tuple[str, str]]]:
    """Every package and subpackage (and each top-level module) as a node of its own:
    `chatops.slack` and `chatops.slack.thread` are two."""

    def node(module: str) -> str:
        parts = module.split(".")
        if Path(ROOT, *parts).is_dir() or len(parts) == 2:
            return module
        return ".".join(parts[:-1])

    graph: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for f in sorted(PACKAGE.rglob("*.py")):
        rel = f.relative_to(ROOT).with_suffix("").parts
        source = ".".join(rel[:-1]) if f.name == "__init__.py" else node(".".join(rel))
        for n in nodes(f):
            if not (isinstance(n, ast.ImportFrom) and n.module and n.level == 0):
                continue
            if not n.module.startswith("chatops."):
                continue
            base = Path(ROOT, *n.module.split("."))
            subs = [
                f"{n.module}.{a.name}"
                for a in n.names
                if (base / a.name).is_dir() or (base / f"{a.name}.py").exists()
            ]
            for module in subs or [n.module]:
                target = node(module)
                if target != source:
                    graph[source].add((target, str(f.relative_to(ROOT))))
    return graph


def test_no_two_subpackages_import_each_other() -> None:
    """Nor at any depth: slack/ and slack/thread/, slack/ and slack/listeners/, adapters/
    and store/ each stand on the other only one way."""
    assert _circles(_subpackage_graph()) == set()
