"""What a command tells its operator: known errors in one line, and progress.

`OperatorError` is a known error: its message is one line naming what failed, the file or
semester, and the next step. `pmp` prints it on stderr and exits with 1, without a traceback
(unless `pmp --debug`); a Dagster run shows it as the step's error.

`Progress` is what the long operations (ingest, publication, backfill, the demo generator)
report to: the stage they are in and, where they count steps, each step done. They never
print. `pmp` shows it with rich on a terminal (`RichProgress`) and as log lines otherwise
(`LineProgress`), as the Dagster assets do with their run log. `SILENT` reports nothing.
Like `paths`, this module is below every wing and imports none of them.
"""

import time
from collections.abc import Callable
from typing import Protocol


class OperatorError(Exception):
    """A known error: one line with what failed, the file or semester, and the next step."""


class Progress(Protocol):
    def stage(self, name: str, total: int | None = None) -> None:
        """A new stage begins (the one before it is done), with its number of steps if known."""

    def advance(self, step: str = "") -> None:
        """One step of the current stage is done; `step` names it (a school, a file)."""


class _Silent:
    def stage(self, name: str, total: int | None = None) -> None:
        pass

    def advance(self, step: str = "") -> None:
        pass


SILENT: Progress = _Silent()


class LineProgress:
    """One line per stage and per step: `[  12.3 s] ingest partitions 3/19 OVG`, the time
    elapsed since the operation began. `write` is the log: stderr, or a Dagster run's
    `context.log.info`."""

    def __init__(self, write: Callable[[str], None]):
        self.write = write
        self.started = time.perf_counter()
        self.name = ""
        self.total: int | None = None
        self.done = 0

    def _line(self, text: str) -> None:
        self.write(f"[{time.perf_counter() - self.started:7.1f} s] {text}")

    def stage(self, name: str, total: int | None = None) -> None:
        self.name, self.total, self.done = name, total, 0
        self._line(name if total is None else f"{name} 0/{total}")

    def advance(self, step: str = "") -> None:
        self.done += 1
        count = f"{self.done}" if self.total is None else f"{self.done}/{self.total}"
        self._line(f"{self.name} {count} {step}".rstrip())


class RichProgress:
    """A live display on the terminal (stderr): one line per stage with its spinner, count,
    bar and elapsed time. Use it as a context manager."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as Display

        self.display = Display(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
            MofNCompleteColumn(), TimeElapsedColumn(), console=Console(stderr=True),
        )  # fmt: skip
        self.task = None

    def __enter__(self) -> "RichProgress":
        self.display.start()
        return self

    def __exit__(self, error: type[BaseException] | None, *_: object) -> None:
        if error is None:
            self._finish()
        self.display.stop()

    def _finish(self) -> None:
        """The current stage is done: a stage without a count shows as one step done."""
        if self.task is not None:
            task = self.display.tasks[-1]
            done = max(task.completed, 1)
            self.display.update(self.task, total=max(task.total or 0, done), completed=done)
            self.display.stop_task(self.task)

    def stage(self, name: str, total: int | None = None) -> None:
        self._finish()
        self.task = self.display.add_task(name, total=total)

    def advance(self, step: str = "") -> None:
        if self.task is not None:
            self.display.advance(self.task)
