"""A chat harness on a service whose hosts are this machine, with runbooks of the test's
own, and a page fetched from it as a browser would: what the tests of the web pages and
of the approval clock share."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from chatops.engine.ports import Clock
from chatops.simulator.harness import ChatHarness
from tests.apps import ROOMY, make_app, service_config


@contextmanager
def local_harness(
    tmp_path: Path, runbooks: dict[str, str], clock: Clock | None = None, **config: Any
) -> Iterator[ChatHarness]:
    """The app on service `web` (one local host), `runbooks` by file name, `config` added."""
    app = make_app(tmp_path / "app")
    cfg = service_config(app, "http://127.0.0.1:9/health", [{"name": "h1", "transport": "local"}])
    cfg.update(config)
    path = tmp_path / "chatops.yml"
    path.write_text(yaml.safe_dump(cfg))
    commands = tmp_path / "commands"
    commands.mkdir()
    for name, text in runbooks.items():
        (commands / name).write_text(text)
    with ChatHarness(
        config=path,
        commands=commands,
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        clock=clock,
        throttle=0.05,
        slack_limits=ROOMY,
    ) as h:
        yield h


def fetch(
    slack: ChatHarness, path: str, accept: str = "text/html"
) -> tuple[int, str, dict[str, str]]:
    """A page of the app: its status, body and headers (an error status is an answer too)."""
    req = urllib.request.Request(slack.url + path, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode(), dict(resp.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)
