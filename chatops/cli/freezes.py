"""Change freezes: `freeze` (only hotfixes pass), `unfreeze`, `freezes` (those in force)."""

from __future__ import annotations

import argparse

from chatops.cli.parsing import Parsers, command


def register(p: Parsers) -> None:
    s = p.add("freeze", "stop changes (only hotfix) for a while")
    s.add_argument("target", metavar="SERVICE|all", help="one service, or all of them")
    s.add_argument("--for", dest="duration", required=True, help="a duration like 2h or 1d")
    s.add_argument("--reason", required=True, help="why: shown to whoever is refused")
    s.add_argument("--as", dest="as_user", required=True, help="who declares it (a lead)")
    s.set_defaults(func=command(_freeze))
    s = p.add("unfreeze", "lift a freeze declared with freeze")
    s.add_argument("target", metavar="SERVICE|all", help="the service, or all")
    s.add_argument("--as", dest="as_user", required=True, help="who lifts it (a lead)")
    s.set_defaults(func=command(_unfreeze))
    s = p.add("freezes", "the change freezes in force")
    s.set_defaults(func=command(_freezes))


def _freeze(args: argparse.Namespace) -> int:
    from chatops.cli.commands.freezing import cmd_freeze

    return cmd_freeze(args)


def _unfreeze(args: argparse.Namespace) -> int:
    from chatops.cli.commands.freezing import cmd_unfreeze

    return cmd_unfreeze(args)


def _freezes(args: argparse.Namespace) -> int:
    from chatops.cli.commands.freezing import cmd_freezes

    return cmd_freezes(args)
