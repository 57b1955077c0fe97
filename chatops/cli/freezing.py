"""`chatops freeze`, `chatops unfreeze`, `chatops freezes`: change freezes from the terminal,
under the same rules as `/freeze` (leads only, audited)."""

from __future__ import annotations

import argparse

from chatops.cli.handlers import _wire


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
    w = _wire(args)
    found = w.freezes.active()
    for f in found:
        print(f.describe() + (f" (by {f.by})" if f.by else ""))
    if not found:
        print("no change freeze in force")
    return 0
