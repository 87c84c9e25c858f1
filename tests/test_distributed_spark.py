"""PySpark, for real: a ``local[2]`` session bound to 127.0.0.1 (needs Java 17+).

Scores from ``score_spark`` must be the single-process ones in the DataFrame's
order, the model must be parsed once per Python worker (Spark reuses them), and
a bad cell must surface as aescope's own error, not a Java stack trace.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")

from _scale_helpers import assert_same_scores, scoring_rows, train_small_model

from aescope.batch import score_frame
from aescope.distributed import score_spark
from aescope.distributed.spark_engine import spark_session, worker_errors
from aescope.errors import ConfigError, DataValidationError


@pytest.fixture(scope="module")
def spark(spark_local):
    assert spark_local.sparkContext.master == "local[2]"
    return spark_local


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("spark") / "m.aescope"
    return path, train_small_model(path)


@pytest.fixture(scope="module")
def rows():
    return scoring_rows()


def _single_process(detector, rows, **options) -> pd.DataFrame:
    out, _ = score_frame(detector, rows.reset_index(drop=True), id_column="tx_id", **options)
    return out.reset_index(drop=True)


def test_scores_equal_the_single_process_ones_in_order(spark, model, rows):
    path, detector = model
    sdf = spark.createDataFrame(rows.drop(columns="branch"))  # slices keep the row order
    scored = score_spark(sdf, path, id_columns="tx_id")
    assert scored.columns == ["tx_id", "score", "flag", "top_features"]
    assert dict(scored.dtypes)["flag"] == "tinyint"
    got = scored.toPandas()
    assert_same_scores(got, _single_process(detector, rows))
    assert 0 < got["flag"].sum() < len(got)


def test_the_model_is_parsed_once_per_python_worker(spark, model, rows):
    path, _ = model
    many = spark.createDataFrame(rows).repartition(8)
    scored = score_spark(many, path.read_bytes(), id_columns=["tx_id", "branch"], top_k=0)
    assert scored.count() == len(rows)

    def probe(batches):  # a closure: pickled by value, the workers cannot import tests/
        from aescope.distributed.payload import load_count

        for _ in batches:
            pass
        yield pd.DataFrame({"pid": [os.getpid()], "loads": [load_count()]})

    probes = many.mapInPandas(probe, "pid long, loads long").toPandas()
    loads = probes.groupby("pid")["loads"].max()
    assert loads.max() == 1  # 8 partitions scored; each worker process parsed the model once
    assert (loads <= 1).all()


@pytest.mark.parametrize("policy", ["skip", "flag"])
def test_invalid_rows_follow_the_policy(spark, model, rows, policy):
    _, detector = model
    bad = rows.drop(columns="branch")
    bad.loc[[5, 1234, 2999], "V3"] = [np.nan, np.inf, 1e39]
    scored = score_spark(spark.createDataFrame(bad), detector, id_columns="tx_id",
                         on_invalid=policy)  # fmt: skip
    assert_same_scores(scored.toPandas(), _single_process(detector, bad, on_invalid=policy))


def test_a_bad_cell_comes_back_as_aescopes_error(spark, model, rows):
    path, _ = model
    bad = rows.drop(columns="branch")
    bad.loc[17, "V7"] = np.nan
    scored = score_spark(spark.createDataFrame(bad).coalesce(1), path, id_columns="tx_id")
    with (
        pytest.raises(DataValidationError, match=r"partition 0: column 'V7', row 17: missing"),
        worker_errors(),
    ):
        scored.collect()


def test_an_unreachable_master_is_refused_at_once():
    with (
        pytest.raises(ConfigError, match="cannot reach the Spark master"),
        spark_session("spark://127.0.0.1:1"),
    ):
        pass
