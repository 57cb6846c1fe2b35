"""Batch progress: a rich bar with the ETA on a terminal, plain lines in CI logs and files."""

from __future__ import annotations

import time
from typing import Protocol, TextIO


class Progress(Protocol):
    def start(self, total: int, unchanged: int, jobs: int, engine: str) -> None: ...
    def advance(self, label: str, outcome: dict) -> None: ...
    def close(self) -> None: ...


def make_progress(stream: TextIO, *, interactive: bool) -> Progress:
    return RichProgress(stream) if interactive else LineProgress(stream)


def describe(outcome: dict) -> str:
    """``17.5/20`` or ``not graded (grading failed; timed out)``, and any flags."""
    flags = "; ".join(outcome.get("flags", []))
    if not outcome.get("ok"):
        return f"not graded ({flags})"
    from grader.batch.gradebook import points

    text = f"{points(outcome['score'])}/{points(outcome['max_score'])}"
    return text + (f" ({flags})" if flags else "")


def eta(elapsed: float, done: int, total: int) -> str:
    if done == 0 or done >= total:
        return "-"
    left = round(elapsed / done * (total - done))
    return f"{left // 60}m{left % 60:02d}s" if left >= 60 else f"{left}s"


class LineProgress:
    """One line per finished submission: ``[3/20] alice: 17.5/20 (12.3 s), ETA 2m10s``."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.done = self.total = 0
        self.started = time.monotonic()

    def _say(self, line: str) -> None:
        print(line, file=self.stream, flush=True)

    def start(self, total: int, unchanged: int, jobs: int, engine: str) -> None:
        self.total, self.started = total, time.monotonic()
        self._say(f"grading {total} submission(s) with the {engine} engine, {jobs} at a time"
                  + (f"; {unchanged} unchanged since their last grading, not graded again"
                     if unchanged else ""))

    def advance(self, label: str, outcome: dict) -> None:
        self.done += 1
        self._say(f"[{self.done}/{self.total}] {label}: {describe(outcome)} "
                  f"({outcome.get('seconds', 0):.1f} s), "
                  f"ETA {eta(time.monotonic() - self.started, self.done, self.total)}")

    def close(self) -> None:
        pass


class RichProgress:
    """A rich bar: done/total, elapsed, time remaining, and the last submission finished."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        self.console = Console(file=stream)
        self.bar = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                            TextColumn("{task.description}"), console=self.console,
                            transient=False)
        self.task = None

    def start(self, total: int, unchanged: int, jobs: int, engine: str) -> None:
        if unchanged:
            self.console.print(f"{unchanged} submission(s) unchanged since their last grading: "
                               "not graded again")
        self.bar.start()
        self.task = self.bar.add_task(f"{engine}, {jobs} at a time", total=total)

    def advance(self, label: str, outcome: dict) -> None:
        self.bar.advance(self.task)
        from rich.markup import escape  # names and flags are text, not markup

        self.bar.update(self.task, description=escape(f"{label}: {describe(outcome)}"))

    def close(self) -> None:
        self.bar.stop()
