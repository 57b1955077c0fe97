"""A Notifier that prints a run's progress to the terminal."""

from __future__ import annotations

import sys
from typing import TextIO

from chatops.engine.events import (
    Event,
    RollbackStarted,
    RunFinished,
    RunInterrupted,
    RunWaiting,
    StepFinished,
    StepOutput,
    StepStarted,
)


class TerminalNotifier:
    def __init__(self, out: TextIO | None = None, stream_output: bool = False) -> None:
        self.out = out or sys.stdout
        self.stream_output = stream_output

    def _say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def publish(self, event: Event) -> None:
        tag = f"run #{event.run.id}"
        match event:
            case StepStarted(step=step, phase=phase):
                self._say(f"{tag}: {'rollback ' if phase == 'rollback' else ''}{step} ...")
            case StepFinished(results=results):
                for r in results:
                    self._say(f"{tag}:   {r.host}: {r.code} in {r.duration:.1f}s")
                    if not r.ok:
                        if r.error:
                            self._say(f"{tag}:     {r.error}")
                        tail = r.tail_lines(10)
                        for line in tail.splitlines() if tail.strip() != r.error.strip() else []:
                            self._say(f"{tag}:     | {line}")
            case StepOutput(chunk=chunk):
                if self.stream_output:
                    self.out.write(chunk)
            case RunWaiting(step=step):
                self._say(f"{tag}: waiting at step {step} for a person")
            case RollbackStarted(reason=reason):
                self._say(f"{tag}: rolling back ({reason})")
            case RunFinished(run=run):
                self._say(f"{tag}: {run.state.value}" + (f" ({run.error})" if run.error else ""))
            case RunInterrupted(step=step):
                self._say(f"{tag}: interrupted at step {step}")
            case _:
                pass
