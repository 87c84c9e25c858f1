"""Spark: score a Spark DataFrame with ``mapInPandas``, the model broadcast as bytes.

:func:`score_spark` broadcasts the model file's bytes once (a broadcast
variable: each executor fetches it once), and each Python worker loads it on
its first batch and keeps it (Spark reuses Python workers by default). Batches
from Arrow are gathered into chunks of ``chunk_rows`` before scoring, whatever
``spark.sql.execution.arrow.maxRecordsPerBatch`` says, and scored by the same
:func:`~aescope.distributed.partition.score_partition` as on Dask, so the scores
equal the single-process ones. ``mapInPandas`` keeps each partition's rows in
order.

Spark Connect sessions (Databricks serverless, ``spark.remote``) have no
broadcast variables; there the bytes travel inside the pickled function, with
each task: fine for a model of kilobytes to a few megabytes.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from aescope.distributed.partition import (
    ScoreOptions,
    plan_scoring,
    score_partition,
)
from aescope.distributed.payload import ModelLike, worker_detector
from aescope.errors import AescopeError, ConfigError

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession


def score_spark(
    sdf: DataFrame,
    model: ModelLike,
    *,
    id_columns: str | Sequence[str] | None = None,
    top_k: int = 3,
    on_invalid: str = "error",
    threshold: float | None = None,
    chunk_rows: int = 100_000,
    ignore_extra_columns: bool = False,
) -> DataFrame:
    """Scores of every row of ``sdf``: the id columns, ``score``, ``flag``, ``top_features``.

    ``model`` is a model file path, its bytes or a fitted detector. Lazy like any
    Spark DataFrame; scores equal :func:`aescope.batch.score_frame`'s.
    """
    options, payload, wanted = plan_scoring(
        model,
        sdf.columns,
        "the Spark DataFrame",
        id_columns=id_columns,
        top_k=top_k,
        on_invalid=on_invalid,
        threshold=threshold,
        chunk_rows=chunk_rows,
        ignore_extra_columns=ignore_extra_columns,
    )
    schema = _output_schema(sdf, options)
    fetch = _model_fetcher(sdf.sparkSession, payload.data)
    score = _batch_scorer(fetch, payload.sha256, options)
    return sdf.select(*wanted).mapInPandas(score, schema)


def _model_fetcher(spark: SparkSession, data: bytes) -> Callable[[], bytes]:
    """A broadcast variable's getter; on Spark Connect (no SparkContext), the bytes."""
    try:
        broadcast = spark.sparkContext.broadcast(data)
    except Exception:  # Spark Connect: no SparkContext, no broadcast variables
        return lambda: data
    return lambda: broadcast.value


def _batch_scorer(
    fetch: Callable[[], bytes], sha256: str, options: ScoreOptions
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from pyspark import TaskContext

        detector = worker_detector(fetch(), sha256)
        context = TaskContext.get()
        where = f"partition {context.partitionId() if context else '?'}"
        pending: list[pd.DataFrame] = []
        held = start = 0
        for batch in batches:
            pending.append(batch)
            held += len(batch)
            if held >= options.chunk_rows:
                yield _scored(detector, pending, start, options, where)
                start += held
                pending, held = [], 0
        if pending:
            yield _scored(detector, pending, start, options, where)

    return score


def _scored(detector, pending, start: int, options: ScoreOptions, where: str) -> pd.DataFrame:
    import pandas as pd

    frame = pending[0] if len(pending) == 1 else pd.concat(pending, ignore_index=True)
    frame.index = pd.RangeIndex(start, start + len(frame))  # errors name the partition's row
    return score_partition(detector, frame, options, where).reset_index(drop=True)


def _output_schema(sdf: DataFrame, options: ScoreOptions) -> Any:
    from pyspark.sql import types as T

    fields = [sdf.schema[name] for name in options.id_columns]
    fields += [
        T.StructField("score", T.DoubleType(), False),
        T.StructField("flag", T.ByteType(), False),
    ]
    if options.top_k > 0:
        fields.append(T.StructField("top_features", T.StringType(), True))
    return T.StructType(fields)


# ------------------------------------------------------------------ sessions


@contextlib.contextmanager
def spark_session(master: str | None = None, workers: int | None = None) -> Iterator[SparkSession]:
    """A Spark session on ``master``, or ``local[workers]`` (bound to 127.0.0.1), stopped
    on exit; an already active session is used as it is and left running. Local Python
    workers run this interpreter, so they import this aescope."""
    from pyspark.sql import SparkSession

    if master and master.startswith("spark://"):
        from aescope.distributed.dask_engine import check_reachable

        for address in master.removeprefix("spark://").split(","):
            check_reachable(f"tcp://{address}", "Spark master")
    active = SparkSession.getActiveSession()
    if active is not None:  # a notebook's or a caller's session: use it, leave it running
        yield active
        return
    url = master or f"local[{workers or _cores()}]"
    builder = (
        SparkSession.builder.master(url)
        .appName("aescope")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "50000")
    )
    if url.startswith("local"):
        builder = (
            builder.config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.pyspark.python", sys.executable)
        )
        # pyspark reads the worker interpreter from the environment, not the config.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # listen on loopback only
    try:
        spark = builder.getOrCreate()
    except Exception as error:
        raise ConfigError(f"cannot start Spark on {url}: {_first_line(error)}") from None
    spark.sparkContext.setLogLevel("ERROR")
    try:
        yield spark
    finally:
        spark.stop()


def _cores() -> int:
    from aescope.engine.devices import usable_cores

    return usable_cores()


_WORKER_ERROR = re.compile(r"aescope\.errors\.(\w+): (.+)")


@contextlib.contextmanager
def worker_errors() -> Iterator[None]:
    """Re-raise an aescope error from a Python worker as itself, not as a Java trace."""
    from aescope import errors

    try:
        yield
    except AescopeError:
        raise
    except Exception as error:
        found = _WORKER_ERROR.search(str(error))
        kind = getattr(errors, found.group(1), None) if found else None
        if isinstance(kind, type) and issubclass(kind, AescopeError):
            raise kind(found.group(2).strip()) from None
        raise


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
