"""The console fills a form as a person would: Enter takes a one-choice prompt, an answer
over its field's `max_length` is asked again (the form itself comes from the bot's own
builders; the console is given a scripted keyboard)."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from typing import Any

from chatops.console.render import WIDTH
from chatops.console.session import Console
from chatops.slack.requests import usage
from chatops.slack.views import modals


def console(answers: list[str]) -> tuple[Console, io.StringIO]:
    typed: Iterator[str] = iter(answers)
    out = io.StringIO()

    def read(prompt: str) -> str | None:
        out.write(prompt)
        return next(typed, None)

    return Console(None, ["U_LEAD"], out=out, read=read), out  # type: ignore[arg-type]


def one_choice() -> dict[str, Any]:
    return {
        "type": "modal",
        "blocks": [
            {
                "type": "input",
                "block_id": "env",
                "label": {"type": "plain_text", "text": "Environment"},
                "element": {
                    "type": "static_select",
                    "action_id": "value",
                    "options": [
                        {"text": {"type": "plain_text", "text": "p"}, "value": "production"}
                    ],
                },
            }
        ],
    }


def test_enter_takes_the_only_choice() -> None:
    c, out = console([""])
    assert c._answers(one_choice()) == {"env": "production"}
    assert "(Enter for production)" in out.getvalue()


def test_an_answer_over_the_fields_limit_is_asked_again() -> None:
    form = modals.reject_modal({"run_id": "1", "channel": "C1"})
    c, out = console(["x" * 3001, "not during the sale"])
    assert c._answers(form) == {"reason": "not during the sale"}
    assert "at most 3000 characters here (3001 given): again" in out.getvalue()


class _Standin:
    def __init__(self, ephemeral: list[dict[str, Any]]) -> None:
        self.messages: list[Any] = []
        self.ephemeral = ephemeral
        self.views: list[Any] = []


class _Chat:
    """What Console.show reads of the harness: settle() and the stand-in's records."""

    def __init__(self, ephemeral: list[dict[str, Any]]) -> None:
        self.standin = _Standin(ephemeral)

    def settle(self, strict: bool = True) -> None:
        pass


def test_a_private_answer_is_wrapped_once_never_broken_in_three(
    runbooks: dict[str, Any],
) -> None:
    """`/change help` came out as "Deploy ready / code, / batch by batch": the lines of a
    message wrapped to the full width were wrapped again beside "(only you)"."""
    text = usage(runbooks)
    out = io.StringIO()
    c = Console(_Chat([{"user": "U_LEAD", "text": text}]), ["U_LEAD"], out=out)  # type: ignore[arg-type]
    c.show()
    shown = [line[11:] for line in out.getvalue().splitlines() if line.strip()]
    assert shown and all(len(line) <= WIDTH - 11 for line in shown)
    said = text.replace("\n", " ").split()
    assert " ".join(shown).split() == said  # every word, in order, once
    paragraphs = {line.split()[0] for line in text.splitlines()}
    for line, following in itertools.pairwise(shown):
        first = following.split()[0]
        if first not in paragraphs:  # a continuation: it would not have fit on the line
            assert len(line) + 1 + len(first) > WIDTH - 11, (line, following)
