"""The Web API client chatops posts through: everything it sends is redacted first, every
call spends a token of the workspace's Slack budget (`budget.py`) at its thread's priority,
a 429 pauses the method for everyone and the call waits its turn again, and every call is
counted for /metrics."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

from slack_sdk.errors import SlackApiError

from chatops.engine.redact import Redactor
from chatops.metrics import SLACK_429, CountingWebClient
from chatops.slack.budget import Priority, SlackBudget

#: How long a call waits for its turn, by priority. A person waiting (a view's trigger_id
#: lives 3 s) is not kept longer; the rest raise `OverBudget`, which the thread's feed
#: retries as it retries Slack being down: never skipped.
PATIENCE = {p: 3.0 if p is Priority.NOW else 30.0 for p in Priority}


class OverBudget(Exception):
    """No token within the caller's patience: Slack's limit, met or announced by a 429."""

    quiet = True  # an expected wait, not a failure
    transient = True

    def __init__(self, method: str, waited: float) -> None:
        super().__init__(f"{method}: no turn within {waited:.0f} s (Slack's rate limit)")
        self.method = method


#: Keys whose string values are never text a person reads (ids, button values, hashes).
KEEP = frozenset(
    {
        "value",
        "action_id",
        "block_id",
        "callback_id",
        "type",
        "channel",
        "ts",
        "thread_ts",
        "user",
        "user_id",
        "view_id",
        "hash",
        "trigger_id",
        "url",
        "private_metadata",
        "initial_value",
        "style",
        "emoji",
    }
)


def scrub(value: Any, redact: Redactor, key: str = "") -> Any:
    if isinstance(value, str):
        return value if key in KEEP else redact(value)
    if isinstance(value, dict):
        return {k: scrub(v, redact, k) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, redact, key) for v in value]
    return value


class SafeWebClient(CountingWebClient):
    """Redacts configured secrets and token patterns from all text and blocks it sends, and
    keeps to the workspace's Slack budget."""

    def __init__(
        self,
        *args: Any,
        redactor: Redactor | None = None,
        budget: SlackBudget | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.redactor = redactor or Redactor()
        self.budget = budget or SlackBudget()
        self._local = threading.local()

    @contextlib.contextmanager
    def paid(self) -> Iterator[None]:
        """The first call on this thread inside the block has its token already (taken by
        whoever decided the call may go now)."""
        self._local.prepaid = True
        try:
            yield
        finally:
            self._local.prepaid = False

    def api_call(self, api_method: str, **kwargs: Any) -> Any:
        channel = None
        for part in ("json", "data", "params"):
            if isinstance(kwargs.get(part), dict):
                kwargs[part] = scrub(kwargs[part], self.redactor)
                channel = channel or kwargs[part].get("channel")
        patience = PATIENCE[self.budget.priority]
        deadline = time.monotonic() + patience
        paid = bool(getattr(self._local, "prepaid", False))
        self._local.prepaid = False
        while True:
            left = deadline - time.monotonic()
            if not paid and (
                left <= 0 or not self.budget.acquire(api_method, channel, timeout=left)
            ):
                raise OverBudget(api_method, patience)
            paid = False
            try:
                return super().api_call(api_method, **kwargs)
            except SlackApiError as e:
                if e.response.status_code != 429:
                    raise
                SLACK_429.inc()
                self.budget.pause(api_method, retry_after(e), channel)

    def files_upload_v2(self, **kwargs: Any) -> Any:
        if isinstance(kwargs.get("content"), str):
            kwargs["content"] = self.redactor(kwargs["content"])
        for key in ("title", "initial_comment"):
            if isinstance(kwargs.get(key), str):
                kwargs[key] = self.redactor(kwargs[key])
        return super().files_upload_v2(**kwargs)


def retry_after(e: SlackApiError) -> float:
    headers = {k.lower(): v for k, v in (e.response.headers or {}).items()}
    value = headers.get("retry-after", 1)
    if isinstance(value, list):
        value = value[0] if value else 1
    try:
        return max(float(value), 1.0)
    except (TypeError, ValueError):
        return 1.0
