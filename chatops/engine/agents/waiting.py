"""What an agent waits for: a decision on its plan, or the next events of a run.

A decision is read from the run's state and nothing else: approved only once the run left
"awaiting approval" for the queue; a wait that runs out answers pending (or expired, if the
plan's time ran out), never approved. Waiters wake on this process's commits at once and
look at the store every `POLL` seconds for what other processes decided.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from chatops.engine.domain.events import Event
from chatops.engine.domain.run import RunState, RunView
from chatops.errors import RateLimited

__all__ = ["APPROVED_STATES", "POLL", "Decision", "Waiters", "decision_of"]

POLL = 0.5

APPROVED_STATES = frozenset(
    {
        RunState.APPROVED,
        RunState.QUEUED,
        RunState.RUNNING,
        RunState.SUCCEEDED,
        RunState.FAILED,
        RunState.ROLLED_BACK,
        RunState.INTERRUPTED,
    }
)


@dataclass(frozen=True)
class Decision:
    run: RunView
    decision: str  # approved | rejected | expired | cancelled | pending
    reason: str = ""
    approvers: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    @property
    def final(self) -> bool:
        return self.decision != "pending"


def decision_of(
    run: RunView, approvers: tuple[str, ...] = (), missing: tuple[str, ...] = ()
) -> Decision:
    """The decision a run's state shows. Anything not known to be approved is not."""
    if run.state in APPROVED_STATES:
        return Decision(run, "approved", approvers=approvers)
    if run.state == RunState.REJECTED:
        return Decision(run, "rejected", run.error or "rejected")
    if run.state == RunState.EXPIRED:
        return Decision(run, "expired", "nobody approved it in time")
    if run.state == RunState.CANCELLED:
        return Decision(run, "cancelled", run.error or "cancelled")
    return Decision(run, "pending", approvers=approvers, missing=missing)


class Waiters:
    """Wakes waiting agents. A sync waiter (`wait`) sleeps on a condition any commit of this
    process wakes. An async waiter (`wait_async`, the API's long polls and MCP's waits) holds
    no thread: it awaits an event on its loop, set when its run has news (this process's
    commits, or another process's events seen by the watch: `watch`), when its agent is
    revoked, or at its timeout. At most `per_agent` waits of one agent at once (`enter`)."""

    def __init__(self, per_agent: int = 64) -> None:
        self._cond = threading.Condition()
        self._generation = 0
        self.per_agent = per_agent
        self._lock = threading.Lock()
        # run id -> the async waiters on it: (their loop, their event, their agent)
        self._waiting: dict[int, set[tuple[asyncio.AbstractEventLoop, asyncio.Event, str]]] = {}
        self._agents: dict[str, int] = {}  # agent -> waits in progress
        self._watch: threading.Thread | None = None

    def publish(self, event: Event) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()
        self.wake_runs({event.run.id})

    @property
    def generation(self) -> int:
        with self._cond:
            return self._generation

    def wait(self, seen: int, timeout: float) -> int:
        """Sleep until something was committed after generation `seen`, or `timeout`."""
        with self._cond:
            if self._generation == seen:
                self._cond.wait(timeout)
            return self._generation

    # -- async waits: no thread held -------------------------------------------------------
    @contextlib.contextmanager
    def enter(self, agent: str) -> Iterator[None]:
        """One wait of `agent`, counted; past `per_agent` at once, RateLimited (429)."""
        with self._lock:
            if self._agents.get(agent, 0) >= self.per_agent:
                raise RateLimited(
                    5.0, f"{agent} has {self.per_agent} waits open at once (the most)"
                )
            self._agents[agent] = self._agents.get(agent, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._agents[agent] -= 1
                if not self._agents[agent]:
                    del self._agents[agent]

    async def wait_async(self, run_id: int, agent: str, timeout: float) -> bool:
        """Until run `run_id` has news, `agent` is revoked, or `timeout`: True if woken."""
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()
        me = (loop, woken, agent)
        with self._lock:
            self._waiting.setdefault(run_id, set()).add(me)
        try:
            await asyncio.wait_for(woken.wait(), max(0.0, timeout))
            return True
        except TimeoutError:
            return False
        finally:
            with self._lock:
                mine = self._waiting.get(run_id)
                if mine is not None:
                    mine.discard(me)
                    if not mine:
                        del self._waiting[run_id]

    def wake_runs(self, run_ids: set[int]) -> None:
        """Wake the async waiters of these runs (from any thread)."""
        with self._lock:
            found = [w for r in run_ids for w in self._waiting.get(r, ())]
        for loop, woken, _agent in found:
            _set(loop, woken)

    def wake_agents(self, agents: set[str]) -> None:
        """Wake every async waiter of these agents (revoked: they look and end with 401)."""
        with self._lock:
            found = [w for ws in self._waiting.values() for w in ws if w[2] in agents]
        for loop, woken, _agent in found:
            _set(loop, woken)

    @property
    def agents_waiting(self) -> set[str]:
        with self._lock:
            return set(self._agents)

    @property
    def waits(self) -> int:
        with self._lock:
            return sum(self._agents.values())

    def watch(
        self,
        runs_with_news: Callable[[], set[int]],
        revoked: Callable[[set[str]], set[str]],
        every: float = POLL,
    ) -> None:
        """Once per process: a thread that, while anyone waits, looks every `every` seconds
        for other processes' news (one read of the event stream after its position, one
        read of the agents waiting) and wakes whom it concerns. A waiter waits on an event,
        never on a thread of its own."""
        with self._lock:
            if self._watch is not None:
                return

            def loop() -> None:
                while True:
                    time.sleep(every)
                    try:
                        news = runs_with_news()  # advances its position even when nobody waits
                        if news:
                            self.wake_runs(news)
                        waiting = self.agents_waiting
                        if waiting:
                            gone = revoked(waiting)
                            if gone:
                                self.wake_agents(gone)
                    except Exception:  # noqa: S112 - the store away: the next look
                        continue

            self._watch = threading.Thread(target=loop, name="chatops-waits", daemon=True)
            self._watch.start()


def _set(loop: asyncio.AbstractEventLoop, woken: asyncio.Event) -> None:
    with contextlib.suppress(RuntimeError):  # its loop is closed: the waiter is gone
        loop.call_soon_threadsafe(woken.set)
