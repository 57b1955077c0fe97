"""The Web API client chatops posts through: everything it sends is redacted first, and
every call is counted for /metrics."""

from __future__ import annotations

from typing import Any

from chatops.engine.redact import Redactor
from chatops.metrics import CountingWebClient

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
    """Redacts configured secrets and token patterns from all text and blocks it sends."""

    def __init__(self, *args: Any, redactor: Redactor | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.redactor = redactor or Redactor()

    def api_call(self, api_method: str, **kwargs: Any) -> Any:
        for part in ("json", "data", "params"):
            if isinstance(kwargs.get(part), dict):
                kwargs[part] = scrub(kwargs[part], self.redactor)
        return super().api_call(api_method, **kwargs)

    def files_upload_v2(self, **kwargs: Any) -> Any:
        if isinstance(kwargs.get("content"), str):
            kwargs["content"] = self.redactor(kwargs["content"])
        for key in ("title", "initial_comment"):
            if isinstance(kwargs.get(key), str):
                kwargs[key] = self.redactor(kwargs[key])
        return super().files_upload_v2(**kwargs)
