"""How the CLI's modules register their subcommands (`chatops.cli.<concept>.register`,
one module per concept): a handler imports what it runs, from `chatops.cli.commands`, when
it runs; `chatops --help` and the read-only commands pay for no engine, bolt or Fabric."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Handler", "Parsers", "command", "here_flag"]

Handler = Callable[[argparse.Namespace], int]
Check = Callable[[argparse.Namespace], None]


@dataclass(frozen=True)
class Parsers:
    """Where a module adds its subcommands: the subparsers, and the options every command
    that opens the store shares (--config, --commands, --database-url)."""

    sub: Any  # argparse's _SubParsersAction (private in typeshed)
    common: argparse.ArgumentParser

    def add(
        self, name: str, help: str, *, store: bool = True, **kw: Any
    ) -> argparse.ArgumentParser:
        """A subcommand; `store`: it takes the common options."""
        parents = [self.common] if store else []
        parser: argparse.ArgumentParser = self.sub.add_parser(
            name, parents=parents, help=help, **kw
        )
        return parser


def command(run: Handler, *, asks: bool = False, check: Check | None = None) -> Handler:
    """`run`, after what every command does first: an `--as` nobody in chatops.yml's roles is
    is refused (`asks`: the command needs a person named), then `check` refuses a name that
    does not exist before the engine is built for it."""

    def call(args: argparse.Namespace) -> int:
        if getattr(args, "as_user", None) is not None:
            from chatops.cli.commands.people import check_user
            from chatops.cli.commands.reading import where

            check_user(args, where(args, "config"), asks=asks)
        if check is not None:
            check(args)
        return int(run(args))

    return call


def here_flag(s: argparse.ArgumentParser) -> None:
    s.add_argument(
        "--here",
        action="store_true",
        help="this terminal is the worker: run it in the foreground (Ctrl-C leaves it "
        "interrupted, resumable); without it a worker (serve, `chatops worker`) runs it",
    )
