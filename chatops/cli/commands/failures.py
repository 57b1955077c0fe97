"""What the terminal says when something chatops needs cannot be reached or refuses it:
one line naming what to check, and exit code 4, never a traceback. Matched by the
exception's type and module, so `chatops --help` still imports none of those libraries."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from chatops.cli.commands.exits import EXIT_UNAVAILABLE

__all__ = ["EXIT_UNAVAILABLE", "explain", "safe_url"]

DB_MODULES = ("sqlalchemy", "psycopg", "sqlite3")


def safe_url(url: str) -> str:
    """A database URL without its password."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an unreadable URL)"
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def _first_line(e: BaseException) -> str:
    orig = getattr(e, "orig", None) or e  # SQLAlchemy wraps the driver's error
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    text = re.sub(r"^\(\S+\)\s*", "", text)  # "(psycopg.OperationalError) ..."
    return text[:300]


def explain(e: BaseException, database_url: str) -> str | None:
    """One line for a failure of the database or of Slack; None for anything else."""
    kinds = {c.__module__.split(".")[0] + "." + c.__name__ for c in type(e).__mro__}
    module = type(e).__module__.split(".")[0]
    if module in DB_MODULES:
        what = _first_line(e)
        where = safe_url(database_url)
        if "permission denied" in what:
            hint = "the database role lacks a grant (see docs/operations.md)"
        elif "no such table" in what or "does not exist" in what:
            hint = "is it chatops's database? `chatops db upgrade` creates the schema"
        else:
            hint = "check CHATOPS_DATABASE_URL and that the database server runs"
        return f"the database at {where} failed: {what}; {hint}"
    said = str(e).lower()
    if "slack_bolt.BoltError" in kinds and ("auth" in said or "token" in said):
        return (
            f"Slack refused the bot token ({_first_line(e)}): check SLACK_BOT_TOKEN "
            "(a bot token starts with xoxb-; reinstall the app to get a new one)"
        )
    if "urllib.URLError" in kinds or "slack_sdk.SlackClientError" in kinds:
        return (
            f"cannot reach Slack's Web API ({_first_line(e)}): check the network, a proxy "
            "(HTTPS_PROXY) and CHATOPS_SLACK_API_URL if you set one"
        )
    return None
