"""The config in force, re-read without a restart: chatops.yml and the runbooks, looked at
every few seconds and on SIGHUP. A new version is validated whole first; a broken one keeps
the config in force and says why (one log line, /healthz, the leads' App Home, the audit
trail). A good one replaces the config every service holds (`Config.take`) and the runbooks,
so the next approval, page, stream, /logs, command or agent call checks the roles in force at
that moment; a run in flight keeps its stored plan.
"""

from __future__ import annotations

import hashlib
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chatops.adapters.config_files import (
    load_config_or_empty,
    load_runbooks,
    runbooks_dir,
    secret_values,
)
from chatops.engine.planning.config import Config
from chatops.engine.planning.runbook import Runbook
from chatops.engine.redact import Redactor
from chatops.errors import ConfigError

__all__ = ["LOOK_EVERY", "ConfigReload", "InForce"]

log = logging.getLogger(__name__)

LOOK_EVERY = 2.0  # seconds between looks at the files


@dataclass(frozen=True)
class InForce:
    """The config a process serves: its hash, and why the newest version was refused."""

    sha256: str
    error: str | None = None


def _files(config: Path, commands: Path) -> list[Path]:
    folder = runbooks_dir(commands)
    books = sorted(folder.glob("*.yml")) if folder.is_dir() else []
    return [config, *books]


def _signature(files: list[Path]) -> tuple[tuple[str, int, int], ...]:
    out = []
    for f in files:
        try:
            st = f.stat()
            out.append((str(f), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(f), -1, -1))
    return tuple(out)


def digest(config: Path, commands: Path) -> str:
    """sha256 of chatops.yml and every runbook, by name and content."""
    h = hashlib.sha256()
    for f in _files(config, commands):
        h.update(f.name.encode() + b"\0")
        try:
            h.update(f.read_bytes())
        except OSError:
            h.update(b"(missing)")
        h.update(b"\0")
    return h.hexdigest()


class ConfigReload:
    def __init__(
        self,
        config_path: Path,
        commands: Path,
        config: Config,
        runbooks: dict[str, Runbook],
        redactor: Redactor,
        record: Callable[[str, str], None],
        every: float = LOOK_EVERY,
        after: Callable[[Config], None] = lambda _c: None,
    ) -> None:
        self.config_path = config_path
        self.commands = commands
        self.config = config
        self.runbooks = runbooks
        self.redactor = redactor
        self.record = record  # (action, detail): on the audit trail
        self.every = every
        self.after = after  # what else follows the config (the Slack groups read for roles)
        self.state = InForce(digest(config_path, commands))
        self._seen = _signature(_files(config_path, commands))
        self._stop = threading.Event()
        self._now = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="chatops-reload", daemon=True)

    @property
    def sha256(self) -> str:
        return self.state.sha256

    def refused_notice(self) -> str | None:
        """What the leads' App Home says while a changed config is refused (None: it isn't)."""
        refused = self.state.error
        if refused is None:
            return None
        return (
            f":warning: The config files were changed and refused; the config in force "
            f"(sha256 {self.sha256[:12]}) stays until they are fixed: {refused}"
        )

    def start(self) -> ConfigReload:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGHUP, lambda _s, _f: self._now.set())
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._now.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            forced = self._now.wait(self.every)
            self._now.clear()
            if self._stop.is_set():
                return
            try:
                self.check(force=forced)
            except Exception:
                log.exception("could not look at the config files")

    def check(self, force: bool = False) -> bool:
        """Read the files again if they changed (or `force`: SIGHUP); True if a new config
        is now in force."""
        with self._lock:
            files = _files(self.config_path, self.commands)
            seen = _signature(files)
            if seen == self._seen and not force:
                return False
            self._seen = seen
            sha = digest(self.config_path, self.commands)
            if sha == self.state.sha256 and self.state.error is None:
                return False
            try:
                config = load_config_or_empty(self.config_path)
                runbooks = load_runbooks(self.commands)
            except ConfigError as e:
                why = f"{e.source}: {'; '.join(e.problems)}"
                if self.state.error != why:
                    log.warning("the new config is refused, the one in force stays: %s", why)
                    self.record("config.refused", f"sha256 {sha[:12]}: {why}"[:500])
                self.state = InForce(self.state.sha256, why)
                return False
            self.redactor.extend(secret_values(config))
            self.config.take(config)
            for name, book in runbooks.items():
                self.runbooks[name] = book
            for gone in set(self.runbooks) - set(runbooks):
                del self.runbooks[gone]
            self.state = InForce(sha)
            self.after(self.config)
            log.info("config reloaded: sha256 %s", sha[:12])
            self.record("config.reloaded", f"sha256 {sha[:12]} ({len(runbooks)} runbooks)")
            return True
