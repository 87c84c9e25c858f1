"""Sweeps on Dask: the same numbers as the local loop, and the same resumable caches.

``aescope bench`` and ``aescope study`` hand their fits to a run map; here the
fits run as tasks on a LocalCluster of two worker processes (127.0.0.1), and
every quality number must equal the local run's (same seeds, same code: only
the timings differ).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

pytest.importorskip("distributed")

from _study_helpers import SMALL_STUDY, tiny_dataset

from aescope.bench.detectors import select_detectors
from aescope.bench.runner import run_benchmark
from aescope.bench.sources import adbench_sources
from aescope.cli.bench_cmd import bench
from aescope.distributed.dask_engine import DaskRunMap
from aescope.study import run_study

QUALITY = ["dataset", "detector", "seed", "auroc", "auprc", "recall_at_1pct_fpr", "error"]
SMALL = SMALL_STUDY
RUN_NUMBERS = ("train_loss", "val_loss", "threshold", "detection", "latent")


@pytest.fixture(scope="module")
def client(dask_cluster):
    return dask_cluster


@pytest.fixture(scope="module")
def adbench_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("adbench")
    rng = np.random.default_rng(0)
    for name, shift in (("10_far", 6.0), ("2_near", 1.0)):
        x = np.vstack([rng.normal(0, 1, (300, 4)), rng.normal(shift, 1, (20, 4))])
        np.savez(folder / f"{name}.npz", X=x, y=np.r_[np.zeros(300), np.ones(20)])
    return folder


def test_bench_fits_as_tasks_give_the_local_numbers(client, adbench_folder):
    sources = adbench_sources(adbench_folder)
    detectors = select_detectors(["pca", "iforest", "ocsvm"])
    local = run_benchmark(sources, detectors, [0, 1])
    seen = []
    mapped = run_benchmark(
        sources, detectors, [0, 1], map_runs=DaskRunMap(client), on_record=seen.append
    )
    assert len(seen) == len(mapped) == 12
    want, got = pd.DataFrame(local)[QUALITY], pd.DataFrame(mapped)[QUALITY]
    pd.testing.assert_frame_equal(got, want)  # same order, same numbers to the last digit
    assert (got["error"] == "").all()


def test_bench_cli_on_an_existing_scheduler_resumes_like_a_local_run(
    client, adbench_folder, tmp_path
):
    app = typer.Typer()
    app.command()(bench)
    app.callback()(lambda: None)
    out = tmp_path / "out"
    base = ["bench", "--adbench-dir", str(adbench_folder), "--no-creditcard", "--seeds", "2"]
    address = client.scheduler.address
    base += ["--out", str(out), "--scheduler", address]
    first = CliRunner().invoke(app, [*base, "--detectors", "pca"])
    assert first.exit_code == 0, first.output
    assert f"at {address}" in first.output
    again = CliRunner().invoke(app, [*base, "--detectors", "pca,iforest", "--resume"])
    assert again.exit_code == 0, again.output
    assert "(4 done)" in again.output  # the pca rows came from results.csv
    assert len(pd.read_csv(out / "results.csv")) == 8


def _numbers(results: dict) -> dict:
    runs = [*results["q1"]["runs"], *(r for rs in results["runs"].values() for r in rs)]
    return {(r["sweep"], r["label"], r["seed"]): {k: r[k] for k in RUN_NUMBERS} for r in runs}


def test_study_settings_as_tasks_give_the_local_numbers_and_cache(client, tmp_path, monkeypatch):
    import aescope.study.report

    # The report is written from the results dict, whichever way it was made; it has its
    # own tests. Here only the numbers and the cache matter.
    monkeypatch.setattr(aescope.study.report, "write_outputs", lambda *a, **k: None)
    data = tiny_dataset()
    local = run_study(data, tmp_path / "local", SMALL, progress=False)
    mapped = run_study(data, tmp_path / "dask", SMALL, progress=False, map_runs=DaskRunMap(client))
    assert _numbers(mapped.results) == _numbers(local.results)
    assert mapped.results["answers"] == local.results["answers"]
    cached = sorted(p.name for p in (tmp_path / "dask" / "cache").iterdir())
    assert cached == sorted(p.name for p in (tmp_path / "local" / "cache").iterdir())
    # the shared network was trained once, by its first setting, and read back by the other
    settings = mapped.results["timing"]["settings"]
    assert settings["shared"] == local.results["timing"]["settings"]["shared"]
    assert len(settings["shared"]) == 1
    again = run_study(data, tmp_path / "dask", SMALL, progress=False)  # a local resume
    resumed = again.results["timing"]["settings"]
    assert resumed["trained"] == 0 and resumed["total"] == settings["total"]
    assert _numbers(again.results) == _numbers(local.results)
