"""Anchoring the audit chain outside the database: its head (row id and hash), on a
schedule, appended to a file and/or posted to a Slack channel. A rewrite of the whole chain
keeps it consistent with itself, not with the anchors: `chatops audit verify` checks them.

Run by the scheduler's leader (one replica), at most every `audit.anchor_every`, and only
when the head moved since the last anchor.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from chatops.engine.planning.config import AuditPolicy
from chatops.engine.ports import Clock
from chatops.store.audit_chain import Anchor, read_anchors

log = logging.getLogger(__name__)

Head = Callable[[], Anchor | None]
Post = Callable[[str, str], None]  # (channel, text)


class AuditAnchor:
    def __init__(self, policy: AuditPolicy, head: Head, clock: Clock, post: Post | None) -> None:
        self.policy = policy
        self.head = head
        self.clock = clock
        self.post = post
        self._last: Anchor | None = None
        self._last_at: datetime | None = None
        path = self.file
        if path is not None and path.exists():
            try:
                found = read_anchors(path.read_text())
            except ValueError:
                log.exception("the audit anchor file %s cannot be read", path)
                found = []
            self._last = found[-1] if found else None
            if self._last is not None and self._last.at:
                self._last_at = datetime.fromisoformat(self._last.at)

    @property
    def file(self) -> Path | None:
        return Path(self.policy.anchor_file) if self.policy.anchor_file else None

    def tick(self) -> Anchor | None:
        """Anchor the head if it is due; the anchor written, or None."""
        if not (self.policy.channel or self.policy.anchor_file):
            return None
        head = self.head()
        if head is None or (self._last is not None and self._last.id == head.id):
            return None
        now = self.clock.now()
        if self._last_at is not None and now - self._last_at < self.policy.every:
            return None
        anchor = Anchor(head.id, head.hash, now.isoformat())
        try:
            if self.file is not None:
                self._append(self.file, anchor)
            if self.policy.channel and self.post is not None:
                text = (
                    f":lock: Audit anchor: row #{anchor.id}, sha256 `{anchor.hash}` "
                    f"({anchor.at}). `chatops audit verify` checks the trail against it."
                )
                self.post(self.policy.channel, text)
        except Exception:  # the next sweep tries again
            log.exception("could not anchor the audit chain")
            return None
        self._last, self._last_at = anchor, now
        log.info("audit chain anchored at row %s", anchor.id)
        return anchor

    @staticmethod
    def _append(path: Path, anchor: Anchor) -> None:
        line = json.dumps({"id": anchor.id, "hash": anchor.hash, "at": anchor.at}) + "\n"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
