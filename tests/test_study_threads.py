"""Sweep settings side by side in threads: the numbers of one at a time, and a clean stop."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace

import pytest
from _study_helpers import SMALL_STUDY, tiny_dataset

from aescope.runmap import Stopped, ThreadMap, local_map
from aescope.study import run_study

# two epochs (so early stopping can act) and more settings than threads
SMALL = replace(SMALL_STUDY, epochs=2, latents=(4, 8), l1s=(0.0, 0.01))
RUN_NUMBERS = ("train_loss", "val_loss", "threshold", "detection", "latent", "epochs_run")


def _square_later(x: int) -> int:
    time.sleep(0.02 * (5 - x))
    return x * x


def test_a_thread_map_yields_every_call_once_as_they_finish():
    calls = ((x,) for x in range(5))  # read lazily, a few ahead
    got = list(ThreadMap(2)(_square_later, calls))
    assert sorted(got) == sorted(local_map(_square_later, [(x,) for x in range(5)]))
    assert len(got) == 5


def test_a_thread_map_left_early_stops_its_running_calls_at_their_next_check():
    runs = ThreadMap(2)
    stopped = []

    def long_call(x: int) -> int:
        try:
            for _ in range(500):  # 10 s unless stopped
                time.sleep(0.02)
                runs.check()
        except Stopped:
            stopped.append(x)
            raise
        return x

    def quick_then_long(x: int) -> int:
        return x if x == 0 else long_call(x)

    started = time.perf_counter()
    results = runs(quick_then_long, [(x,) for x in range(3)])
    assert next(results) == (0, 0)
    results.close()  # the consumer is gone: an error or Ctrl-C upstream
    assert time.perf_counter() - started < 5
    assert stopped and all(x > 0 for x in stopped)
    # the pool's threads are gone
    assert not [t for t in threading.enumerate() if t.name.startswith("aescope-run")]


def test_a_thread_map_passes_a_call_s_error_on():
    def fails(x: int) -> int:
        raise ValueError(f"bad {x}")

    with pytest.raises(ValueError, match="bad 0"):
        list(ThreadMap(2)(fails, [(0,)]))


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_a_thread_map_needs_a_positive_count(workers):
    with pytest.raises(ValueError, match="positive integer"):
        ThreadMap(workers)


def _numbers(results: dict) -> dict:
    runs = [*results["q1"]["runs"], *(r for rs in results["runs"].values() for r in rs)]
    runs += results["q6_protocol"]
    return {(r["sweep"], r["label"], r["seed"]): {k: r[k] for k in RUN_NUMBERS} for r in runs}


def test_study_settings_side_by_side_give_the_numbers_of_one_at_a_time(tmp_path, monkeypatch):
    import aescope.study.report

    # The report is written from the results dict either way; only numbers matter here.
    monkeypatch.setattr(aescope.study.report, "write_outputs", lambda *a, **k: None)
    data = tiny_dataset()
    alone = run_study(data, tmp_path / "alone", SMALL, progress=False)
    threads = run_study(data, tmp_path / "threads", SMALL, progress=False, map_runs=ThreadMap(2))
    assert _numbers(threads.results) == _numbers(alone.results)
    assert threads.results["answers"] == alone.results["answers"]
    assert sorted(p.name for p in (tmp_path / "threads" / "cache").iterdir()) == sorted(
        p.name for p in (tmp_path / "alone" / "cache").iterdir()
    )
    settings = threads.results["timing"]["settings"]
    assert settings["shared"] == alone.results["timing"]["settings"]["shared"]
    assert len(settings["shared"]) == 1
    assert (
        threads.results["timing"]["settings_ran"] == "up to 2 at a time in threads of one process"
    )
    assert alone.results["timing"]["settings_ran"] == "one at a time"


def test_calls_queued_when_a_thread_map_is_left_do_not_start():
    runs = ThreadMap(1)
    started = []

    def call(x: int) -> int:
        started.append(x)
        time.sleep(0.05)
        return x

    results = runs(call, [(x,) for x in range(6)])  # one runs, one more is queued
    assert next(results) == (0, 0)
    results.close()
    time.sleep(0.2)
    assert started in ([0], [0, 1])  # at most the one queued at the time; the rest never
    with pytest.raises(Stopped):  # a call the pool picks up after the map was left
        runs._unless_stopped(call, (9,))
    assert 9 not in started


def test_files_written_from_two_threads_keep_the_process_umask(tmp_path):
    """os.umask can only be read by setting it; the atomic writer must not race on it."""
    from aescope._atomic import _umask, atomic_open

    before = os.umask(0o022)
    try:
        assert _umask() == 0o022

        def write(i: int) -> None:
            for j in range(200):
                with atomic_open(tmp_path / f"{i}-{j}.txt") as handle:
                    handle.write("x")

        threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert _umask() == 0o022
        modes = {p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
        assert modes == {0o644}
    finally:
        os.umask(before)
