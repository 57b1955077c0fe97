"""A chat harness in the spirit of errbot's testbot: the real app in HTTP mode, talked to
with requests signed exactly as Slack signs them, answering through the Web API stand-in.

    with ChatHarness(config=..., commands=...) as slack:
        slack.command("/change", "deploy web ref=v2", user="U_CODER")
        slack.click("chatops.approve", user="U_LEAD")
        slack.settle()
        slack.thread(slack.plans()[-1])
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import uvicorn

from chatops.bootstrap import build, http_app
from chatops.engine.ports import Clock, Executor, HttpGetter
from chatops.settings import Settings
from chatops.simulator.slack_sim import (
    BOT_TOKEN,
    SIGNING_SECRET,
    RemoteSlack,
    SlackSim,
    bound,
    sign,
)
from chatops.simulator.standin import SlackStandIn
from chatops.slack.transport.limits import bounded

__all__ = ["BOT_TOKEN", "QUIET", "SIGNING_SECRET", "ChatHarness", "RemoteSlack", "SlackSim", "sign"]

#: How long the app must have nothing in hand (no task, no event unhandled, no update
#: unsent, no early-acked request) before `settle` returns: each of those is counted from
#: the moment it exists, so this only bridges a hand-over between two of them.
QUIET = 0.15


class ChatHarness(SlackSim):
    def __init__(
        self,
        *,
        config: Path,
        commands: Path,
        database_url: str,
        channel: str = "C0CHANGES",
        clock: Clock | None = None,
        executors: dict[str, Executor] | None = None,
        http: HttpGetter | None = None,
        groups: dict[str, list[str]] | None = None,
        throttle: float = 1.0,
        scheduler: bool = False,
        standin: SlackStandIn | None = None,
        slack_limits: str = "",
        agents: bool = True,
        sweep: bool = False,
    ) -> None:
        """`agents`: serve the agents' endpoints (`/api/v1`, `/mcp`) beside Slack's, as
        `chatops serve` does (the console has no agents: it goes without, and starts
        sooner). `sweep`: sweep in the background as serve does (the console: scheduled
        starts start, stale requests expire); a test otherwise sweeps when it means to."""
        self._own_standin = standin is None
        self._begin(standin or SlackStandIn(groups=groups).start(), channel)
        self._socket = bound()
        self.port = int(self._socket.getsockname()[1])
        self.settings = Settings(
            config=config,
            commands=commands,
            database_url=database_url,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=self.standin.api_url,
            slack_limits=slack_limits,
            public_url=f"http://127.0.0.1:{self.port}",
        )
        self.bot = build(
            self.settings,
            slack=True,
            clock=clock,
            executors=executors,
            http=http,
            throttle_every=throttle,
            scheduler=scheduler,
            scheduler_retry=0.5,
        )
        assert self.bot.app is not None and self.bot.services is not None  # a Slack process
        self.app, self.services, self.wired = self.bot.app, self.bot.services, self.bot.wired
        self.sweeper = self.bot.sweeper
        self.desk = self.services.notifier.desk
        self.scheduler = self.bot.scheduler
        self.bot.start(sweep=sweep)  # as serve starts it
        self._api = http_app(self.bot, agents=agents)  # as serve serves it
        server_config = uvicorn.Config(
            **bounded(self._api, self.settings.max_body, self.settings.header_timeout),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
        )
        self.server = uvicorn.Server(server_config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise TimeoutError("the app did not start")
            time.sleep(0.02)

    def __enter__(self) -> ChatHarness:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self, keep_standin: bool = False, drain: bool = True) -> None:
        """Stop the app (and the stand-in it started, unless kept for a restart), after what
        it has left to say unless `drain` is false (a stop as serve's, mid-work)."""
        if drain:
            self.settle(timeout=30, strict=False)
        self.server.should_exit = True
        self._thread.join(timeout=10)
        self.bot.stop(drain=10.0 if drain else 0.0)
        if self._own_standin and not keep_standin:
            self.standin.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settle(self, timeout: float = 60, strict: bool = True) -> None:
        """Wait until the app has nothing left to do (workers idle, no pending updates)."""
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            busy = self.services.busy or self._api.state.early.pending
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > QUIET:
                return
            time.sleep(0.05)
        if strict:
            raise TimeoutError(f"the app is still busy after {timeout:g} s: {self.busy_with()}")

    def busy_with(self) -> str:
        """What keeps the app busy, said for a test that waited too long."""
        parts = [
            f"the {f.name} feed (at {f.position}, stalled {f.stalled_for:.0f} s)"
            for f in self.wired.feeds
            if f.pending
        ]
        if self.services.workers.busy:
            parts.append("a listener's task")
        if self._api.state.early.pending:
            parts.append("a request acked early")
        if not parts and self.services.busy:
            parts.append("Slack updates waiting their turn")
        return ", ".join(parts) or "nothing now"
