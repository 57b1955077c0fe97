"""Redaction of configured secrets and obvious token patterns from text that leaves us."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["MASK", "TOKEN_PATTERNS", "Redactor", "StreamRedactor"]

MASK = "[REDACTED]"
TOKEN_PATTERNS = [
    r"\bxox[abposre]-[A-Za-z0-9-]{10,}",  # Slack tokens
    r"\bchatops-agent-[A-Za-z0-9_-]{20,}",  # chatops agent tokens
    r"\bxapp-[0-9]-[A-Za-z0-9-]{10,}",  # Slack app-level tokens
    r"\bgh[pousr]_[A-Za-z0-9]{30,}",  # GitHub tokens
    r"\bgithub_pat_[A-Za-z0-9_]{30,}",
    r"\bglpat-[A-Za-z0-9_-]{20,}",  # GitLab
    r"\bAKIA[0-9A-Z]{16}",  # AWS access key ids
    r"\bsk-[A-Za-z0-9_-]{20,}",  # API keys of several vendors
    r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",  # JWTs
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|\Z)",
    r"(?i:(?<=bearer )[A-Za-z0-9._~+/=-]{16,})",
    r"(?i:(?<=://)[^/\s:@]+:[^/\s@]+(?=@))",  # user:password@ in URLs
    r"(?i:(?<=password=)[^\s&;'\"]+)",
    r"(?i:(?<=passwd=)[^\s&;'\"]+)",
    r"(?i:(?<=secret=)[^\s&;'\"]+)",
    r"(?i:(?<=token=)[^\s&;'\"]+)",
    r"(?i:(?<=api_key=)[^\s&;'\"]+)",
]


class Redactor:
    """Replaces secret values (given) and token-shaped strings with a mask."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._re = re.compile("|".join(f"(?:{p})" for p in TOKEN_PATTERNS))
        self.extend(secrets)

    def extend(self, secrets: Iterable[str]) -> None:
        """Redact these too (a reloaded config's secrets); none is ever forgotten."""
        self._values |= {s for s in secrets if s and len(s) >= 4}
        values = sorted(self._values, key=len, reverse=True)
        parts = [re.escape(v) for v in values] + TOKEN_PATTERNS
        self._re = re.compile("|".join(f"(?:{p})" for p in parts))

    def __call__(self, text: str) -> str:
        return self._re.sub(MASK, text)


class StreamRedactor:
    """Redacts a stream of chunks line by line, so a secret split across chunks is caught.

    Holds back at most one partial line (bounded by max_hold characters).
    """

    def __init__(self, redact: Redactor, max_hold: int = 65536) -> None:
        self._redact = redact
        self._hold = ""
        self._max = max_hold

    def feed(self, chunk: str) -> str:
        data = self._hold + chunk
        cut = data.rfind("\n") + 1
        if cut == 0 and len(data) < self._max:
            self._hold = data
            return ""
        if cut == 0:
            cut = len(data)
        self._hold = data[cut:]
        return self._redact(data[:cut])

    def flush(self) -> str:
        data, self._hold = self._hold, ""
        return self._redact(data) if data else ""
