"""Agents in SQL: looked up by name or by the hash of their token; never by the token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chatops.engine.domain.identity import Agent
from chatops.store.models import AgentRow


def _agent(r: AgentRow) -> Agent:
    return Agent(
        r.name,
        r.role,
        tuple(x for x in r.services.split(",") if x),
        tuple(x for x in r.processes.split(",") if x),
        r.created_by,
        r.created_at,
        r.expires_at,
        r.revoked_at,
        tuple(x for x in (r.acts_for or "").split(",") if x),
    )


class SqlAgents:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, agent: Agent, token_hash: str) -> bool:
        try:
            with self.s.begin_nested():
                self.s.add(
                    AgentRow(
                        name=agent.name,
                        role=agent.role,
                        services=",".join(agent.services),
                        processes=",".join(agent.processes),
                        token_hash=token_hash,
                        created_by=agent.created_by,
                        created_at=agent.created_at,
                        expires_at=agent.expires_at,
                        acts_for=",".join(agent.acts_for),
                    )
                )
            return True
        except IntegrityError:
            return False

    def get(self, name: str) -> Agent | None:
        row = self.s.get(AgentRow, name)
        return _agent(row) if row else None

    def all(self) -> list[Agent]:
        return [_agent(r) for r in self.s.scalars(select(AgentRow).order_by(AgentRow.name))]

    def by_token_hash(self, token_hash: str) -> Agent | None:
        row = self.s.scalar(select(AgentRow).where(AgentRow.token_hash == token_hash))
        return _agent(row) if row else None

    def revoke(self, name: str, now: datetime) -> bool:
        res = self.s.execute(
            update(AgentRow)
            .where(AgentRow.name == name, AgentRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return bool(res.rowcount)  # type: ignore[attr-defined]
