"""The layers, held: a package imports only its own layer and the ones below it, and no two
packages reach each other (directly or round a circle), neither chatops's nor the engine's
own, whose top-level modules (ports, events, units of work) count as one.

    errors <- engine <- settings, config <- adapters (store, executors, Slack, the API, ...)
           <- bootstrap <- entry points (cli, serve, console, demo, simulator)
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.conftest import ROOT

LAYERS: dict[str, int] = {
    "errors": 0,
    "engine": 1,
    **dict.fromkeys(("settings", "config_files", "logs"), 2),
    **dict.fromkeys(
        (
            "adapters",
            "executors",
            "store",
            "slack",
            "api",
            "metrics",
            "scheduler",
            "delivery",
            "sweeper",
            "audit_anchor",
            "socket_health",
        ),
        3,
    ),
    "bootstrap": 4,
    **dict.fromkeys(("cli", "serve", "console", "demo", "simulator", "__main__", "__init__"), 5),
}

PACKAGE = ROOT / "chatops"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
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


def test_every_package_has_a_layer() -> None:
    found = {p.name.removesuffix(".py") for p in PACKAGE.iterdir() if not p.name.startswith("_")}
    found |= {"__main__", "__init__"}
    found -= {"py.typed", "runbooks"}  # data
    assert found - set(LAYERS) == set(), "give the new package a layer in LAYERS"


def test_imports_go_down_the_layers_only() -> None:
    upward = [
        (file, f"{source} (layer {LAYERS[source]}) imports {target} (layer {LAYERS[target]})")
        for source, targets in _graph(PACKAGE, "chatops.").items()
        for target, file in targets
        if target in LAYERS and source in LAYERS and LAYERS[target] > LAYERS[source]
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
