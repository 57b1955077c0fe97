"""A request Slack saw acknowledged is never lost: stored before the 200, handled after,
marked handled once the work it started has finished, dispatched again if the process died
first (see `store/inbox.py`).

`Completion` follows one request's work across threads: the dispatch that bolt runs, and
every task a listener hands to the app's workers while it does (and the tasks those start).
When the last of them ends, the request is marked handled. A request handed over again
after a crash skips the click dedupe (`replaying`): its first attempt may have recorded the
click and died before the work.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from datetime import datetime, timedelta
from typing import Any, Protocol

log = logging.getLogger(__name__)

REPLAY_WITHIN = timedelta(hours=1)  # older requests are not handled again: people moved on
SOCKET_MODE = "application/x-slack-socket-mode"  # a Socket Mode envelope's payload, as JSON


class InboxStore(Protocol):
    def add_soon(
        self, key: str, content_type: str, body: bytes, holder: str, now: Callable[[], datetime]
    ) -> Future[int | None]: ...

    def close(self) -> None: ...

    def handled(self, inbox_id: int, now: datetime) -> None: ...

    def unhandled(self, limit: int = 100) -> list[Any]: ...

    def claim(self, item: Any, holder: str) -> bool: ...


def key_of(data: Mapping[str, Any]) -> str | None:
    """Slack's own id for a request that is acked before it is handled."""
    if "command" in data:
        trigger = data.get("trigger_id")
        user = data.get("user_id", "")
        return f"command:{trigger}:{user}:{data.get('command')}" if trigger else None
    kind = data.get("type")
    if kind == "event_callback":
        event_id = data.get("event_id")
        return f"event:{event_id}" if event_id else None
    if kind == "block_actions":
        action = (data.get("actions") or [{}])[0]
        user = (data.get("user") or {}).get("id", "")
        value = hashlib.sha256(str(action.get("value", "")).encode()).hexdigest()[:16]
        return (
            f"click:{data.get('trigger_id', '')}:{user}:{action.get('action_id', '')}:"
            f"{action.get('action_ts', '')}:{value}"
        )
    return None


class Completion:
    """Counts the open parts of each request's work; the last part to end marks it handled."""

    def __init__(self, done: Callable[[int], None]) -> None:
        self._done = done
        self._open: dict[int, int] = {}
        self._lock = threading.Lock()
        self._local = threading.local()

    @property
    def current(self) -> int | None:
        value: int | None = getattr(self._local, "id", None)
        return value

    @property
    def replaying(self) -> bool:
        return bool(getattr(self._local, "replaying", False))

    def run(self, inbox_id: int, fn: Callable[[], object], replaying: bool = False) -> None:
        """Run `fn` (the dispatch) as the first part of the request's work."""
        with self._lock:
            self._open[inbox_id] = self._open.get(inbox_id, 0) + 1
        self._within(inbox_id, fn, replaying)

    def spawn(self) -> Callable[[Callable[[], object]], Callable[[], object]] | None:
        """For a task started now: a wrapper that counts it as part of the current request."""
        inbox_id = self.current
        if inbox_id is None:
            return None
        replaying = self.replaying
        with self._lock:
            self._open[inbox_id] = self._open.get(inbox_id, 0) + 1

        def wrap(fn: Callable[[], object]) -> Callable[[], object]:
            return lambda: self._within(inbox_id, fn, replaying)

        return wrap

    def _within(self, inbox_id: int, fn: Callable[[], object], replaying: bool) -> None:
        before = self.current, self.replaying
        self._local.id, self._local.replaying = inbox_id, replaying
        try:
            fn()
        finally:
            self._local.id, self._local.replaying = before
            self._end(inbox_id)

    def _end(self, inbox_id: int) -> None:
        with self._lock:
            left = self._open.get(inbox_id, 1) - 1
            if left > 0:
                self._open[inbox_id] = left
                return
            self._open.pop(inbox_id, None)
        try:
            self._done(inbox_id)
        except Exception:  # it stays unhandled: a later process handles it again, once more
            log.warning("could not mark request %s handled", inbox_id, exc_info=True)


def resign(secret: str, body: bytes, content_type: str) -> dict[str, str]:
    """Headers for a stored request handed to bolt again: signed now with our own secret
    (it was verified when it arrived; bolt refuses a signature older than five minutes)."""
    stamp = str(int(time.time()))
    base = b"v0:" + stamp.encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": stamp,
        "x-slack-signature": signature,
    }


class Stored(Protocol):
    id: int
    content_type: str
    body: bytes
    received_at: datetime
    holder: str | None
    attempts: int


class Inbox:
    """The fast ack's store and what follows it: `accept` before the 200, `Completion` marks
    the request handled, `replay` dispatches what a dead process left."""

    def __init__(
        self,
        store: InboxStore,
        holder: str,
        now: Callable[[], datetime],
        signing_secret: str,
        is_dead: Callable[[str | None, datetime], bool],
        max_attempts: int = 3,
    ) -> None:
        self.store = store
        self.holder = holder
        self.now = now
        self.secret = signing_secret
        self.is_dead = is_dead
        self.max_attempts = max_attempts
        self.completion = Completion(lambda inbox_id: store.handled(inbox_id, now()))

    def accept_soon(self, key: str, content_type: str, body: bytes) -> Future[int | None]:
        """Store the request before it is acknowledged, with whatever else arrived meanwhile
        (one transaction): its id, or None if Slack sent it before (an event's retry). The
        future fails if the store cannot take it: then no 200."""
        return self.store.add_soon(key, content_type, body, self.holder, self.now)

    def accept(self, key: str, content_type: str, body: bytes) -> int | None:
        return self.accept_soon(key, content_type, body).result()

    def close(self) -> None:
        self.store.close()

    def replay(self, dispatch: Callable[[bytes, dict[str, str]], object]) -> list[int]:
        """Dispatch again the requests that dead processes acknowledged and did not handle."""
        done = []
        for item in self.store.unhandled():
            if item.holder == self.holder or not self.is_dead(item.holder, item.received_at):
                continue
            if not self.store.claim(item, self.holder):
                continue  # another process took it
            if self.now() - item.received_at > REPLAY_WITHIN or item.attempts >= self.max_attempts:
                log.error(
                    "request %s (%s) was acknowledged but never handled; too old or tried %d "
                    "times: dropped",
                    item.id,
                    item.content_type,
                    item.attempts,
                )
                self.store.handled(item.id, self.now())
                continue
            log.warning("handling request %s again: the process that acked it died", item.id)
            if item.content_type == SOCKET_MODE:
                headers = {"content-type": SOCKET_MODE}  # no signature: it came over the socket
            elif self.secret:
                headers = resign(self.secret, item.body, item.content_type)
            else:
                continue  # an HTTP request, and no secret here to hand it to bolt with
            again = functools.partial(dispatch, item.body, headers)
            self.completion.run(item.id, again, replaying=True)
            done.append(item.id)
        return done


def bolt_request(body: bytes, headers: dict[str, str]) -> Any:
    """A stored request as bolt reads it (a Socket Mode payload as one from the socket)."""
    import json

    from slack_bolt import BoltRequest

    if headers.get("content-type") == SOCKET_MODE:
        return BoltRequest(mode="socket_mode", body=json.loads(body))
    return BoltRequest(body=body.decode("utf-8"), headers={k: [v] for k, v in headers.items()})
