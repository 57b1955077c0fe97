"""The app's own worker pools: listeners ack at once and hand work here.

bolt's default listener pool has 5 threads; long SSH runs would starve it, so runs get a
pool of their own and short tasks (posting a plan, recording an approval) another. Every
task that fails tells the user: a known error as itself, anything else with an error id
that is also in the logs.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from chatops.errors import ChatopsError
from chatops.slack.transport.inbox import Completion
from chatops.slack.views.blocks import escape_message

log = logging.getLogger(__name__)
Tell = Callable[[str], None]


def explain(error: BaseException) -> str:
    """The message a user sees for an error; unexpected ones get an id logged with them."""
    if isinstance(error, ChatopsError):  # it may quote what someone typed: shown inert
        return f":warning: {escape_message(str(error))}"
    error_id = uuid.uuid4().hex[:8]
    log.error("unexpected error %s", error_id, exc_info=error, extra={"error_id": error_id})
    return (
        f":boom: Something went wrong on our side (error id `{error_id}`). "
        "It is logged; tell the bot's operators."
    )


class Workers:
    def __init__(self, tasks: int = 8, runs: int = 8, completion: Completion | None = None) -> None:
        self.completion = completion  # a stored request's work: its tasks count toward it
        self.tasks = ThreadPoolExecutor(max_workers=tasks, thread_name_prefix="chatops-task")
        # what cannot wait behind a flood of ordinary requests: a hotfix, on-call's reads,
        # people's clicks (a lead's decision)
        self.urgent = ThreadPoolExecutor(max_workers=2, thread_name_prefix="chatops-urgent")
        self.runs = ThreadPoolExecutor(max_workers=runs, thread_name_prefix="chatops-run")
        self._pending = 0
        self._lock = threading.Lock()

    def task(self, fn: Callable[[], object], tell: Tell, urgent: bool = False) -> Future[None]:
        """A listener's work; `urgent` work has threads of its own, never queued behind the
        ordinary requests."""
        pool = self.urgent if urgent else self.tasks
        return self._submit(pool, fn, tell, part_of_request=True)

    def run(self, fn: Callable[[], object]) -> Future[None]:
        """A run: not part of the request that started it (a run survives its process as a
        stored state, and is recovered as one)."""
        return self._submit(self.runs, fn, lambda _m: None)

    def _submit(
        self,
        pool: ThreadPoolExecutor,
        fn: Callable[[], object],
        tell: Tell,
        part_of_request: bool = False,
    ) -> Future[None]:
        with self._lock:
            self._pending += 1
        track = part_of_request and self.completion is not None
        part = self.completion.spawn() if track and self.completion is not None else None
        if part is not None:  # this task is part of the request being handled now
            fn = part(fn)
        future = pool.submit(self._guard, fn, tell)
        future.add_done_callback(self._done)
        return future

    def _done(self, _f: Future[None]) -> None:
        with self._lock:
            self._pending -= 1

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._pending > 0

    @staticmethod
    def _guard(fn: Callable[[], object], tell: Tell) -> None:
        try:
            fn()
        except Exception as e:  # every failure reaches the user, never a stack trace
            message = explain(e)
            try:
                tell(message)
            except Exception:
                log.exception("could not tell the user about an error")

    def shutdown(self) -> None:
        self.urgent.shutdown(wait=True, cancel_futures=False)
        self.tasks.shutdown(wait=True, cancel_futures=False)
        self.runs.shutdown(wait=True, cancel_futures=False)
