"""The engine's services, as front ends (Slack, the console, agents) are given them."""

from __future__ import annotations

from dataclasses import dataclass

from chatops.engine.approvals.changes import ChangeService
from chatops.engine.approvals.freezing import FreezeService
from chatops.engine.domain.roles import Roles
from chatops.engine.incidents.oncall import OnCall
from chatops.engine.incidents.postmortem_service import PostMortems
from chatops.engine.planning.config import Config
from chatops.engine.planning.runbook import Runbook
from chatops.engine.ports import Clock
from chatops.engine.runs.insights import Insights
from chatops.engine.runs.operations import Operations
from chatops.engine.runs.pages import RunPages
from chatops.engine.runs.queries import Queries

__all__ = ["Services"]


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
    freezes: FreezeService
    pages: RunPages
    insights: Insights
