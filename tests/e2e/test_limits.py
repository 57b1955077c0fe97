"""Nothing unbounded before authentication, against a real `chatops serve --http`: a body
over the limit is refused with 413 before it is read (by its Content-Length, and while it
streams chunked), on every route, and serve does not grow for it; a client whose headers
dribble in is cut off after the header timeout; what was accepted before still works."""

from __future__ import annotations

import socket
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serve_process import Serve, sqlite_serve

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    with sqlite_serve(tmp_path_factory.mktemp("limits"), CHATOPS_HEADER_TIMEOUT="2") as (
        server,
        _path,
        _env,
    ):
        yield server


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def exchange(port: int, head: bytes, body: Iterator[bytes] = iter(()), wait: float = 30) -> bytes:
    """Send `head`, then `body` while the server reads; what it answered (until it closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(head)
        try:
            for chunk in body:
                s.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused mid-way: the server stopped reading, as it should
        got = b""
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    break
                got += data
        except (ConnectionResetError, TimeoutError):
            pass
    return got


def healthy(port: int) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
        assert r.status == 200


@pytest.mark.parametrize("path", ["/slack/events", "/api/v1/plans", "/mcp", "/runs/1"])
def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(
    serve: Serve, path: str
) -> None:
    assert serve.proc is not None
    before = rss_kib(serve.proc.pid)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {300 * MIB}\r\n\r\n"
    ).encode()
    started = time.monotonic()
    answer = exchange(serve.port, head, (b"x" * MIB for _ in range(4)))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"over 1048576 bytes" in answer
    assert time.monotonic() - started < 20
    assert rss_kib(serve.proc.pid) - before < 20 * 1024  # nothing of it was kept
    healthy(serve.port)


def test_a_chunked_body_is_cut_at_the_limit_while_it_streams(serve: Serve) -> None:
    assert serve.proc is not None
    before = rss_kib(serve.proc.pid)
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"x" * (256 * 1024)
    body = (b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(200))  # 50 MiB offered
    answer = exchange(serve.port, head, body)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert rss_kib(serve.proc.pid) - before < 20 * 1024
    healthy(serve.port)


def test_headers_that_dribble_in_are_cut_off(serve: Serve) -> None:
    """Fifty slow clients: each is closed after the header timeout (2 s here; 10 s by
    default), with 408, and /healthz answers meanwhile."""
    socks = []
    for _ in range(50):
        s = socket.create_connection(("127.0.0.1", serve.port), timeout=30)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        socks.append(s)
    healthy(serve.port)
    started = time.monotonic()
    try:
        for s in socks:
            got = b""
            while True:
                data = s.recv(4096)
                if not data:
                    break
                got += data
            assert got.startswith(b"HTTP/1.1 408"), got
            assert got.endswith(b"the request's headers took over 2 s\n")  # a one-line reason
    finally:
        for s in socks:
            s.close()
    assert time.monotonic() - started < 20  # all closed by the server, none held for long


def test_a_request_within_the_bounds_is_served(serve: Serve) -> None:
    head = b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    body = b'{"type": "url_verification"}'
    answer = exchange(serve.port, head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]  # unsigned: refused, not 413


def test_a_flood_of_bad_links_writes_a_few_rows_not_one_each(serve: Serve, tmp_path: Path) -> None:
    """300 unauthenticated page requests from one address: the first few refused with 403
    and on record, the rest 429 with Retry-After and not written to the audit chain."""
    statuses: list[int] = []
    retry: set[str] = set()
    for _ in range(300):
        req = urllib.request.Request(f"http://127.0.0.1:{serve.port}/insights?t=garbage")
        try:
            urllib.request.urlopen(req, timeout=10)
            statuses.append(200)
        except urllib.error.HTTPError as e:
            statuses.append(e.code)
            if e.code == 429:
                retry.add(e.headers.get("retry-after", ""))
    assert statuses[:10] == [403] * 10 and set(statuses[10:]) == {429}
    assert retry and all(r.isdigit() and int(r) >= 1 for r in retry)
    db = Path(serve.env["CHATOPS_DATABASE_URL"].removeprefix("sqlite:///"))
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT COUNT(*) FROM audit_events WHERE action = 'denied.insights'")
        assert rows.fetchone()[0] <= 11  # ten, and at most one summary
