"""Two progress bars for a study: settings done (with cache hits), epochs of the current one."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from aescope.engine import EpochReport
from aescope.progress import losses_text


class StudyProgress:
    """``with StudyProgress(total) as p: p.start(label); train(..., on_epoch=p); p.done()``."""

    def __init__(self, total: int, console: Console | None = None, enabled: bool = True) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            disable=not enabled,
        )
        self._runs = self._progress.add_task("study runs", total=total, info="")
        self._epochs = self._progress.add_task("epochs", total=1, info="", visible=False)
        self.cached = 0
        self.finished = 0

    def __enter__(self) -> StudyProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def start(self, label: str) -> None:
        self._progress.update(self._runs, info=label)
        self._progress.reset(self._epochs, total=1, visible=False, description=label, info="")

    def __call__(self, report: EpochReport) -> None:
        self._progress.update(
            self._epochs,
            total=report.epochs,
            completed=report.epoch + 1,
            visible=True,
            info=losses_text(report),
        )

    def done(self, cached: bool) -> None:
        """A setting is finished (trained or loaded from the cache)."""
        self.cached += int(cached)
        self.finished += 1
        self._progress.advance(self._runs)
        self._progress.update(self._epochs, visible=False)

    def skip(self) -> None:
        """A setting that is not needed (question 1's search already succeeded)."""
        self._progress.advance(self._runs)
