"""`chatops worker`: a process that exists to execute runs, and the scheduler's work.

It serves no Slack: the thread's messages come from a `chatops serve`, which follows the same
events. Several workers on several machines share one PostgreSQL: one claims each run, the
per-service lock holds across them, and when one dies another takes its runs over."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from chatops.cli.commands.handlers import _settings

log = logging.getLogger(__name__)


def cmd_worker(args: argparse.Namespace) -> int:
    from chatops.bootstrap import build

    settings = _settings(args)
    if args.site:
        settings = settings.model_copy(update={"site": args.site})
    built = build(settings, worker=True, runs=args.threads, log_default="INFO")
    stop = threading.Event()

    def ask_to_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: finishing the runs in hand, then stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, ask_to_stop)
    signal.signal(signal.SIGINT, ask_to_stop)
    built.start()
    server = None
    if args.port:  # /healthz and /metrics for the orchestrator's probes
        import uvicorn

        from chatops.slack.transport.http import ops_asgi
        from chatops.slack.transport.limits import bounded

        app = bounded(ops_asgi(built.health), settings.max_body, settings.header_timeout)
        server = uvicorn.Server(
            uvicorn.Config(**app, host="127.0.0.1", port=args.port, log_level="warning")
        )
        threading.Thread(target=server.run, name="chatops-health", daemon=True).start()
    where = f"site {settings.site}" if settings.site else "no site"
    print(
        f"chatops worker {built.wired.owner}: executing runs ({where}, {args.threads} at once)",
        file=sys.stderr,
        flush=True,
    )
    try:
        stop.wait()
    finally:
        if server is not None:
            server.should_exit = True
        built.stop()
    return 0
