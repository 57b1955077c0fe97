"""`/logs SERVICE [lines=200] [since=1h] [grep=TEXT] [host=NAME] [stream=out|err]`.

Every argument is validated; the grep text is a fixed string, always shell-quoted; the
command is built from the service's configured log source only.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from chatops.engine.planning.inventory import CommandLogs, FileLogs, JournaldLogs, Service
from chatops.engine.planning.templates import quote, render
from chatops.errors import ParameterError

__all__ = [
    "JOURNAL_UNITS",
    "KEYS",
    "SINCE_RE",
    "WINDOW",
    "LogQuery",
    "log_command",
    "parse_logs",
    "since_of",
]

SINCE_RE = re.compile(r"^([1-9][0-9]{0,3})([smhd])$")
JOURNAL_UNITS = {"s": "s", "m": "min", "h": "h", "d": "d"}
KEYS = ("lines", "since", "grep", "host", "stream")
WINDOW = 20  # with grep, search this many times `lines` before filtering


@dataclass(frozen=True)
class LogQuery:
    service: str
    lines: int = 200
    since: str | None = None
    grep: str | None = None
    host: str | None = None
    stream: Literal["out", "err", "all"] = "all"


def parse_logs(text: str, max_lines: int) -> LogQuery:
    try:
        words = shlex.split(text)
    except ValueError as e:
        raise ParameterError(f"could not read that: {e} (check the quotes)") from None
    if not words or "=" in words[0]:
        raise ParameterError(
            "usage: `/logs SERVICE [lines=200] [since=1h] [grep=TEXT] [host=NAME] [stream=out|err]`"
        )
    service, args = words[0], {}
    for w in words[1:]:
        key, sep, value = w.partition("=")
        if not sep or key not in KEYS:
            raise ParameterError(f"{w!r}: expected one of {', '.join(k + '=' for k in KEYS)}")
        if key in args:
            raise ParameterError(f"{key} given twice")
        args[key] = value
    lines = 200
    if "lines" in args:
        if not args["lines"].isdigit() or not 1 <= int(args["lines"]) <= max_lines:
            raise ParameterError(f"lines must be a whole number from 1 to {max_lines}")
        lines = int(args["lines"])
    since = args.get("since")
    if since is not None and not SINCE_RE.match(since):
        raise ParameterError("since must look like 30m, 1h, 2d (a number and s, m, h or d)")
    grep = args.get("grep")
    if grep is not None and (not grep or len(grep) > 200 or re.search(r"[\x00-\x1f\x7f]", grep)):
        raise ParameterError("grep must be 1 to 200 printable characters")
    stream = args.get("stream", "all")
    if stream not in ("out", "err", "all"):
        raise ParameterError("stream must be out, err or all")
    host = args.get("host")
    if host is not None and not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,62}", host):
        raise ParameterError("host must be a host name from the inventory")
    return LogQuery(service, lines, since, grep, host, stream)  # type: ignore[arg-type]


def since_of(q: LogQuery) -> timedelta | None:
    """How far back `since=` reaches, or None."""
    m = SINCE_RE.match(q.since or "")
    if m is None:
        return None
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
    return timedelta(**{unit: int(m.group(1))})


def log_command(svc: Service, q: LogQuery, ctx: dict[str, object]) -> tuple[str, list[str]]:
    """The command for one host, and notes for the reader (what could not be applied)."""
    src = svc.logs
    notes: list[str] = []
    n = q.lines * WINDOW if q.grep else q.lines
    if q.since and isinstance(src, FileLogs):
        n = q.lines * WINDOW  # more lines read, those in the window kept (log_times.within)
    match src:
        case None:
            raise ParameterError(f"service {q.service} has no log source configured")
        case JournaldLogs():
            cmd = f"journalctl -u {quote(src.unit)} -n {n} --no-pager --output=short-iso"
            if q.since:
                m = SINCE_RE.match(q.since)
                assert m is not None
                cmd += f" --since {quote('-' + m.group(1) + JOURNAL_UNITS[m.group(2)])}"
            if q.stream == "err":
                cmd += " -p err"
        case FileLogs():
            paths = src.paths
            if q.stream == "err":
                paths = src.error_paths or src.paths
                if not src.error_paths:
                    notes.append("no error log file is configured: showing the main log")
            elif q.stream == "all":
                paths = [*src.paths, *src.error_paths]
            files = " ".join(quote(render(p, ctx)) for p in paths)
            cmd = f"tail -q -n {n} -- {files}"
        case CommandLogs():
            values = {**ctx, "lines": n, "since": q.since or "", "stream": q.stream}
            cmd = render(src.command, values)
            if q.since and "{since}" not in src.command:
                notes.append("since= is not supported by this service's log command")
    if q.grep:
        keep = n if q.since and isinstance(src, FileLogs) else q.lines  # the window cuts later
        cmd = f"{{ {cmd}; }} 2>&1 | grep -F -i -e {quote(q.grep)} | tail -n {keep} || true"
    return f"cd {quote(svc.app_dir)} && {cmd}", notes
