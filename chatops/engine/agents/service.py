"""Adding, listing, revoking and authenticating agents; every step audited."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from chatops.engine.domain.agent_rules import AGENT_PREFIX, is_agent
from chatops.engine.domain.identity import NAME, PERSON, ROLES, Agent, new_token, token_hash
from chatops.engine.domain.roles import Roles
from chatops.engine.domain.run import AuditEvent
from chatops.engine.planning.config import Config
from chatops.engine.planning.runbook import Runbook
from chatops.engine.ports import Clock
from chatops.engine.unit_of_work import Transactions
from chatops.errors import NotAuthenticated, NotFound, ParameterError, PermissionDenied

__all__ = ["AgentService"]


class AgentService:
    def __init__(
        self,
        tx: Transactions,
        clock: Clock,
        config: Config,
        runbooks: dict[str, Runbook],
        roles: Roles,
    ) -> None:
        self.tx = tx
        self.clock = clock
        self.config = config
        self.runbooks = runbooks
        self.roles = roles

    def _lead(self, user: str, action: str) -> None:
        """Agents act on production: only a lead gives or takes their tokens (audited)."""
        if "lead" not in self.roles.of(user):
            self._audit(user, f"denied.{action}", "not a lead")
            raise PermissionDenied("only a lead may add or revoke agents")

    def _audit(self, actor: str, action: str, detail: str) -> None:
        with self.tx() as t:
            t.audit.append(AuditEvent(self.clock.now(), actor, action, detail=detail))
            t.commit()

    def add(
        self,
        name: str,
        role: str,
        *,
        by: str,
        services: Sequence[str] = (),
        processes: Sequence[str] = (),
        expires: timedelta | None = None,
        acts_for: Sequence[str] = (),
    ) -> tuple[Agent, str]:
        """A new agent and its token (shown once; only its hash is kept). Only a lead may."""
        self._lead(by, "agent_add")
        if not NAME.fullmatch(name):
            raise ParameterError(
                f"agent name {name!r}: lowercase letters, digits and '-', 2-40, a letter first"
            )
        if role not in ROLES:
            raise ParameterError(f"role {role!r}: one of {', '.join(ROLES)}")
        unknown = [s for s in services if s not in self.config.services]
        if unknown:
            raise ParameterError(f"unknown service(s): {', '.join(unknown)}")
        unknown = [p for p in processes if p not in self.runbooks]
        if unknown:
            raise ParameterError(f"unknown process(es): {', '.join(unknown)}")
        odd = [p for p in acts_for if not PERSON.fullmatch(p)]
        if odd:
            raise ParameterError(
                f"--for {', '.join(map(repr, odd))}: Slack user ids (U0123ABCD), the people "
                "it may act for"
            )
        now = self.clock.now()
        agent = Agent(
            name,
            role,
            tuple(services),
            tuple(processes),
            by,
            now,
            now + expires if expires is not None else None,
            acts_for=tuple(dict.fromkeys(acts_for)),
        )
        token = new_token()
        with self.tx() as t:
            if not t.agents.add(agent, token_hash(token)):
                raise ParameterError(f"an agent named {name!r} exists already")
            scope = (
                f"role {role}; services {', '.join(services) or 'all'}; "
                f"processes {', '.join(processes) or 'all its role allows'}; "
                f"acts for {', '.join(agent.acts_for) or 'nobody'}; "
                f"expires {agent.expires_at.isoformat() if agent.expires_at else 'never'}"
            )
            t.audit.append(AuditEvent(now, by, "agent.added", detail=f"{name}: {scope}"))
            t.commit()
        return agent, token

    def list(self) -> list[Agent]:
        with self.tx() as t:
            return t.agents.all()

    def revoke(self, name: str, *, by: str) -> Agent:
        self._lead(by, "agent_revoke")
        with self.tx() as t:
            if t.agents.get(name) is None:
                raise NotFound(f"no agent named {name!r}")
            if not t.agents.revoke(name, self.clock.now()):
                raise ParameterError(f"agent {name!r} is revoked already")
            t.audit.append(AuditEvent(self.clock.now(), by, "agent.revoked", detail=name))
            agent = t.agents.get(name)
            assert agent is not None
            t.commit()
            return agent

    def roles_of(self, who: str) -> frozenset[str]:
        """The role an agent holds now (`agent:<name>`, active: not revoked or expired);
        none for anyone else."""
        if not is_agent(who):
            return frozenset()
        with self.tx() as t:
            agent = t.agents.get(who.removeprefix(AGENT_PREFIX))
        if agent is None or agent.state(self.clock.now()) != "active":
            return frozenset()
        return frozenset({agent.role})

    def authenticate(self, token: str, *, audit: bool = True) -> Agent:
        """The agent a bearer token names, if it is active. Refusals are audited (without the
        token; `audit=False` to only look) and say why only as much as is safe: unknown,
        revoked or expired."""
        with self.tx() as t:
            agent = t.agents.by_token_hash(token_hash(token)) if token else None
        if agent is None:
            if audit:
                self._audit("unknown-agent", "denied.agent", "a token no agent holds")
            raise NotAuthenticated("unknown agent token")
        state = agent.state(self.clock.now())
        if state != "active":
            if audit:
                self._audit(f"agent:{agent.name}", "denied.agent", f"token {state}")
            raise NotAuthenticated(f"agent {agent.name}'s token is {state}")
        return agent
