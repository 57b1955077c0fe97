"""Agents' proposals: the seed's delegation rules decide what an agent may ask for; people
approve. Mixed into ChangeService, which provides these attributes and helpers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatops.engine.agents.identity import Agent
from chatops.engine.agents.rules import principal, proposal_refusal
from chatops.engine.planning.config import Config
from chatops.engine.planning.plan import Plan
from chatops.engine.planning.planner import build_plan
from chatops.engine.planning.runbook import Runbook
from chatops.engine.ports import Clock
from chatops.engine.runs.run import RunView
from chatops.errors import PermissionDenied

if TYPE_CHECKING:
    from chatops.engine.approvals.changes import Requested


class Proposals:
    config: Config
    clock: Clock

    def runbook(self, name: str) -> Runbook:
        raise NotImplementedError

    def _deny(
        self, actor: str, action: str, reason: str, run: RunView | None = None
    ) -> PermissionDenied:
        raise NotImplementedError

    def _submit(
        self, plan: Plan, requester: str, imported: bool = False, origin: str = ""
    ) -> Requested:
        raise NotImplementedError

    def propose(
        self,
        agent: Agent,
        process: str,
        params: dict[str, str],
        *,
        reason: str,
        on_behalf_of: str | None = None,
        origin: str = "",
    ) -> Requested:
        """An agent proposes a change: the seed's delegation rules decide whether it may
        (refusals are audited with the seed's reason); people approve it, never an agent, and
        four-eyes covers the person it acts for."""
        rb = self.runbook(process)
        who = principal(agent)
        refused = proposal_refusal(agent, rb, params.get("service"))
        if refused is not None:
            raise self._deny(who, "propose", refused)
        plan = build_plan(
            rb, self.config, params, requester=who, now=self.clock.now(), request=reason
        )
        plan = plan.model_copy(update={"on_behalf_of": on_behalf_of})
        return self._submit(plan, who, origin=origin)
