"""What an agent shows for a step it says is done: a text, and links (a pull request, a CI
run, a dashboard). Kept with the step's output, in the audit trail and in the Slack thread."""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatops.errors import ParameterError

__all__ = ["LINK", "MAX_LINKS", "MAX_TEXT", "Evidence"]

MAX_TEXT = 4000
MAX_LINKS = 10
LINK = re.compile(r"https?://[^\s<>|\x00-\x1f\x7f]{1,500}")


@dataclass(frozen=True)
class Evidence:
    text: str
    links: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ParameterError("evidence: say what was done (the text is empty)")
        if len(self.text) > MAX_TEXT:
            raise ParameterError(f"evidence: at most {MAX_TEXT} characters")
        if len(self.links) > MAX_LINKS:
            raise ParameterError(f"evidence: at most {MAX_LINKS} links")
        for link in self.links:
            if not LINK.fullmatch(link):
                raise ParameterError(f"evidence: {link[:80]!r} is not an http(s) link")

    def render(self) -> str:
        lines = [self.text.strip(), *(f"- {link}" for link in self.links)]
        return "\n".join(lines)
