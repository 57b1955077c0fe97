"""Who a command acts as (`--as`), checked before anything is built: a name no role of
chatops.yml lists is a typo until proven otherwise ("unknown user 'bobb' (did you mean
bob?)", exit 2), not a refusal by a rule; a command that needs someone says so when no one
is named."""

from __future__ import annotations

import argparse
import difflib
from pathlib import Path

from chatops.errors import ParameterError

__all__ = ["NOBODY", "check_user"]

#: the default `--as` of commands where naming nobody is allowed (a preview, a status read)
NOBODY = "cli"


def check_user(args: argparse.Namespace, config_path: str, *, asks: bool = False) -> None:
    """Refuse an `--as` nobody in chatops.yml's roles is (when the roles list everyone: a
    role given by Slack user groups may hold anyone), and nobody named where the command
    `asks` for someone (it acts for them)."""
    user = getattr(args, "as_user", None)
    if user is None:
        return
    if user == NOBODY:
        if asks:
            raise ParameterError("say who asks for it: --as USER (a person of chatops.yml's roles)")
        return
    path = Path(config_path)
    if not path.exists():
        return
    from chatops.adapters.config_files import load_config

    config = load_config(path)
    if any(m.groups for m in config.roles.values()):
        return  # group members are known to Slack, not to this file
    known = sorted({u for m in config.roles.values() for u in m.users})
    if not known or user in known or user.startswith("agent:"):
        return
    close = difflib.get_close_matches(user, known, n=1)
    hint = f" (did you mean {close[0]}?)" if close else f"; known: {', '.join(known[:12])}"
    raise ParameterError(f"unknown user {user!r}{hint}")
