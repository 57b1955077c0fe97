"""The engine's services, as front ends (Slack, the console, agents) are given them."""

from __future__ import annotations

from dataclasses import dataclass

from chatops.engine.changes import ChangeService
from chatops.engine.config import Config
from chatops.engine.oncall import OnCall
from chatops.engine.operations import Operations
from chatops.engine.ports import Clock
from chatops.engine.postmortem_service import PostMortems
from chatops.engine.queries import Queries
from chatops.engine.roles import Roles
from chatops.engine.runbook import Runbook


@dataclass
class Services:
    config: Config
    runbooks: dict[str, Runbook]
    clock: Clock
    roles: Roles
    changes: ChangeService
    ops: Operations
    queries: Queries
    postmortems: PostMortems
    oncall: OnCall
