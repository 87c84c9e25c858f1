"""Dask, for real: a LocalCluster of two worker processes on 127.0.0.1.

Scores from ``score_dask`` must be the single-process ones (same rows, order,
ids, flags and top features; scores within 1e-6 relative), the model must be
loaded once per worker process however many partitions it scores, and a bad
cell must come back as aescope's own error naming the partition and row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

from _scale_helpers import assert_same_scores, scoring_rows, train_small_model  # noqa: E402

from aescope.batch import score_frame  # noqa: E402
from aescope.distributed import score_dask  # noqa: E402
from aescope.distributed.dask_engine import DaskRunMap, dask_client  # noqa: E402
from aescope.distributed.payload import load_count  # noqa: E402
from aescope.errors import ConfigError, DataValidationError  # noqa: E402


@pytest.fixture(scope="module")
def client(dask_cluster):
    assert len(dask_cluster.scheduler_info()["workers"]) == 2
    assert dask_cluster.scheduler.address.startswith("tcp://127.0.0.1:")
    return dask_cluster


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("dask") / "m.aescope"
    return path, train_small_model(path)


@pytest.fixture(scope="module")
def rows():
    return scoring_rows()


def _single_process(detector, rows, ids=("tx_id",), **options) -> pd.DataFrame:
    out, _ = score_frame(detector, rows.reset_index(drop=True), **options)
    for i, name in enumerate(ids):
        out.insert(i, name, rows[name].to_numpy()[out.index])
    return out.reset_index(drop=True)


def test_scores_equal_the_single_process_ones_in_order(client, model, rows):
    path, detector = model
    ddf = dd.from_pandas(rows, npartitions=7)
    scored = score_dask(ddf, path, id_columns=["tx_id", "branch"])
    assert list(scored.columns) == ["tx_id", "branch", "score", "flag", "top_features"]
    got = client.compute(scored).result()
    assert list(got.index) == list(rows.index)  # every partition kept its rows and order
    want = _single_process(detector, rows, ids=("tx_id", "branch"))
    assert_same_scores(got.reset_index(drop=True), want)
    assert got["flag"].sum() > 0 and got["flag"].sum() < len(got)  # a real mix of alerts


def test_the_model_is_loaded_once_per_worker_process(client, model, rows):
    path, detector = model
    ddf = dd.from_pandas(rows, npartitions=12)
    for sent in (path.read_bytes(), detector):  # the same model, however given
        scored = score_dask(ddf, sent, id_columns=["tx_id", "branch"], top_k=0)
        assert len(client.compute(scored).result()) == len(rows)
    # 24 partition tasks over two worker processes: each parsed the model once
    assert client.run(load_count) == dict.fromkeys(client.scheduler_info()["workers"], 1)


@pytest.mark.parametrize("policy", ["skip", "flag"])
def test_invalid_rows_follow_the_policy_like_the_single_process(client, model, rows, policy):
    _, detector = model
    bad = rows.copy()
    bad.loc[[5, 1234, 2999], "V3"] = [np.nan, np.inf, 1e39]
    scored = score_dask(dd.from_pandas(bad, npartitions=5), detector, id_columns="tx_id",
                        on_invalid=policy, ignore_extra_columns=True)  # fmt: skip
    got = client.compute(scored).result().reset_index(drop=True)
    want = _single_process(detector, bad, on_invalid=policy)
    assert_same_scores(got, want)
    assert len(got) == (len(rows) - 3 if policy == "skip" else len(rows))


def test_a_bad_cell_is_named_by_partition_and_row(client, model, rows):
    path, _ = model
    bad = rows.copy()
    bad.loc[2100, "V7"] = np.nan
    scored = score_dask(dd.from_pandas(bad, npartitions=3), path, id_columns=["tx_id", "branch"])
    with pytest.raises(DataValidationError, match=r"partition 2: column 'V7', row 100: missing"):
        client.compute(scored).result()


def test_columns_are_checked_before_any_task(model, rows):
    path, _ = model
    with pytest.raises(DataValidationError, match="missing columns 'V7'"):
        score_dask(dd.from_pandas(rows.drop(columns="V7"), npartitions=2), path)
    with pytest.raises(DataValidationError, match="not trained on: 'tx_id', 'branch'"):
        score_dask(dd.from_pandas(rows, npartitions=2), path)
    with pytest.raises(ConfigError, match="would be overwritten"):
        score_dask(dd.from_pandas(rows, npartitions=2), path, id_columns="score")


def _twice(x: int, y: np.ndarray) -> float:
    return float(x * y.sum())


def test_run_map_returns_every_call_once_and_shares_big_arguments(client):
    big = np.arange(1000.0)
    results = dict(DaskRunMap(client)(_twice, [(i, big) for i in range(6)]))
    assert results == {i: i * big.sum() for i in range(6)}


def test_an_unreachable_scheduler_is_refused_at_once():
    with (
        pytest.raises(ConfigError, match="cannot reach the Dask scheduler"),
        dask_client("tcp://127.0.0.1:1"),
    ):
        pass
