"""What the change service's parts (handoffs, proposals, expiry) need from ChangeService,
which mixes them in and provides it."""

from __future__ import annotations

from dataclasses import dataclass

from chatops.engine.approvals.roles import Roles
from chatops.engine.domain.run import RunView
from chatops.engine.planning.config import Config
from chatops.engine.planning.plan import Plan
from chatops.engine.planning.policy import Verdict
from chatops.engine.planning.runbook import Runbook
from chatops.engine.ports import Clock
from chatops.engine.unit_of_work import Transactions
from chatops.errors import PermissionDenied


@dataclass(frozen=True)
class Requested:
    plan: Plan
    verdict: Verdict
    run: RunView


class ChangeParts:
    config: Config
    runbooks: dict[str, Runbook]
    tx: Transactions
    clock: Clock
    roles: Roles

    def _audit(
        self,
        actor: str,
        action: str,
        run: RunView | None = None,
        detail: str = "",
        plan: Plan | None = None,
    ) -> None:
        raise NotImplementedError

    def _deny(
        self, actor: str, action: str, reason: str, run: RunView | None = None
    ) -> PermissionDenied:
        raise NotImplementedError
