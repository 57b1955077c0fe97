"""Redaction of configured secrets and token patterns, also across chunk boundaries."""

from __future__ import annotations

import threading

from chatops.engine.planning.inventory import Host
from chatops.engine.redact import MASK, Redactor, StreamRedactor
from chatops.executors.local import LocalExecutor


def test_token_patterns() -> None:
    r = Redactor()
    samples = [
        "xoxb-123456789012-abcdefghijklmnop",
        "xapp-1-A0123456789-abcdef0123",
        "ghp_" + "a" * 36,
        "AKIAABCDEFGHIJKLMNOP",
        "Bearer abcdefghijklmnopqrstuvwxyz",
        "postgres://app:s3cr3t@db/app",
        "PASSWORD=hunter22",
        "token=abc123def",
    ]
    for s in samples:
        out = r(f"before {s} after")
        assert MASK in out and out.startswith("before") and out.endswith("after"), out
    assert "s3cr3t" not in r("postgres://app:s3cr3t@db/app")
    assert r("nothing secret here") == "nothing secret here"


def test_private_key_block() -> None:
    text = (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----\n"
    )
    assert "b3BlbnNzaC1rZXk" not in Redactor()(text)


def test_configured_secret_split_across_chunks() -> None:
    s = StreamRedactor(Redactor(["correct-horse-battery"]))
    out = s.feed("pass is correct-hor") + s.feed("se-battery\nnext") + s.flush()
    assert "correct-horse-battery" not in out and out == f"pass is {MASK}\nnext"


def test_local_executor_redacts_and_kills_the_group_on_timeout(tmp_path) -> None:  # type: ignore[no-untyped-def]
    chunks: list[str] = []
    local = Host(name="local", transport="local")
    r = LocalExecutor(Redactor(["s3cret-value"])).run(
        local, "echo the s3cret-value; echo done", timeout=10, on_output=chunks.append
    )
    assert r.ok and "s3cret-value" not in "".join(chunks) and "done" in r.tail
    marker = tmp_path / "late"
    r = LocalExecutor(kill_grace=1).run(
        local, f"(sleep 3; touch {marker}) & sleep 30", timeout=1, on_output=lambda _c: None
    )
    assert r.outcome == "timeout"
    threading.Event().wait(4)
    assert not marker.exists()
