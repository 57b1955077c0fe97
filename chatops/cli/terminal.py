"""A Notifier that prints a run's progress to the terminal."""

from __future__ import annotations

import sys
from typing import TextIO

from chatops.engine.result import CommandResult
from chatops.engine.run import RunView


class TerminalNotifier:
    def __init__(self, out: TextIO | None = None, stream_output: bool = False) -> None:
        self.out = out or sys.stdout
        self.stream_output = stream_output

    def _say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def run_event(self, run: RunView, event: str, detail: dict[str, object]) -> None:
        tag = f"run #{run.id}"
        match event:
            case "step.started":
                prefix = "rollback " if detail.get("phase") == "rollback" else ""
                self._say(f"{tag}: {prefix}{detail['step']} ...")
            case "step.finished":
                results = detail.get("results") or []
                assert isinstance(results, list)
                for r in results:
                    assert isinstance(r, CommandResult)
                    self._say(f"{tag}:   {r.host}: {r.code} in {r.duration:.1f}s")
                    if not r.ok:
                        if r.error:
                            self._say(f"{tag}:     {r.error}")
                        tail = r.tail_lines(10)
                        for line in tail.splitlines() if tail.strip() != r.error.strip() else []:
                            self._say(f"{tag}:     | {line}")
            case "step.output":
                if self.stream_output:
                    self.out.write(str(detail.get("chunk", "")))
            case "waiting":
                self._say(f"{tag}: waiting at step {detail.get('step')} for a person")
            case "rolling_back":
                self._say(f"{tag}: rolling back ({detail.get('reason')})")
            case "finished":
                self._say(f"{tag}: {run.state.value}" + (f" ({run.error})" if run.error else ""))
            case "interrupted":
                self._say(f"{tag}: interrupted at step {detail.get('step')}")
            case _:
                pass
