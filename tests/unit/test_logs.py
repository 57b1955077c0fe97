"""What the process logs: paramiko's line-by-line tracebacks of failed connections only
when debugging (the executor reports each failure with its host and cause)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from chatops import logs
from chatops.engine.redact import Redactor


@pytest.fixture(autouse=True)
def restored() -> Iterator[None]:
    root, paramiko = logging.getLogger(), logging.getLogger("paramiko")
    handlers, level, own = root.handlers[:], root.level, paramiko.level
    yield
    root.handlers[:], root.level = handlers, level
    paramiko.setLevel(own)


def said(capsys: pytest.CaptureFixture[str]) -> str:
    logging.getLogger("paramiko.transport").error("Exception (client): Error reading SSH banner")
    logging.getLogger("chatops.executors.ssh").warning("box-1: no SSH banner within 1 s")
    return capsys.readouterr().err


def test_paramikos_failed_connections_are_left_to_the_executor(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.configure("text", None, Redactor())
    err = said(capsys)
    assert "no SSH banner within 1 s" in err and "Error reading SSH banner" not in err


def test_with_debug_paramiko_says_everything(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("text", "debug", Redactor())
    err = said(capsys)
    assert "no SSH banner within 1 s" in err and "Error reading SSH banner" in err
