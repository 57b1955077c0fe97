"""Parse what people type: `/change PROCESS key=value ... -- free text` and mentions."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from chatops.engine.params import parse_assignments
from chatops.engine.runbook import Runbook
from chatops.errors import ParameterError

MENTION = re.compile(r"^\s*<@[A-Z0-9]+>\s*")


@dataclass(frozen=True)
class ChangeRequest:
    action: str  # "request", "edit", "modal", "import", "help"
    process: str = ""
    params: dict[str, str] = field(default_factory=dict)
    text: str = ""
    run_id: int = 0
    answers: dict[str, str] = field(default_factory=dict)


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def parse_change(
    text: str, runbooks: dict[str, Runbook], positional_service: bool = False
) -> ChangeRequest:
    """Parse a request. With positional_service, `deploy web ref=x` means service=web."""
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
    if process == "edit":
        if not rest or not rest[0].lstrip("#").isdigit():
            raise ParameterError("usage: `/change edit RUN key=value ... -- new text`")
        return ChangeRequest(
            "edit",
            "",
            parse_assignments(rest[1:]),
            free.strip() if sep else "",
            run_id=int(rest[0].lstrip("#")),
        )
    if process not in runbooks:
        raise ParameterError(f"unknown process {process!r}.\n{usage(runbooks)}")
    if positional_service and rest and "=" not in rest[0]:
        rest = [f"service={rest[0]}", *rest[1:]]
    given = parse_assignments(rest)
    questions = {q.id for q in runbooks[process].questions} - set(runbooks[process].parameters)
    answers = {k: v for k, v in given.items() if k in questions}
    params = {k: v for k, v in given.items() if k not in questions}
    return ChangeRequest("request", process, params, free.strip(), answers=answers)


def usage(runbooks: dict[str, Runbook], only: str | None = None) -> str:
    lines = ["Usage: `/change PROCESS key=value ... -- what and why`"]
    for name, rb in sorted(runbooks.items()):
        if only and name != only:
            continue
        params = " ".join(
            f"{k}={p.default}" if p.default is not None else f"{k}=…"
            for k, p in rb.parameters.items()
        )
        lines.append(f"• `/change {name} {params}`: {rb.title}")
    lines.append("`/change` alone opens a form; `/change import` takes a task in JSON;")
    lines.append("`/change edit RUN key=value -- text` changes your plan (approvals start over).")
    lines.append('Planning questions can be answered inline too: `tables="orders, order_lines"`.')
    return "\n".join(lines)
