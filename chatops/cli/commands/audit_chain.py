"""`chatops audit verify` and `chatops audit export`: the chain checked, the trail written out
one JSON object a line (with each row's hash) for a SIEM."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from chatops.cli.commands.exits import EXIT_FAILED
from chatops.errors import ConfigError, ParameterError
from chatops.store.audit_chain import Anchor, read_anchors
from chatops.store.audit_chain import verify as check
from chatops.store.reader import Reader


def _anchor_file(given: str | None, config: str) -> Path | None:
    if given:
        return Path(given)
    if not Path(config).exists():
        return None
    from chatops.adapters.config_files import load_config

    configured = load_config(Path(config)).audit.anchor_file
    return Path(configured) if configured else None


def verify(reader: Reader, anchors_given: str | None, config: str) -> int:
    path = _anchor_file(anchors_given, config)
    anchors: list[Anchor] = []
    if path is not None:
        if not path.exists():
            if anchors_given:
                raise ConfigError(str(path), ["no such anchor file"])
        else:
            try:
                anchors = read_anchors(path.read_text())
            except ValueError as e:
                raise ConfigError(str(path), [str(e)]) from None
    verdict = check(reader.chain(), anchors)
    if not verdict.ok:
        print(f"audit trail BROKEN at row {verdict.bad_row}: {verdict.problem}", file=sys.stderr)
        return EXIT_FAILED
    head = f"head #{verdict.head.id} sha256 {verdict.head.hash}" if verdict.head else "empty"
    where = f", {len(anchors)} anchor(s) from {path} hold" if anchors else ", no anchors"
    print(f"audit trail intact: {verdict.rows} row(s), {head}{where}")
    return 0


def export(reader: Reader, since: str | None, run_id: int | None) -> int:
    start = None
    if since:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            raise ParameterError(f"--since {since!r}: an ISO 8601 date or time") from None
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
    if run_id is not None:
        reader.get_run(run_id)  # NotFound: "no run 42", not an empty export that looks fine
    out = sys.stdout
    for row in reader.chain(start, run_id):
        line = {
            "id": row.id,
            "at": row.at.isoformat(),
            "actor": row.actor,
            "action": row.action,
            "run_id": row.run_id,
            "task_id": row.task_id,
            "plan_hash": row.plan_hash,
            "detail": row.detail,
            "prev_hash": row.prev_hash,
            "hash": row.hash,
        }
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return 0
