"""`chatops freeze`, `chatops unfreeze`, `chatops freezes`: change freezes from the terminal,
under the same rules as `/freeze` (leads only, audited)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chatops.wiring import Wired


def _wire(args: argparse.Namespace) -> Wired:
    from chatops.cli.commands.handlers import _wire as wire  # the engine: only to change something

    return wire(args)


def cmd_freeze(args: argparse.Namespace) -> int:
    w = _wire(args)
    f = w.freezes.freeze(args.target, args.duration, args.reason, args.as_user)
    allowed = ", ".join(["hotfix", *w.config.freezes.allow])
    print(f"{f.describe()}\nuntil then only {allowed} may be planned or started")
    return 0


def cmd_unfreeze(args: argparse.Namespace) -> int:
    w = _wire(args)
    lifted = w.freezes.unfreeze(args.target, args.as_user)
    print(f"lifted {lifted} freeze(s) on {args.target}")
    for f in w.freezes.active(None if args.target == "all" else args.target):
        print(f"still in force: {f.describe()}")
    w.ops.kick()  # queued runs the freeze held start now
    return 0


def cmd_freezes(args: argparse.Namespace) -> int:
    """Read only, and fast: the config's windows and the stored freezes, no engine built."""
    from datetime import UTC, datetime

    from chatops.adapters.config_files import load_config_or_empty
    from chatops.cli.commands.reading import _reader, where

    config = load_config_or_empty(Path(where(args, "config")))
    now = datetime.now(UTC)
    found = [*config.freezes.active(now), *_reader(args).freezes(now)]
    for f in found:
        print(f.describe() + (f" (by {f.by})" if f.by else ""))
    if not found:
        print("no change freeze in force")
    return 0
