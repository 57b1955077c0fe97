"""A Notifier that prints a run's progress to the terminal."""

from __future__ import annotations

import sys
from typing import TextIO

from chatops.engine.bus import Handlers
from chatops.engine.domain.events import (
    Event,
    RollbackStarted,
    RunFinished,
    RunInterrupted,
    RunTakenOver,
    RunWaiting,
    StepFinished,
    StepOutput,
    StepStarted,
)


class TerminalNotifier:
    def __init__(self, out: TextIO | None = None, stream_output: bool = False) -> None:
        self.out = out or sys.stdout
        self.stream_output = stream_output
        self.handlers = (
            Handlers[str]()
            .on(StepStarted, self.on_step_started)
            .on(StepFinished, self.on_step_finished)
            .on(StepOutput, self.on_step_output)
            .on(RunWaiting, self.on_waiting)
            .on(RollbackStarted, lambda e, tag: self._say(f"{tag}: rolling back ({e.reason})"))
            .on(RunFinished, self.on_finished)
            .on(RunInterrupted, lambda e, tag: self._say(f"{tag}: interrupted at step {e.step}"))
            .on(RunTakenOver, lambda e, tag: self._say(f"{tag}: taken over by {e.by}"))
        )

    def _say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def publish(self, event: Event) -> None:
        self.handlers.handle(event, f"run #{event.run.id}")

    def on_step_started(self, e: StepStarted, tag: str) -> None:
        self._say(f"{tag}: {'rollback ' if e.phase == 'rollback' else ''}{e.step} ...")

    def on_step_finished(self, e: StepFinished, tag: str) -> None:
        for r in e.results:
            self._say(f"{tag}:   {r.host}: {r.code} in {r.duration:.1f}s")
            if r.ok:
                continue
            if r.error:
                self._say(f"{tag}:     {r.error}")
            tail = r.tail_lines(10)
            for line in tail.splitlines() if tail.strip() != r.error.strip() else []:
                self._say(f"{tag}:     | {line}")

    def on_step_output(self, e: StepOutput, tag: str) -> None:
        if self.stream_output:
            self.out.write(e.chunk)

    def on_waiting(self, e: RunWaiting, tag: str) -> None:
        self._say(f"{tag}: waiting at step {e.step} for a person")

    def on_finished(self, e: RunFinished, tag: str) -> None:
        run = e.run
        self._say(f"{tag}: {run.state.value}" + (f" ({run.error})" if run.error else ""))
