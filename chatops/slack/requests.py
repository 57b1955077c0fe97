"""Parse what people type: `/change PROCESS key=value ... -- free text` and mentions."""

from __future__ import annotations

import re
import shlex
from collections.abc import Collection
from dataclasses import dataclass, field

from chatops.engine.planning.params import parse_assignments, service_first
from chatops.engine.planning.runbook import Runbook
from chatops.errors import ParameterError

MENTION = re.compile(r"^\s*<@[A-Z0-9]+>\s*")


#: Words that start something other than a change (in mentions, and in /change too).
ON_CALL = ("status", "logs", "hotfix")


@dataclass(frozen=True)
class ChangeRequest:
    action: str  # "request", "edit", "modal", "import", "help", or one of ON_CALL
    process: str = ""
    params: dict[str, str] = field(default_factory=dict)
    text: str = ""
    run_id: int = 0
    answers: dict[str, str] = field(default_factory=dict)


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def parse_change(
    text: str, runbooks: dict[str, Runbook], services: Collection[str] = ()
) -> ChangeRequest:
    """Parse a request. A bare word after the process that names a service is the service:
    `deploy web ref=x` means service=web. `status web`, `logs web ...` and `hotfix web ...`
    are the on-call commands (their text is passed on as typed)."""
    text = unescape(MENTION.sub("", text or "")).strip()
    if not text:
        return ChangeRequest("modal")
    if text in ("help", "-h", "--help", "?"):
        return ChangeRequest("help")
    if text == "import":
        return ChangeRequest("import")
    head, sep, free = text.partition(" -- ")
    if not sep and head.endswith(" --"):
        head = head[:-3]
    try:
        words = shlex.split(head)
    except ValueError as e:
        raise ParameterError(f"could not read that: {e} (check the quotes)") from None
    process, rest = words[0].lower(), words[1:]
    if process in ON_CALL and process not in runbooks:
        return ChangeRequest(process, text=text.split(None, 1)[1] if rest else "")
    if process == "edit":
        if not rest or not rest[0].lstrip("#").isdigit():
            raise ParameterError("usage: `/change edit RUN key=value ... -- why`")
        return ChangeRequest(
            "edit",
            "",
            parse_assignments(rest[1:]),
            free.strip() if sep else "",
            run_id=int(rest[0].lstrip("#")),
        )
    if process not in runbooks:
        raise ParameterError(f"unknown process {process!r}.\n{usage(runbooks)}")
    if "service" in runbooks[process].parameters:
        rest = service_first(rest, services)
    given = parse_assignments(rest)
    questions = {q.id for q in runbooks[process].questions} - set(runbooks[process].parameters)
    answers = {k: v for k, v in given.items() if k in questions}
    params = {k: v for k, v in given.items() if k not in questions}
    return ChangeRequest("request", process, params, free.strip(), answers=answers)


def usage(runbooks: dict[str, Runbook], only: str | None = None) -> str:
    lines = ["Usage: `/change PROCESS [SERVICE] key=value ... -- what and why`"]
    for name, rb in sorted(runbooks.items()):
        if only and name != only:
            continue
        params = " ".join(
            f"{k}={p.default}" if p.default is not None else f"{k}=…"
            for k, p in rb.parameters.items()
            if k != "service"
        )
        body = " ".join(
            x for x in (name, "SERVICE" if "service" in rb.parameters else "", params) if x
        )
        lines.append(f"• `{body}`: {rb.title}")
    if only:
        return "\n".join(lines)
    lines += [
        "`/change` alone opens a form; `/change import` takes a task in JSON;",
        "`/change edit RUN key=value -- why` changes your plan or answers its questions "
        '(approvals start over; `request="..."` gives the request new words).',
        'Planning questions can be answered inline: `tables="orders, order_lines"`.',
        "On call: `/hotfix SERVICE what is broken`, `/logs SERVICE since=1h grep=TEXT`, "
        "`/status SERVICE`. `since=` reads journald by time, log files by their lines' own "
        "times (ISO 8601, nginx's), a log command if it takes `{since}`.",
        "Mention me the same way: `@chatops deploy SERVICE ref=v2`, `@chatops status SERVICE`, "
        "`@chatops logs SERVICE since=1h`, `@chatops help`.",
    ]
    return "\n".join(lines)
