"""The console fills a form as a person would: Enter takes a one-choice prompt, an answer
over its field's `max_length` is asked again (the form itself comes from the bot's own
builders; the console is given a scripted keyboard)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from chatops.console.session import Console
from chatops.slack import modals


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
