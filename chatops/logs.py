"""Logging set-up: text or JSON lines, with secrets redacted from every record."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from chatops.engine.redact import Redactor


class RedactingFilter(logging.Filter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in ("run_id", "error_id", "actor", "action"):
            if hasattr(record, key):
                data[key] = getattr(record, key)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


class Quiet(logging.Filter):
    """Drops a library's records that start with a known text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


def configure(fmt: str, level: str | None, redact: Redactor, default: str = "WARNING") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter(redact))
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel((level or default).upper())
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # paramiko logs each failed connection at ERROR with its traceback, a record a line (an
    # unreachable host of a 500-host step is twenty lines); the executor reports each one
    # with its host and its cause. Below DEBUG, paramiko says only what is critical.
    debug = root.level <= logging.DEBUG
    logging.getLogger("paramiko").setLevel(logging.NOTSET if debug else logging.CRITICAL)
    # Said by the libraries at every start or retry, and said better by chatops: bolt warns
    # that the env's SLACK_BOT_TOKEN is unused (it is: the client we hand it carries it);
    # slack_sdk logs each failed try before our client reports the failure once.
    logging.getLogger("slack_bolt.App").addFilter(Quiet("`token` will be unused"))
    sdk = logging.getLogger("slack_sdk.web.base_client")
    sdk.addFilter(Quiet("Failed to send a request to Slack API server"))
    # and, at INFO, each retry it makes ("A retry handler found", "Going to retry"): chatops
    # reports what came of them, once (DEBUG shows them all)
    sdk.setLevel(logging.NOTSET if debug else logging.WARNING)
