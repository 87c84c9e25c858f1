"""Two progress bars for a study: settings done with the time left, epochs of the current one.

Settings differ a hundredfold in cost (a 1,000-weight network against a
30,000-weight one), so the time left is not "settings left × average": each
setting carries an estimate of its arithmetic (see ``pipeline.work``), the
elapsed time per unit of finished arithmetic is the rate, and the time left is
that rate times the arithmetic still planned. Early stopping ends most
settings before their epoch ceiling, so the estimate errs long, and it
shrinks as settings finish early.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from aescope.engine import EpochReport
from aescope.progress import losses_text


def duration(seconds: float) -> str:
    """``"about 7 min"``, ``"about 40 s"``: a time-left estimate, rounded as one."""
    if seconds >= 90:
        return f"about {round(seconds / 60):d} min"
    return f"about {max(5, round(seconds / 5) * 5):d} s"


class StudyProgress:
    """``with StudyProgress(works) as p: p.start(label, work); train(on_epoch=p); p.done()``."""

    def __init__(
        self, works: Sequence[float], console: Console | None = None, enabled: bool = True
    ) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[left]}"),
            console=console or Console(stderr=True),
            disable=not enabled,
        )
        self._runs = self._progress.add_task("study settings", total=len(works), info="", left="")
        self._epochs = self._progress.add_task("epochs", total=1, info="", left="", visible=False)
        self._planned = float(sum(works))
        self._done = 0.0  # arithmetic of finished (or skipped) settings
        self._current = 0.0
        self._fraction = 0.0  # of the current setting, by epochs
        self._trained_seconds = 0.0  # time spent on settings that trained
        self._trained_work = 0.0
        self._t0 = time.perf_counter()
        self._trained_now = False

    def __enter__(self) -> StudyProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def start(self, label: str, work: float = 0.0) -> None:
        self._current, self._fraction, self._trained_now = work, 0.0, False
        self._t0 = time.perf_counter()
        self._progress.update(self._runs, info=label)
        # reset() replaces a task's fields, so every field a column reads is passed again.
        self._progress.reset(
            self._epochs, total=1, visible=False, description=label, info="", left=""
        )

    def __call__(self, report: EpochReport) -> None:
        self._trained_now = True
        self._fraction = (report.epoch + 1) / max(report.epochs, 1)
        self._progress.update(
            self._epochs,
            total=report.epochs,
            completed=report.epoch + 1,
            visible=True,
            info=losses_text(report),
        )
        self._progress.update(self._runs, left=self.time_left())

    def time_left(self) -> str:
        """Estimated time to the end of the study, from the pace of the training so far."""
        seconds, work = self._trained_seconds, self._trained_work
        if self._trained_now:  # the setting in progress counts for what it has done
            seconds += time.perf_counter() - self._t0
            work += self._fraction * self._current
        left = self._planned - self._done - self._fraction * self._current
        if work <= 0 or seconds <= 0 or left <= 0:
            return ""
        return f"{duration(seconds / work * left)} left"

    def trained_elsewhere(self, seconds: float) -> None:
        """The current setting was trained elsewhere (a run map) in ``seconds`` of this run.

        No epochs were reported here, so the whole setting counts for the pace.
        """
        self._trained_now, self._fraction = True, 1.0
        self._t0 = time.perf_counter() - seconds

    def done(self) -> None:
        """A setting is finished (trained or loaded from the cache)."""
        if self._trained_now:  # loading from the cache says nothing about the pace
            self._trained_seconds += time.perf_counter() - self._t0
            self._trained_work += self._fraction * self._current
        self._done += self._current
        self._current = self._fraction = 0.0
        self._trained_now = False
        self._progress.advance(self._runs)
        self._progress.update(self._epochs, visible=False)
        self._progress.update(self._runs, left=self.time_left())

    def skip(self, work: float = 0.0) -> None:
        """A setting that is not needed (question 1's search already succeeded)."""
        self._done += work
        self._progress.advance(self._runs)
