"""An agent's long polls (a decision; a run's next events) that hold no thread while they
wait: each awaits an event on its own loop (`Waiters.wait_async`), set when its run has news
(this process's commits at once; other processes' events by the process's one watch, a read
of the event stream every half second while anyone waits), when its agent is revoked, or at
its deadline; the store is read only then, briefly, on a thread. A slow look every `SLOW`
seconds is the fallback. `/healthz`, the run pages and Slack never queue behind a wait.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

from chatops.engine.agents.waiting import Decision, Waiters
from chatops.engine.domain.identity import Agent
from chatops.engine.domain.run import RunView
from chatops.engine.ports import Clock, EventLog, Stored
from chatops.errors import ParameterError

__all__ = ["MAX_EVENTS", "MAX_ID", "SLOW", "Gate", "LongPolls"]

SLOW = 5.0  # seconds between looks at the store while nothing woke a wait
MAX_ID = 2**62
MAX_EVENTS = 200


class Gate(Protocol):
    """What a long poll needs of the agents' gate (`AgentGate`)."""

    waiters: Waiters
    events: EventLog
    clock: Clock

    def authenticate(self, token: str) -> Agent: ...

    def _readable(self, caller: Any, run_id: int) -> RunView: ...

    def _decision(self, run_id: int) -> Decision: ...

    def _cap(self, timeout: float) -> float: ...

    def agents_now(self) -> list[Agent]: ...


class _Caller(Protocol):
    @property
    def agent(self) -> Agent: ...

    @property
    def token(self) -> str: ...


class LongPolls:
    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self._position: int | None = None

    async def decision(
        self, caller: _Caller, run_id: int, timeout: float, since: float | None = None
    ) -> Decision:
        """Until the plan is decided or `timeout` (capped by the config) after `since` (the
        request's arrival, monotonic; default now): the same answer as `AgentGate.wait`,
        never approved unless the run is; a revoked token ends it (401)."""
        g = self.gate
        deadline = (time.monotonic() if since is None else since) + g._cap(timeout)
        with g.waiters.enter(caller.agent.name):
            self._watch()
            await asyncio.to_thread(g._readable, caller, run_id)
            while True:
                decided = await asyncio.to_thread(g._decision, run_id)
                left = deadline - time.monotonic()
                if decided.final or left <= 0:
                    return decided
                await self._wait(caller, run_id, left)

    async def events(
        self, caller: _Caller, run_id: int, after: int, timeout: float, since: float | None = None
    ) -> list[Stored]:
        """The run's events after position `after`, waiting up to `timeout` (after `since`)
        for the first."""
        g = self.gate
        if not 0 <= after < MAX_ID:
            raise ParameterError(f"after must be an event position (0 to {MAX_ID - 1})")
        deadline = (time.monotonic() if since is None else since) + g._cap(timeout)
        with g.waiters.enter(caller.agent.name):
            self._watch()
            await asyncio.to_thread(g._readable, caller, run_id)
            while True:
                found = await asyncio.to_thread(g.events.of_run, run_id, after, MAX_EVENTS)
                left = deadline - time.monotonic()
                if found or left <= 0:
                    return found
                await self._wait(caller, run_id, left)

    async def _wait(self, caller: _Caller, run_id: int, left: float) -> None:
        """Until news of the run, or `left` (at most `SLOW`); woken, or at a slow look, the
        token is checked again (revoked: NotAuthenticated, a 401), not at the deadline."""
        g = self.gate
        woken = await g.waiters.wait_async(run_id, caller.agent.name, min(SLOW, left))
        if woken or left > SLOW:
            await asyncio.to_thread(g.authenticate, caller.token)

    def _watch(self) -> None:
        self.gate.waiters.watch(self._news, self._revoked)

    def _news(self) -> set[int]:
        """The runs of the events stored since the last look (by any process)."""
        events = self.gate.events
        if self._position is None:
            self._position = events.head()
            return set()
        runs: set[int] = set()
        while True:
            got = events.after(self._position, 500)
            if not got:
                return runs
            runs |= {s.event.run.id for s in got}
            self._position = got[-1].id
            if len(got) < 500:
                return runs

    def _revoked(self, waiting: set[str]) -> set[str]:
        """Of the agents waiting, those no longer active (revoked or expired)."""
        now = self.gate.clock.now()
        active = {a.name for a in self.gate.agents_now() if a.state(now) == "active"}
        return waiting - active
