"""Console output of a run: a rich progress bar per epoch, or one plain line per epoch when quiet."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from transferkit.core import console


class RunLog:
    """Prints run messages on rank 0 only; ``quiet`` drops progress bars (for log files)."""

    def __init__(self, enabled: bool = True, quiet: bool = False):
        self.enabled = enabled
        self.quiet = quiet or not sys.stderr.isatty()
        self.console = Console(stderr=True, highlight=False)

    def info(self, text: str) -> None:
        if self.enabled:
            console.info(text)

    def progress(self, description: str, total: int) -> EpochBar:
        return EpochBar(self, description, total)


class EpochBar:
    """Context manager around one epoch's batches: ``advance(n_images, loss)``."""

    def __init__(self, log: RunLog, description: str, total: int):
        self.log = log
        self._progress = None
        if log.enabled and not log.quiet:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]:.4f}  {task.fields[ips]:.1f} img/s"),
                TimeRemainingColumn(),
                console=log.console,
                transient=True,
            )
            self._task = self._progress.add_task(
                description, total=total, loss=float("nan"), ips=0.0
            )

    def __enter__(self) -> EpochBar:
        if self._progress:
            self._progress.start()
        return self

    def advance(self, loss: float, images_per_second: float) -> None:
        if self._progress:
            self._progress.update(self._task, advance=1, loss=loss, ips=images_per_second)

    def __exit__(self, *exc) -> None:
        if self._progress:
            self._progress.stop()
