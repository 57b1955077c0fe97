"""The agents' operations are declared once (`api/operations.py`): the HTTP routes, the
OpenAPI document and the MCP tools are made from that table and agree with it."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.routing import Route

from chatops.api.http import PREFIX, Api
from chatops.api.mcp import build_server
from chatops.api.openapi import document
from chatops.api.operations import OPERATIONS, TOOLS
from chatops.engine.redact import Redactor


class NoGate:
    """Routes, the document and the tools' list are made without calling the gate."""

    config = None
    pages = None


def http_operations() -> set[tuple[str, str]]:
    return {(o.http.method, o.http.path) for o in OPERATIONS if o.http is not None}


def test_every_route_is_an_operation_of_the_table_and_every_operation_a_route() -> None:
    api = Api(NoGate(), Redactor([]))  # type: ignore[arg-type]
    routes = [r for r in api.routes() if isinstance(r, Route)]
    served = {
        (m, r.path.removeprefix(PREFIX).replace(":int}", "}"))
        for r in routes
        for m in (r.methods or ()) - {"HEAD"}
        if "{rest:path}" not in r.path and r.path not in (PREFIX, f"{PREFIX}/openapi.json")
    }
    assert served == http_operations()
    assert len(served) == 13


def test_the_document_has_every_operation_of_the_table_and_nothing_else() -> None:
    paths: dict[str, Any] = document(500)["paths"]
    documented = {
        (method.upper(), path)
        for path, ops in paths.items()
        for method in ops
        if path != "/openapi.json"
    }
    assert documented == http_operations()
    logs = paths["/services/{service}/logs"]["get"]["parameters"]
    lines = next(p for p in logs if p["name"] == "lines")
    assert lines["schema"]["maximum"] == 500  # the deployment's policy, not the table's
    assert "201" in paths["/plans"]["post"]["responses"]


def test_every_tool_is_named_and_described_by_the_table() -> None:
    server = build_server(NoGate(), Redactor([]), lambda _h: "")  # type: ignore[arg-type]
    tools = {t.name: t for t in asyncio.run(server.list_tools())}
    assert set(tools) == set(TOOLS) and len(tools) == 13
    for name, t in tools.items():
        declared = TOOLS[name]
        assert t.title == declared.title and t.description == declared.description, name
        hints = t.annotations
        assert hints is not None and hints.read_only_hint is declared.read, name
        assert hints.destructive_hint is declared.destructive, name
        assert hints.idempotent_hint is declared.idempotent, name
        assert hints.open_world_hint is False, name
