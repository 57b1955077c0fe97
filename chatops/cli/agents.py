"""AI agents' tokens: `agent add` (printed once, stored hashed), `agent list`,
`agent revoke` (at once)."""

from __future__ import annotations

import argparse

from chatops.cli.parsing import Parsers, command


def register(p: Parsers) -> None:
    s = p.add("agent", "AI agents: add, list, revoke")
    asub = s.add_subparsers(dest="agent_cmd", required=True)
    a = asub.add_parser("add", parents=[p.common], help="a new agent; prints its token once")
    a.add_argument("name", help="e.g. architect-agent")
    a.add_argument(
        "--role", required=True, choices=["architect", "coder"], help="what the seed lets it do"
    )
    a.add_argument("--services", default="", help="comma-separated (default: all)")
    a.add_argument("--processes", default="", help="comma-separated (default: all its role may)")
    a.add_argument("--expires", help="a duration like 30d or 12h (default: never)")
    a.add_argument(
        "--for",
        dest="acts_for",
        default="",
        metavar="USERS",
        help="the people (Slack user ids, comma-separated) it may act for with on_behalf_of "
        "(default: nobody); each is told by DM when it does",
    )
    a.add_argument("--as", dest="as_user", required=True, help="who adds it (a lead)")
    a.set_defaults(func=command(_add))
    a = asub.add_parser("list", parents=[p.common], help="every agent, its scope and state")
    a.set_defaults(func=command(_list))
    a = asub.add_parser("revoke", parents=[p.common], help="stop an agent's token at once")
    a.add_argument("name", help="the agent's name (`chatops agent list`)")
    a.add_argument("--as", dest="as_user", required=True, help="who revokes it (a lead)")
    a.set_defaults(func=command(_revoke))


def _add(args: argparse.Namespace) -> int:
    from chatops.cli.commands.handlers import cmd_agent_add

    return cmd_agent_add(args)


def _list(args: argparse.Namespace) -> int:
    from chatops.cli.commands.reading import cmd_agent_list

    return cmd_agent_list(args)


def _revoke(args: argparse.Namespace) -> int:
    from chatops.cli.commands.handlers import cmd_agent_revoke

    return cmd_agent_revoke(args)
