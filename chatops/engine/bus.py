"""One typed registry from an event's type to its handlers.

    handlers = Handlers[RunMessages]()
    handlers.on(ev.RunApproved, self.on_approved)  # mypy: on_approved takes a RunApproved
    handlers.handle(event, messages)

A consumer declares what it handles in one place; `handles` says whether an event type has a
handler (the architecture test asks it of the Slack thread). The events reach a consumer by
one of two deliveries of the same stream: right after the commit that wrote them (a
listener of this process) or from the outbox at the consumer's own position (a feed); the
handlers are the same either way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar, cast

from chatops.engine.domain.events import Event

__all__ = ["Handlers"]

E = TypeVar("E", bound=Event)
C = TypeVar("C")


class Handlers(Generic[C]):
    """Event type -> the handlers of that exact type, each given the event and a context
    of type `C` the consumer passes along (the run's Slack messages, say)."""

    def __init__(self) -> None:
        self._table: dict[type[Event], list[Callable[[Event, C], None]]] = {}

    def on(self, kind: type[E], handler: Callable[[E, C], None]) -> Handlers[C]:
        # the table is keyed by the type the handler was registered for, so a handler is
        # only ever given an event of its own type: the cast is that fact
        self._table.setdefault(kind, []).append(cast(Callable[[Event, C], None], handler))
        return self

    def handles(self, kind: type[Event]) -> bool:
        return kind in self._table

    @property
    def kinds(self) -> frozenset[type[Event]]:
        return frozenset(self._table)

    def handle(self, event: Event, context: C) -> bool:
        """Run the handlers of this event's type; False if it has none."""
        found = self._table.get(type(event))
        if not found:
            return False
        for handler in found:
            handler(event, context)
        return True
