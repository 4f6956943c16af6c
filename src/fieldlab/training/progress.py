"""A Rich progress bar for training: steps (or seconds), loss, steps per second, current error."""

from __future__ import annotations

import math

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class TrainingProgress:
    """Context manager; ``update(done, **info)``. Silent when ``enabled`` is false."""

    def __init__(self, total: float, unit: str, enabled: bool = True, console: Console | None = None):
        self.enabled, self.unit, self.total = enabled, unit, total
        self._progress = None
        if enabled:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:.0f}/{task.total:.0f} " + unit),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console or Console(stderr=True),
                transient=False,
            )

    def __enter__(self):
        if self._progress is not None:
            self._progress.__enter__()
            self._task = self._progress.add_task("training", total=self.total, info="compiling...")
        return self

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def note(self, text: str) -> None:
        """Print one line above the bar (nothing when the bar is off)."""
        if self._progress is not None:
            self._progress.console.print(text, highlight=False, soft_wrap=True)

    def update(self, done: float, stage: str, loss: float, steps_per_s: float, rel_l2: float | None):
        if self._progress is None:
            return
        err = "" if rel_l2 is None or math.isnan(rel_l2) else f"  rel L2 {rel_l2:.2e}"
        info = f"loss {loss:.3e}  {steps_per_s:,.0f} it/s{err}"
        self._progress.update(self._task, completed=min(done, self.total), description=stage, info=info)
