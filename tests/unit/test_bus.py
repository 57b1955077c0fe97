"""The typed registry of event handlers: by exact type, in order, with the consumer's context."""

from __future__ import annotations

from datetime import UTC, datetime

from chatops.engine.bus import Handlers
from chatops.engine.domain import events as ev
from chatops.engine.domain.run import RunState, RunView

AT = datetime(2026, 12, 1, tzinfo=UTC)


def run(state: RunState = RunState.RUNNING) -> RunView:
    return RunView(7, "t-7", "abc", "deploy", "deploy", "web", "production", state, "U1", AT, AT)


def test_handlers_run_in_order_for_their_own_type_only() -> None:
    seen: list[tuple[str, str]] = []
    handlers = Handlers[str]()
    handlers.on(ev.RunStarted, lambda e, ctx: seen.append(("started", ctx)))
    handlers.on(ev.RunFinished, lambda e, ctx: seen.append((f"finished {e.state.value}", ctx)))
    handlers.on(ev.RunFinished, lambda e, ctx: seen.append(("second", ctx)))
    assert handlers.handle(ev.RunFinished(run(), RunState.SUCCEEDED), "thread-1")
    assert handlers.handle(ev.RunStarted(run()), "thread-2")
    assert not handlers.handle(ev.RunExpired(run(RunState.EXPIRED)), "thread-3")
    assert seen == [
        ("finished succeeded", "thread-1"),
        ("second", "thread-1"),
        ("started", "thread-2"),
    ]
    assert handlers.kinds == {ev.RunStarted, ev.RunFinished}
    assert handlers.handles(ev.RunStarted) and not handlers.handles(ev.Event)
