"""`chatops`: a change process for servers, driven from Slack or from here.

Start with `chatops init` (a demo service on this machine), then `chatops check`,
`chatops plan deploy demo ref=v2 --as alice`, `chatops runs`, or `chatops console`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from chatops.cli import (
    agents,
    deciding,
    freezes,
    oncall,
    planning,
    processes,
    reading,
    setup,
)
from chatops.cli.commands.exits import EXIT_FAILED, EXIT_REFUSED, EXIT_USAGE
from chatops.cli.parsing import Parsers
from chatops.errors import (
    ChatopsError,
    ConfigError,
    ParameterError,
    PermissionDenied,
    PolicyRefused,
    TaskFormatError,
)


def parser() -> argparse.ArgumentParser:
    """Every subcommand, as the modules of `chatops.cli.commands` register them."""
    p = argparse.ArgumentParser(prog="chatops", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="config file (default: $CHATOPS_CONFIG or ./chatops.yml)")
    common.add_argument(
        "--commands", help="runbook folder (default: $CHATOPS_COMMANDS or ./commands)"
    )
    common.add_argument("--database-url", help="SQLAlchemy URL (default: $CHATOPS_DATABASE_URL)")
    parsers = Parsers(p.add_subparsers(dest="cmd", required=True, metavar="COMMAND"), common)
    for module in (setup, planning, deciding, reading, oncall, processes, agents, freezes):
        module.register(parsers)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "process", "x") is None and not getattr(args, "import_file", None):
        parser().error("name a process (deploy, migration, ...) or give --import FILE")
    args.cli_main = main  # the demo runs CLI commands: handed in, not imported back
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # a reader that went away (| head) is met here, not at exit
        return code
    except BrokenPipeError:  # as Unix tools do: quiet, 128 + SIGPIPE
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except ConfigError as e:
        print(f"chatops: {e}", file=sys.stderr)
        return EXIT_USAGE
    except (ParameterError, TaskFormatError) as e:
        print(f"chatops: {e}", file=sys.stderr)
        return EXIT_USAGE
    except (PermissionDenied, PolicyRefused) as e:
        print(f"chatops: refused: {e}", file=sys.stderr)
        return EXIT_REFUSED
    except ChatopsError as e:
        print(f"chatops: {e}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # the database or Slack: one line, not a traceback
        from chatops.cli.commands.failures import EXIT_UNAVAILABLE, explain
        from chatops.cli.commands.reading import where

        line = explain(e, where(args, "database_url"))
        if line is None:
            raise
        print(f"chatops: {line}", file=sys.stderr)
        return EXIT_UNAVAILABLE


if __name__ == "__main__":
    sys.exit(main())
