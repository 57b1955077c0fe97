"""Check steps: an HTTP health check made by the bot, or a command whose output must match."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

from chatops.engine.domain.result import CommandResult
from chatops.engine.planning.plan import HttpCheck
from chatops.engine.ports import HttpGetter

__all__ = ["http_check", "judge", "output_matches"]


def http_check(
    check: HttpCheck,
    http: HttpGetter,
    sleep: Callable[[float], None] = time.sleep,
) -> CommandResult:
    """GET the URL until it answers as expected or the retries run out."""
    started = time.monotonic()
    problem = ""
    attempts = check.retries + 1
    for attempt in range(attempts):
        try:
            status, body = http.get(check.url, check.timeout)
        except OSError as e:
            problem = f"GET {check.url}: {e}"
        else:
            problem = judge(check, status, body)
            if not problem:
                return CommandResult(
                    "bot",
                    f"GET {check.url}",
                    "ok",
                    status,
                    body[-2000:],
                    time.monotonic() - started,
                )
        if attempt + 1 < attempts:
            sleep(check.interval)
    return CommandResult(
        "bot",
        f"GET {check.url}",
        "failed",
        None,
        problem,
        time.monotonic() - started,
        error=problem,
    )


def judge(check: HttpCheck, status: int, body: str) -> str:
    """Empty when the answer is healthy, else what is wrong."""
    if status != check.expect_status:
        return f"HTTP {status}, expected {check.expect_status}"
    if check.expect_json:
        try:
            data = json.loads(body)
        except ValueError:
            return "the answer is not JSON"
        if not isinstance(data, dict):
            return "the answer is not a JSON object"
        for key, want in check.expect_json.items():
            if data.get(key) != want:
                return f"{key} is {data.get(key)!r}, expected {want!r}"
    if check.expect_body and not re.search(check.expect_body, body):
        return f"the answer does not match {check.expect_body!r}"
    return ""


def output_matches(result: CommandResult, expect: str | None) -> CommandResult:
    if not result.ok or expect is None or re.search(expect, result.tail, re.MULTILINE):
        return result
    return CommandResult(
        result.host,
        result.command,
        "failed",
        result.exit_code,
        result.tail,
        result.duration,
        error=f"it says {_last_line(result.tail)!r}, not what {expect!r} expects",
    )


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:120] if lines else "nothing"
