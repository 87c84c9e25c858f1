"""A rich progress bar for training, fed by the engine's per-epoch reports.

The engine never prints; it calls ``on_epoch(report)``. :class:`EpochProgress`
turns those calls into one bar per training run showing the latest losses.
Use it as a context manager so the bar is closed even when early stopping
ends training before the last epoch or training fails.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from aescope.engine import EpochReport


class EpochProgress:
    """``with EpochProgress("training") as on_epoch: train(..., on_epoch=on_epoch)``."""

    def __init__(self, description: str = "training", console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[losses]}"),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
        )
        self._description = description
        self._task: int | None = None

    def __enter__(self) -> EpochProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def __call__(self, report: EpochReport) -> None:
        if self._task is None:
            self._task = self._progress.add_task(self._description, total=report.epochs, losses="")
        self._progress.update(self._task, completed=report.epoch + 1, losses=losses_text(report))


def losses_text(report: EpochReport) -> str:
    """The latest losses; with several replicas, the best of each."""
    text = f"loss {min(report.train_loss):.4f}"
    if report.val_loss:
        text += f"  val {min(report.val_loss):.4f}"
    if len(report.train_loss) > 1:
        text += f"  (best of {len(report.train_loss)} replicas)"
    return text
