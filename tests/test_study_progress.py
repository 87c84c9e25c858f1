"""The study's progress bar: time left from the pace of the training so far."""

from __future__ import annotations

from aescope.engine import EpochReport
from aescope.study import progress as P
from aescope.study.progress import StudyProgress, duration


def report(epoch: int, epochs: int) -> EpochReport:
    return EpochReport(
        epoch=epoch,
        epochs=epochs,
        train_loss=(0.1,),
        train_objective=(0.1,),
        val_loss=(0.1,),
        seconds=1.0,
        active=(True,),
    )


def test_duration_is_rounded_as_an_estimate():
    assert duration(3) == "about 5 s"
    assert duration(42) == "about 40 s"
    assert duration(430) == "about 7 min"


def test_time_left_follows_the_arithmetic_still_planned(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(P.time, "perf_counter", lambda: now[0])
    bar = StudyProgress([100.0, 300.0, 600.0], enabled=False)
    assert bar.time_left() == ""  # nothing measured yet
    bar.start("small", 100.0)
    now[0] = 10.0
    bar(report(4, 10))  # half of the first setting (50 units) in 10 s
    assert bar.time_left() == "about 3 min left"  # 950 units at 0.2 s each
    bar(report(9, 10))
    bar.done()
    assert bar.time_left() == "about 2 min left"  # 900 units at 0.1 s each
    bar.start("from the cache", 300.0)
    now[0] = 500.0  # loading took long, but says nothing about the pace of training
    bar.done()
    assert bar.time_left() == "about 60 s left"  # 600 units at 0.1 s each


def test_the_bars_render_through_a_whole_setting():
    from rich.console import Console

    console = Console(record=True, width=120, force_terminal=True)
    with StudyProgress([10.0, 10.0], console=console) as bar:
        for setting in ("depth: depth 1", "depth: depth 2"):  # the epoch bar is reset between
            bar.start(setting, 10.0)
            bar(report(0, 2))
            bar._progress.refresh()  # renders now, in this thread: a missing field raises
            bar.done()
    assert "depth: depth 2" in console.export_text()


def test_settings_trained_elsewhere_set_the_pace_by_their_finishing_times(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(P.time, "perf_counter", lambda: now[0])
    bar = StudyProgress([100.0, 100.0, 200.0], enabled=False)
    now[0] = 30.0  # two settings side by side; the first finishes after 30 s
    bar.start("latent: latent 2", 100.0)
    bar.trained_elsewhere(30.0)
    bar.done()
    assert bar.time_left() == "about 2 min left"  # 300 units at 0.3 s each
    now[0] = 40.0  # the second finished 10 s later: 200 units in 40 s
    bar.start("latent: latent 4", 100.0)
    bar.trained_elsewhere(10.0)
    bar.done()
    assert bar.time_left() == "about 40 s left"  # 200 units at 0.2 s each
