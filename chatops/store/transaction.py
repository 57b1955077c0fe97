"""The SQL unit of work: the repositories over one session, in one transaction."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from chatops.engine.domain.events import Event
from chatops.engine.ports import Clock
from chatops.engine.unit_of_work import StoreTransaction, Transactions
from chatops.store.agents import SqlAgents
from chatops.store.approvals import SqlApprovals
from chatops.store.audit import SqlAudit
from chatops.store.freezes import SqlFreezes
from chatops.store.outbox import SqlOutbox
from chatops.store.plans import SqlPlans
from chatops.store.postmortems import SqlPostMortems
from chatops.store.runs import SqlRuns
from chatops.store.steps import SqlSteps


class SqlTransaction(StoreTransaction):
    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        session.begin()
        self.plans = SqlPlans(session)
        self.runs = SqlRuns(session)
        self.steps = SqlSteps(session)
        self.approvals = SqlApprovals(session)
        self.audit = SqlAudit(session)
        self.postmortems = SqlPostMortems(session)
        self.outbox = SqlOutbox(session, clock.now())
        self.events = self.outbox
        self.agents = SqlAgents(session)
        self.freezes = SqlFreezes(session)

    def write(self) -> list[Event]:
        try:
            self.session.commit()
        finally:
            self.session.close()
        return self.outbox.added

    def discard(self) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()


def is_transient(exc: BaseException) -> bool:
    """The database is unavailable (refused, restarting, disk full, locked), not a bug: an
    OperationalError or a dropped connection, which a later attempt may get past."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(
        exc,
        sa_exc.OperationalError
        | sa_exc.InterfaceError
        | sa_exc.DisconnectionError
        | sa_exc.TimeoutError,
    )


def sql_transactions(engine: Engine, clock: Clock) -> Transactions:
    make = sessionmaker(engine, expire_on_commit=False, autobegin=False)
    return Transactions(lambda: SqlTransaction(make(), clock), is_transient)
