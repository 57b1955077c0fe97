"""The demo app: answers GET /ECK/health with what its build says (read once, at start)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HEALTH = json.loads(Path("health.json").read_text())
VERSION = Path("VERSION").read_text().strip()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != "/ECK/health":
            self.send_error(404)
            return
        body = json.dumps({**HEALTH, "version": VERSION}).encode()
        self.send_response(200 if HEALTH.get("status") == "healthy" else 503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        print(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%S} {format % args}", flush=True)


def main() -> None:
    print(f"demo {VERSION} listening on 127.0.0.1:{sys.argv[1]}", flush=True)
    if HEALTH.get("status") != "healthy":
        print(
            f"ERROR demo {VERSION}: {HEALTH.get('error', 'unhealthy')}", file=sys.stderr, flush=True
        )
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()


if __name__ == "__main__":
    main()
