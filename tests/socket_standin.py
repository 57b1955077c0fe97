"""A local stand-in for Slack's Socket Mode: a WebSocket server on loopback (aiohttp) that
says hello, sends envelopes, records the app's acks, asks for a refresh, and can go away
and come back on the same port. The Web API stand-in names it in apps.connections.open."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from typing import Any

from aiohttp import WSMsgType, web

from tests.servers import free_port

__all__ = ["SocketStandIn", "free_port"]


class SocketStandIn:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.acks: dict[str, float] = {}  # envelope id -> when the ack arrived
        self.sent: dict[str, float] = {}
        self.connections = 0  # how many times the app connected
        self._ids = itertools.count(1)
        self._live: list[web.WebSocketResponse] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link"

    # -- control ---------------------------------------------------------------------------
    def start(self) -> SocketStandIn:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            app = web.Application()
            app.router.add_get("/link", self._link)
            self._runner = web.AppRunner(app)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
            loop.run_until_complete(site.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise TimeoutError("the Socket Mode stand-in did not start")
        return self

    def stop(self) -> None:
        """Go away: every socket closed, the port no longer listening."""
        loop = self._loop
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._close_all(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        assert self._thread is not None
        self._thread.join(10)
        self._loop = None
        with self._lock:
            self._live.clear()

    async def _close_all(self, only: list[web.WebSocketResponse] | None = None) -> None:
        for ws in list(self._live if only is None else only):
            await ws.close()

    # -- the app's side --------------------------------------------------------------------
    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        with self._lock:
            self._live.append(ws)
            self.connections += 1
        hello = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0TEST"}}
        await ws.send_str(json.dumps(hello))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                data = json.loads(msg.data)
            except ValueError:
                continue
            if isinstance(data, dict) and data.get("envelope_id"):
                with self._lock:
                    self.acks[str(data["envelope_id"])] = time.monotonic()
        with self._lock:
            if ws in self._live:
                self._live.remove(ws)
        return ws

    def _send(self, message: dict[str, Any], wait: float = 5.0) -> None:
        """To the newest connection (waiting a moment for one, as Slack queues)."""
        deadline = time.monotonic() + wait
        while True:
            loop = self._loop
            with self._lock:
                live = self._live[-1] if self._live else None
            if loop is not None and live is not None:
                break
            if time.monotonic() > deadline:
                raise ConnectionError("the app is not connected")
            time.sleep(0.05)
        asyncio.run_coroutine_threadsafe(live.send_str(json.dumps(message)), loop).result(10)

    def envelope(self, kind: str, payload: dict[str, Any]) -> str:
        eid = f"env-{next(self._ids)}"
        with self._lock:
            self.sent[eid] = time.monotonic()
        self._send(
            {
                "envelope_id": eid,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return eid

    def acked_within(self, eid: str, timeout: float) -> float:
        """Seconds from sending envelope `eid` to its ack; raises if none came in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if eid in self.acks:
                    return self.acks[eid] - self.sent[eid]
            time.sleep(0.01)
        raise TimeoutError(f"envelope {eid} was not acked within {timeout} s")

    def refresh(self) -> None:
        """Slack's way of rotating a connection: a disconnect message on it, then it closes
        (the app has opened its next one meanwhile)."""
        with self._lock:
            old = list(self._live)
        self._send({"type": "disconnect", "reason": "refresh_requested", "debug_info": {}})
        loop = self._loop
        assert loop is not None
        time.sleep(0.2)
        asyncio.run_coroutine_threadsafe(self._close_all(old), loop).result(10)
