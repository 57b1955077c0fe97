"""The engine stays pure: it imports no Slack, SSH, SQL or scheduler library."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.code import nodes
from tests.conftest import ROOT

PACKAGE = ROOT / "chatops"

ADAPTERS = {
    "slack_bolt",
    "slack_sdk",
    "fabric",
    "invoke",
    "paramiko",
    "sqlalchemy",
    "alembic",
    "apscheduler",
}


def imports(path: Path) -> set[str]:
    found = set()
    for node in nodes(path):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_engine_imports_no_adapter_library() -> None:
    files = sorted((ROOT / "chatops" / "engine").rglob("*.py"))
    assert len(files) > 10
    bad = {str(f.relative_to(ROOT)): sorted(imports(f) & ADAPTERS) for f in files}
    assert {k: v for k, v in bad.items() if v} == {}


def test_engine_imports_nothing_outside_itself_but_errors() -> None:
    for f in (ROOT / "chatops" / "engine").rglob("*.py"):
        for node in nodes(f):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("chatops")
            ):
                assert node.module.startswith(("chatops.engine", "chatops.errors")), (
                    f,
                    node.module,
                )


def test_no_auto_add_host_key_policy_anywhere() -> None:
    for f in (ROOT / "chatops").rglob("*.py"):
        text = f.read_text()
        assert "AutoAddPolicy" not in text and "WarningPolicy" not in text, f


def test_the_slack_thread_handles_every_event_about_a_run_by_its_type() -> None:
    """Consumers dispatch on the event classes: a new event is handled or deliberately not."""
    from chatops.engine.domain import events as ev
    from chatops.slack.thread.notifier import SlackNotifier

    kinds = {
        c
        for c in vars(ev).values()
        if isinstance(c, type) and issubclass(c, ev.Event) and c is not ev.Event
    }
    notifier = SlackNotifier(None, None, None, None)  # type: ignore[arg-type]
    handled = set(notifier.handlers.kinds)
    not_for_the_thread = {
        ev.RunRequested,  # the plan message is posted by the request itself (or below)
        ev.PostMortemSnoozed,  # only the person who snoozed is told, privately
    }
    assert handled == kinds - not_for_the_thread
    assert notifier.unposted.kinds == {ev.RunRequested}  # posted from the stream if need be


def test_consumers_dispatch_through_their_handlers_only() -> None:
    """Every consumer's publish() hands the event to its Handlers: no isinstance chain, no
    match statement, no table of its own (one registry, typed, in one place per consumer)."""
    publishers = []
    for f in sorted(PACKAGE.rglob("*.py")):
        for node in nodes(f):
            if isinstance(node, ast.FunctionDef) and node.name == "publish":
                publishers.append(f.relative_to(ROOT))
                for inner in ast.walk(node):
                    assert not isinstance(inner, ast.Match), f"{f}: publish() matches events"
                    is_check = (
                        isinstance(inner, ast.Call)
                        and isinstance(inner.func, ast.Name)
                        and inner.func.id == "isinstance"
                    )
                    assert not is_check, f"{f}: publish() dispatches with isinstance"
    assert len(publishers) >= 7  # the Slack thread, home, metrics, scheduler, terminal, ...


def modules_named(path: Path) -> set[str]:
    found = set()
    for node in nodes(path):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}  # `from pkg import mod`
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def test_the_slack_adapter_imports_neither_bootstrap_nor_the_store() -> None:
    """slack/ talks to the engine's services and its own SlackRecords port; bootstrap alone
    wires it to the SQL store."""
    for f in sorted((ROOT / "chatops" / "slack").rglob("*.py")):
        for module in modules_named(f):
            banned = ("chatops.store", "chatops.bootstrap", "chatops.wiring")
            assert not module.startswith(banned), (f, module)


def test_the_agents_front_ends_go_through_the_gate_only() -> None:
    """api/ (the HTTP API, the MCP server) reaches the engine through AgentGate: it imports
    no store, no bootstrap, no Slack, and none of the services the gate wraps."""
    wrapped = (
        "chatops.engine.approvals.changes.ChangeService",
        "chatops.engine.runs.operations",
        "chatops.engine.runs.queries",
        "chatops.engine.agents.service",
    )
    for f in sorted((ROOT / "chatops" / "api").rglob("*.py")):
        for module in modules_named(f):
            assert not module.startswith(
                ("chatops.store", "chatops.bootstrap", "chatops.wiring", "chatops.slack", *wrapped)
            ), (f, module)


def test_only_bootstrap_builds_the_pieces() -> None:
    """serve, the console, the CLI, the chat harness and the tests' rigs get everything from
    bootstrap (`build()`, or `core()` over the tests' fakes): none of them constructs a
    store, a service, an executor, a feed, the Slack app or its services itself."""
    builders = {
        "sql_transactions",
        "SqlEventLog",
        "SqlSlackRecords",
        "Runner",
        "ChangeService",
        "Feed",
        "create_app",
        "SlackServices",
        "SlackNotifier",
        "ReminderScheduler",
        "Sweeper",
    }
    fronts = [ROOT / "chatops" / "serve.py", *(ROOT / "chatops" / "cli").rglob("*.py")]
    fronts += [*(ROOT / "chatops" / "console").glob("*.py")]
    fronts += [*(ROOT / "chatops" / "simulator").glob("*.py")]
    fronts += [*(ROOT / "chatops" / "api").glob("*.py")]
    # and the tests' rigs: a test's process is built as production's is
    fronts += [ROOT / "tests" / "factories.py", ROOT / "tests" / "agent_rig.py"]
    builders |= {"AgentGate", "AgentService", "Operations", "Queries", "PostMortems", "OnCall"}
    builders |= {"SshExecutor", "LocalExecutor", "FreezeService"}
    for f in fronts:
        called = {
            n.func.id if isinstance(n.func, ast.Name) else getattr(n.func, "attr", "")
            for n in nodes(f)
            if isinstance(n, ast.Call)
        }
        assert not called & builders, (f, called & builders)


def test_the_engine_is_grouped_by_concern() -> None:
    """A few files of shared vocabulary at the top (ports, events, units of work), the pure
    records in domain/, the rest in one package per concern."""
    engine = ROOT / "chatops" / "engine"
    top = sorted(f.name for f in engine.glob("*.py") if f.name != "__init__.py")
    assert len(top) <= 8, top
    packages = sorted(p.name for p in engine.iterdir() if (p / "__init__.py").exists())
    assert packages == ["agents", "approvals", "domain", "front", "incidents", "planning", "runs"]


def test_the_cli_has_no_import_cycle() -> None:
    """cli/ modules (the parser's and the commands') import each other in one direction
    only (lazy imports count too)."""
    cli = ROOT / "chatops" / "cli"

    def name(f: Path) -> str:
        return ".".join(f.relative_to(ROOT).with_suffix("").parts)

    edges = {
        name(f): {m for m in modules_named(f) if m.startswith("chatops.cli.")}
        for f in cli.rglob("*.py")
    }
    assert len(edges) > 20 and "chatops.cli.commands.handlers" in edges

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in edges.get(start, set()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    assert [m for m in edges if reaches(m, m, {m})] == []


SERVICE_PACKAGES = ("agents", "approvals", "front", "incidents", "runs")
PLAIN_BASES = {"Exception", "Protocol", "Enum", "IntEnum", "StrEnum", "NamedTuple"}


def _stub(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    body = [
        n for n in fn.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))
    ]
    return (
        len(body) == 1
        and isinstance(body[0], ast.Raise)
        and "NotImplementedError" in ast.unparse(body[0])
    )


def test_services_are_composed_not_assembled_from_mixins() -> None:
    """A service holds its parts (one context shared); no service class derives from
    another of ours, and no method of the engine is a stub for a mixin to fill in."""
    derived, stubs = [], []
    for f in sorted((ROOT / "chatops" / "engine").rglob("*.py")):
        name = str(f.relative_to(ROOT))
        service = f.parent.name in SERVICE_PACKAGES
        for node in nodes(f):
            if service and isinstance(node, ast.ClassDef):
                bases = {ast.unparse(b).split(".")[-1] for b in node.bases}
                # a command is a value whose type says what handling it answers (Command[R])
                if name.endswith("runs/commands.py"):
                    bases = {b.split("[")[0] for b in bases} - {"Command", "Generic"}
                if bases - PLAIN_BASES - {"_Unavailable"} and not node.name.startswith("_"):
                    derived.append(f"{name}: {node.name}({', '.join(sorted(bases))})")
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _stub(node):
                stubs.append(f"{name}: {node.name}")
    assert derived == []
    # the one port a store adapter implements by subclassing (its repositories and commit)
    assert stubs == [
        "chatops/engine/unit_of_work.py: write",
        "chatops/engine/unit_of_work.py: discard",
    ]


def test_the_slack_thread_is_composed_of_parts_not_mixins() -> None:
    """SlackNotifier is the thread's plumbing and holds its parts (decisions, steps,
    escalations, post-mortems, ...), each given the plumbing as a Thread; no part derives
    from a class of ours or leaves a stub for the notifier to fill in."""
    from chatops.slack.thread.notifier import SlackNotifier

    assert SlackNotifier.__bases__ == (object,)
    notifier = SlackNotifier(None, None, None, None)  # type: ignore[arg-type]
    assert len(notifier.parts) >= 6
    for part in notifier.parts:
        assert type(part).__bases__ == (object,), type(part)
    for f in sorted((PACKAGE / "slack").glob("*notices.py")):
        for node in nodes(f):
            if isinstance(node, ast.FunctionDef):
                assert not _stub(node), f"{f.name}: {node.name} is a stub"


def test_every_entry_point_builds_through_build_and_starts_what_it_built() -> None:
    """One composition root: serve, each CLI command, `chatops mcp`, the console (through
    the harness) and the harness call bootstrap.build() and start() what it returns (the
    harness as serve does: no process starts differently under test)."""
    entry = {
        "chatops/serve.py",
        "chatops/cli/commands/handlers.py",
        "chatops/cli/commands/mcp_stdio.py",
        "chatops/simulator/harness.py",
    }
    for name in sorted(entry):
        called = {
            n.func.id if isinstance(n.func, ast.Name) else getattr(n.func, "attr", "")
            for n in nodes(ROOT / name)
            if isinstance(n, ast.Call)
        }
        assert "build" in called and "start" in called, name
    import chatops.bootstrap as bootstrap

    public = {n for n in vars(bootstrap) if n in {"wire", "build_bot", "Bot"}}
    assert public == set(), "the old builders are gone: build() is the one way in"


def _offered(tree: ast.Module) -> set[str]:
    """A module's top-level classes, functions and constants not named with an underscore
    (type variables and the module's logger aside)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            value = ast.unparse(node.value) if node.value is not None else ""
            if value.startswith(("TypeVar(", "logging.getLogger(")):
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return {n for n in names if not n.startswith("_") and n != "log"}


def test_public_modules_say_what_they_offer_in_all() -> None:
    """The engine's modules, bootstrap, errors and settings (what the adapters and entry
    points build on) each name what they offer in `__all__`, and the list is kept whole:
    a new public class or function is added to it, a removed one taken out."""
    public = [f for f in sorted((PACKAGE / "engine").rglob("*.py")) if f.name != "__init__.py"]
    public += sorted(f for f in (PACKAGE / "bootstrap").glob("*.py") if f.name != "__init__.py")
    public += [PACKAGE / n for n in ("wiring.py", "errors.py", "settings.py")]
    wrong = {}
    for f in public:
        tree = ast.parse(f.read_text())
        declared = [
            n.value
            for node in tree.body
            if isinstance(node, ast.Assign)
            and any(getattr(t, "id", "") == "__all__" for t in node.targets)
            for n in ast.walk(node.value)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        ]
        if set(declared) != _offered(tree) or len(declared) != len(set(declared)):
            wrong[str(f.relative_to(ROOT))] = sorted(set(declared) ^ _offered(tree)) or declared
    assert len(public) > 50
    assert wrong == {}


def test_the_slack_adapter_renders_from_events_and_read_models_not_the_policy() -> None:
    """The thread and the listeners show the verdict the request recorded (RunRequested's
    refusals, the read models) and never evaluate the policy themselves."""
    for f in sorted((PACKAGE / "slack").rglob("*.py")):
        for node in nodes(f):
            if isinstance(node, ast.ImportFrom) and node.module == "chatops.engine.planning.policy":
                assert {a.name for a in node.names} <= {"Verdict"}, f


def test_no_function_is_over_80_lines() -> None:
    """Files sized by concept, functions by what they do: a registration closure or a
    builder over 80 lines is several things (split it by what each part does)."""
    long = []
    for f in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in f.parts:
            continue
        for node in nodes(f):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > 80:
                    long.append(f"{f.relative_to(ROOT)}:{node.name} ({size} lines)")
    assert long == []


def test_the_http_surface_is_assembled_once() -> None:
    """serve and the chat harness serve the same HTTP app: bootstrap.http_app assembles it
    (Slack's endpoint, the pages, the agents' endpoints), nobody else calls `asgi`."""
    callers = []
    for f in sorted(PACKAGE.rglob("*.py")):
        for node in nodes(f):
            if isinstance(node, ast.Call) and ast.unparse(node.func).split(".")[-1] == "asgi":
                callers.append(str(f.relative_to(ROOT)))
    assert callers == ["chatops/bootstrap/slack.py"]
    for entry in ("chatops/serve.py", "chatops/simulator/harness.py"):
        called = {ast.unparse(n.func) for n in nodes(ROOT / entry) if isinstance(n, ast.Call)}
        assert "http_app" in called, entry
