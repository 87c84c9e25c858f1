"""`aescope score --engine local|dask|spark` from a folder of Parquet files to a folder.

Every engine must write the rows of the single-file command, in the input's
order (files in natural order: part.2 before part.10), with the same ids,
scores, flags and top features; the output folder appears whole or not at all,
and replaces only a folder an earlier run wrote.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from _scale_helpers import assert_same_scores, scoring_rows, train_small_model
from typer.testing import CliRunner

from aescope._atomic import FOLDER_MARKER
from aescope.cli import app
from aescope.data.parquet_folder import data_files

runner = CliRunner()
FILES = 12


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("engines")
    model = d / "m.aescope"
    train_small_model(model)
    rows = scoring_rows(2400)
    folder = d / "in"
    folder.mkdir()
    bounds = np.linspace(0, len(rows), FILES + 1).astype(int)
    for i in range(FILES):
        rows.iloc[bounds[i] : bounds[i + 1]].to_parquet(folder / f"part.{i}.parquet", index=False)
    (folder / "_SUCCESS").write_text("")  # an engine's bookkeeping file: not data
    whole = d / "whole.parquet"
    rows.to_parquet(whole, index=False)
    reference = d / "reference.parquet"
    argv = ["score", str(model), str(whole), "-o", str(reference), "--id", "tx_id"]
    result = runner.invoke(app, [*argv, "--ignore-extra-columns"])
    assert result.exit_code == 0, result.output
    return d, model, folder, pq.read_table(reference).to_pandas()


def _read(folder) -> pd.DataFrame:
    parts = [pq.read_table(p).to_pandas() for p in data_files(folder)]
    return pd.concat(parts, ignore_index=True)


def _engine_args(engine: str, dask_cluster) -> list[str]:
    if engine == "dask":
        return ["--engine", "dask", "--scheduler", dask_cluster.scheduler.address]
    if engine == "spark":  # in-process, the CLI runs on the session's active local[2]
        return ["--engine", "spark", "--workers", "2"]
    return []


def _started_engine_args(engine: str, request) -> list[str]:
    """The engine's options, with its session cluster started (Dask) or active (Spark)."""
    dask_cluster = request.getfixturevalue("dask_cluster") if engine == "dask" else None
    if engine == "spark":
        request.getfixturevalue("spark_local")
    return _engine_args(engine, dask_cluster)


@pytest.mark.parametrize("engine", ["local", "dask", "spark"])
def test_every_engine_writes_the_single_file_rows_in_order(setup, engine, request):
    engine_args = _started_engine_args(engine, request)
    d, model, folder, reference = setup
    out = d / f"out-{engine}"
    argv = ["score", str(model), str(folder), "-o", str(out), "--id", "tx_id"]
    result = runner.invoke(app, [*argv, "--ignore-extra-columns", *engine_args])
    assert result.exit_code == 0, result.output
    assert f"scored 2,400 rows → {out}/" in result.output
    assert_same_scores(_read(out), reference)
    assert (out / FOLDER_MARKER).is_file()
    assert not [p for p in d.iterdir() if p.name.endswith(".aescope.tmp")]  # renamed into place


def test_a_rerun_replaces_its_own_output_folder(setup, dask_cluster):
    d, model, folder, reference = setup
    out = d / "again"
    argv = ["score", str(model), str(folder), "-o", str(out), "--id", "tx_id"]
    argv += ["--ignore-extra-columns", *_engine_args("dask", dask_cluster)]
    assert runner.invoke(app, [*argv, "--top-k", "0"]).exit_code == 0
    assert "top_features" not in _read(out).columns
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert_same_scores(_read(out), reference)


def test_dask_counts_skipped_rows_like_the_local_engine(setup, dask_cluster, tmp_path):
    _, model, folder, _ = setup
    bad = tmp_path / "bad"
    shutil.copytree(folder, bad)
    frame = pd.read_parquet(bad / "part.3.parquet")
    frame.loc[frame.index[:2], "V4"] = np.nan
    frame.to_parquet(bad / "part.3.parquet", index=False)
    lines = []
    for engine in ("local", "dask"):
        argv = ["score", str(model), str(bad), "-o", str(tmp_path / engine), "--id", "tx_id"]
        argv += ["--ignore-extra-columns", "--on-invalid", "skip"]
        result = runner.invoke(app, [*argv, *_engine_args(engine, dask_cluster)])
        assert result.exit_code == 0, result.output
        lines.append([ln for ln in result.output.splitlines() if "rows with missing" in ln])
        assert len(_read(tmp_path / engine)) == 2398
    assert lines[0] == lines[1] == ["2 rows with missing, infinite or out-of-range values skipped"]


@pytest.mark.parametrize("engine", ["local", "dask"])  # local: files scored side by side
def test_a_bad_cell_on_a_worker_is_one_error_line_and_no_output(setup, engine, request, tmp_path):
    engine_args = _started_engine_args(engine, request)
    _, model, folder, _ = setup
    bad = tmp_path / "bad"
    shutil.copytree(folder, bad)
    frame = pd.read_parquet(bad / "part.10.parquet")
    frame.loc[frame.index[7], "V5"] = np.nan
    frame.to_parquet(bad / "part.10.parquet", index=False)
    out = tmp_path / "out"
    argv = ["score", str(model), str(bad), "-o", str(out), "--id", "tx_id"]
    argv += ["--ignore-extra-columns", *engine_args]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    where = f"error: {bad / 'part.10.parquet'}: column 'V5', row 7: missing value"
    assert len(errors) == 1 and errors[0].startswith(where), result.output
    assert "Traceback" not in result.output
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("engine", ["local", "dask", "spark"])
def test_a_negative_threshold_flags_like_the_single_file_command(setup, engine, request):
    """Scores are z-scores, so a threshold below 0 is legitimate on every engine."""
    engine_args = _started_engine_args(engine, request)
    d, model, folder, _ = setup
    common = ["--id", "tx_id", "--ignore-extra-columns", "--threshold", "-0.5"]
    reference = d / f"neg-reference-{engine}.parquet"
    argv = ["score", str(model), str(d / "whole.parquet"), "-o", str(reference), *common]
    assert runner.invoke(app, argv).exit_code == 0
    want = pq.read_table(reference).to_pandas()
    assert 0 < want["flag"].sum() < len(want)  # the threshold is what splits the rows
    out = d / f"neg-{engine}"
    argv = ["score", str(model), str(folder), "-o", str(out), *common]
    result = runner.invoke(app, [*argv, *engine_args])
    assert result.exit_code == 0, result.output
    assert_same_scores(_read(out), want)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_threshold_that_is_not_finite_is_refused_for_a_folder_too(setup, value):
    d, model, folder, _ = setup
    out = d / f"never-{value}"
    argv = ["score", str(model), str(folder), "-o", str(out), "--threshold", value]
    result = runner.invoke(app, [*argv, "--engine", "dask"])
    assert result.exit_code == 2
    assert result.output.startswith("error: --threshold must be a finite number"), result.output
    assert not out.exists()
