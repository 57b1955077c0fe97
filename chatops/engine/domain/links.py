"""Personal links to a run's page: HMAC-signed, bound to one user and one run, expiring.

A link is `/runs/<id>?t=<token>` (or `/insights?t=<token>`, the team's numbers, whose
token names run `INSIGHTS`, 0, which no run has); the token says whom it was made for and
until when, and a signature over both with the deployment's link key. Nothing in it is
secret but the key: a token changed by a character, made for another run, or past its time
is refused. Being signed is not enough to see a run: the page asks at each request whether
the user the link names may still see it (their roles, now).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from chatops.errors import PermissionDenied

__all__ = ["INSIGHTS", "USER_RE", "VERSION", "LinkRefused", "Pass", "read_token", "token_for"]

USER_RE = re.compile(r"[A-Za-z0-9_.:@-]{1,80}")  # a Slack id, a console name, agent:<name>
VERSION = "v1"
INSIGHTS = 0  # the run a link to the insights page names: runs are numbered from 1


def _what(run_id: int) -> str:
    return "the insights page" if run_id == INSIGHTS else f"run #{run_id}"


class LinkRefused(PermissionDenied):
    """A link that is not ours, was changed, is for another run, or has expired."""


@dataclass(frozen=True)
class Pass:
    """What a valid token says: this user may ask to see this run until `expires` (unix)."""

    run_id: int
    user: str
    expires: int


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, run_id: int, user: str, expires: int) -> str:
    message = f"{VERSION}|{run_id}|{user}|{expires}".encode()
    return _b64(hmac.new(key, message, hashlib.sha256).digest())


def token_for(key: bytes, run_id: int, user: str, expires: int) -> str:
    """The token of a link to run `run_id` for `user`, valid until `expires` (unix time)."""
    if not key:
        raise ValueError("no link key")
    if not USER_RE.fullmatch(user):
        raise ValueError(f"not a user a link can name: {user!r}")
    return ".".join(
        [VERSION, str(run_id), _b64(user.encode()), str(expires), _sign(key, run_id, user, expires)]
    )


def read_token(key: bytes, token: str, run_id: int, now: float) -> Pass:
    """The pass a token gives for run `run_id` at `now`, or LinkRefused saying why."""
    parts = token.split(".")
    if len(parts) != 5 or parts[0] != VERSION:
        raise LinkRefused("this link is not one chatops made")
    _v, run, user_b64, expires_text, signature = parts
    try:
        user = _unb64(user_b64).decode()
        linked_run, expires = int(run), int(expires_text)
    except (ValueError, UnicodeDecodeError) as e:
        raise LinkRefused("this link is not one chatops made") from e
    if not USER_RE.fullmatch(user):
        raise LinkRefused("this link is not one chatops made")
    good = _sign(key, linked_run, user, expires)
    if not key or not hmac.compare_digest(good, signature):
        raise LinkRefused("this link was changed or made elsewhere: ask for a new one")
    if linked_run != run_id:
        other = (
            _what(run_id).removeprefix("run ")
            if INSIGHTS not in (run_id, linked_run)
            else _what(run_id)
        )
        raise LinkRefused(f"this link is for {_what(linked_run)}, not {other}")
    if now >= expires:
        again = "ask for" if run_id == INSIGHTS else "press View run again for"
        raise LinkRefused(f"this link has expired: {again} a new one")
    return Pass(linked_run, user, expires)
