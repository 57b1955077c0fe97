"""How Socket Mode is doing, for `/healthz` and `/metrics`: whether the WebSocket is up,
since when it is down, how often it came back, when the last envelope arrived.

The SDK's client reconnects by itself (on a `disconnect` message, a closed socket, a failed
ping); this watches it from outside: a thread looks at the connection every `poll` seconds
and every message the client receives is noted.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from chatops.metrics import REGISTRY

RECONNECTS = Counter(
    "chatops_socket_reconnects_total",
    "Socket Mode connections made again after the first",
    registry=REGISTRY,
)


class SocketClient(Protocol):
    on_message_listeners: list[Callable[[str], None]]

    def is_connected(self) -> bool: ...

    def session_id(self) -> str | None: ...


class SocketHealth(Collector):
    def __init__(
        self,
        client: SocketClient,
        grace: float = 60.0,
        poll: float = 0.5,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.grace = grace
        self.poll = poll
        self.now = now
        self._lock = threading.Lock()
        self._down_since: float | None = now()  # not connected yet
        self._sessions: list[str] = []
        self._last_envelope: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="chatops-socket", daemon=True)
        client.on_message_listeners.append(self._on_message)

    def start(self) -> SocketHealth:
        self._thread.start()
        REGISTRY.register(self)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with contextlib.suppress(KeyError):  # stopped twice
            REGISTRY.unregister(self)

    def _on_message(self, raw: str) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            return
        if isinstance(message, dict) and message.get("envelope_id"):
            with self._lock:
                self._last_envelope = self.now()

    def _watch(self) -> None:
        while not self._stop.wait(self.poll):
            self.look()

    def look(self) -> None:
        """Note whether the socket is up, and whether it is a new session."""
        up = self.client.is_connected()
        session = self.client.session_id() if up else None
        with self._lock:
            if up:
                self._down_since = None
                if session and session not in self._sessions:
                    if self._sessions:
                        RECONNECTS.inc()
                    self._sessions = [*self._sessions[-9:], session]
            elif self._down_since is None:
                self._down_since = self.now()

    def report(self) -> tuple[bool, dict[str, object]]:
        """Healthy, and what `/healthz` says about Slack."""
        self.look()
        now = self.now()
        with self._lock:
            down = None if self._down_since is None else now - self._down_since
            last = None if self._last_envelope is None else round(now - self._last_envelope, 1)
            sessions = len(self._sessions)
        state: dict[str, object] = {
            "slack": "connected" if down is None else f"disconnected for {down:.0f} s",
            "reconnects": max(0, sessions - 1),
            "seconds_since_envelope": last,
        }
        healthy = down is None or down < self.grace
        if not healthy:
            state["reason"] = (
                f"the Socket Mode connection has been down for {down:.0f} s "
                f"(more than {self.grace:g} s)"
            )
        return healthy, state

    def collect(self) -> Iterator[GaugeMetricFamily]:
        _ok, state = self.report()
        up = GaugeMetricFamily("chatops_socket_connected", "1 while the WebSocket is up")
        up.add_metric([], 1.0 if state["slack"] == "connected" else 0.0)
        yield up
        since = state["seconds_since_envelope"]
        if since is not None:
            g = GaugeMetricFamily(
                "chatops_socket_seconds_since_envelope", "Seconds since the last envelope"
            )
            g.add_metric([], float(since))  # type: ignore[arg-type]
            yield g


def combined(health: Callable[[], dict[str, object]], socket: SocketHealth) -> dict[str, Any]:
    """The bot's health with the socket's: degraded when either is."""
    state = dict(health())
    ok, slack = socket.report()
    state.update(slack)
    if not ok:
        state["status"] = "degraded"
    return state
