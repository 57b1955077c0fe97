"""Change freezes in force: declared by leads (`/freeze`, `chatops freeze`), or windows in
chatops.yml. The change service refuses to plan, and the runner to start, anything but a
hotfix (and the processes `freezes.allow` lists) on a frozen service. Everything audited."""

from __future__ import annotations

import re
from datetime import datetime

from chatops.engine.domain.events import RunHeld
from chatops.engine.domain.roles import Roles
from chatops.engine.domain.run import AuditEvent, RunState
from chatops.engine.planning.config import Config
from chatops.engine.planning.durations import parse_duration
from chatops.engine.planning.freezes import Freeze
from chatops.engine.ports import Clock, Freezes, Held
from chatops.engine.unit_of_work import Transactions, UnitOfWork
from chatops.errors import ParameterError, PermissionDenied

__all__ = ["MAX_FREEZE", "FreezeService", "holding", "in_force", "refusal", "tell_held"]

MAX_FREEZE = 14 * 86400  # seconds: a freeze longer than two weeks belongs in chatops.yml


def in_force(
    config: Config, stored: Freezes, clock: Clock, service: str | None = None
) -> list[Freeze]:
    """The freezes in force now (those covering `service`, when given)."""
    now = clock.now()
    found = [*config.freezes.active(now), *stored.active(now)]
    return [f for f in found if service is None or f.covers(service)]


def refusal(
    config: Config, freezes: list[Freeze], process: str, kind: str, service: str | None
) -> str | None:
    """Why `process` may not be planned or started on `service` now; None if it may."""
    if config.freezes.allows(process, kind):
        return None
    for f in freezes:
        if f.covers(service):
            allowed = ", ".join(["hotfix", *config.freezes.allow])
            return f"{f.describe()}: only {allowed} may be planned or started"
    return None


def holding(config: Config, freezes: list[Freeze]) -> Held:
    def held(service: str | None, process: str, kind: str) -> bool:
        return refusal(config, freezes, process, kind, service) is not None

    return held


def tell_held(config: Config, t: UnitOfWork, freezes: list[Freeze], now: datetime) -> None:
    """Say once, in each queued run's thread, which freeze holds it (an event and an audit
    row, once per run and freeze)."""
    for run in t.runs.list(limit=200, states=[RunState.QUEUED]):
        if run.not_before is not None and run.not_before > now:
            continue  # scheduled later: a freeze then is said then
        for f in freezes:
            why = refusal(config, [f], run.runbook, run.kind, run.service)
            if why is None:
                continue
            if any(e.action == "run.held" and e.detail == f.name for e in t.audit.for_run(run.id)):
                break
            t.audit.append(
                AuditEvent(now, "chatops", "run.held", run.id, run.task_id, run.plan_hash, f.name)
            )
            t.events.add(RunHeld(run, why))
            break


class FreezeService:
    def __init__(self, config: Config, tx: Transactions, clock: Clock, roles: Roles) -> None:
        self.config = config
        self.tx = tx
        self.clock = clock
        self.roles = roles

    def active(self, service: str | None = None) -> list[Freeze]:
        with self.tx() as t:
            return in_force(self.config, t.freezes, self.clock, service)

    def _target(self, target: str) -> str | None:
        if target == "all":
            return None
        if target not in self.config.services:
            known = ", ".join(sorted(self.config.services))
            raise ParameterError(f"unknown service {target!r}: all, or one of {known}")
        return target

    def _lead(self, user: str, action: str, detail: str) -> None:
        if "lead" not in self.roles.of(user):
            self._audit(user, f"denied.{action}", f"{detail}: only a lead may")
            raise PermissionDenied(f"only a lead may {action} changes")

    def _audit(self, actor: str, action: str, detail: str) -> None:
        with self.tx() as t:
            t.audit.append(AuditEvent(self.clock.now(), actor, action, detail=detail[:500]))
            t.commit()

    def freeze(self, target: str, duration: str, reason: str, by: str) -> Freeze:
        service = self._target(target)
        self._lead(by, "freeze", target)
        try:
            length = parse_duration(duration)
        except ValueError as e:
            raise ParameterError(str(e)) from None
        if length.total_seconds() > MAX_FREEZE:
            raise ParameterError("at most 14d: a longer freeze belongs in chatops.yml (freezes:)")
        reason = re.sub(r"\s+", " ", reason).strip()[:300]
        if not reason:
            raise ParameterError("say why: a reason is required")
        now = self.clock.now()
        with self.tx() as t:
            fid = t.freezes.add(service, reason, by, now, now + length)
            t.audit.append(
                AuditEvent(
                    now, by, "freeze.added", detail=f"#{fid} {target} for {duration}: {reason}"
                )
            )
            t.commit()
        return Freeze(f"ad hoc #{fid}", (service,) if service else (), reason, now + length, by)

    def unfreeze(self, target: str, by: str) -> int:
        """Lift the ad hoc freezes of `target` (windows stay: they live in chatops.yml)."""
        service = self._target(target)
        self._lead(by, "unfreeze", target)
        with self.tx() as t:
            lifted = t.freezes.lift(service, by, self.clock.now())
            t.audit.append(
                AuditEvent(
                    self.clock.now(), by, "freeze.lifted", detail=f"{target}: {lifted} lifted"
                )
            )
            t.commit()
        return lifted
