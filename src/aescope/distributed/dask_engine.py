"""Dask: score a Dask DataFrame by partitions, and run a sweep's fits as tasks.

:func:`score_dask` is ``ddf.map_partitions(..., meta=...)`` over
:func:`aescope.distributed.partition.score_partition`. The model's bytes enter
the graph once, as a single task every partition depends on: the scheduler
sends them to each worker once (a worker keeps a dependency it already holds),
and :func:`~aescope.distributed.payload.worker_detector` loads them once per
worker process. The result is lazy, like any Dask DataFrame: ``.compute()``,
``.to_parquet(...)`` or further Dask operations run it on whatever scheduler is
active (a ``distributed.Client``, or Dask's local threads).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from aescope.distributed.partition import (
    ScoreOptions,
    output_frame,
    plan_scoring,
    score_partition,
)
from aescope.distributed.payload import ModelLike, worker_detector
from aescope.errors import ConfigError

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd
    from distributed import Client


def score_dask(
    ddf: dd.DataFrame,
    model: ModelLike,
    *,
    id_columns: str | Sequence[str] | None = None,
    top_k: int = 3,
    on_invalid: str = "error",
    threshold: float | None = None,
    chunk_rows: int = 100_000,
    ignore_extra_columns: bool = False,
) -> dd.DataFrame:
    """Scores of every row of ``ddf``: the id columns, ``score``, ``flag``, ``top_features``.

    ``model`` is a model file path, its bytes or a fitted detector. Partitions keep
    their index and order; scores equal :func:`aescope.batch.score_frame`'s.
    """
    import dask

    options, payload, wanted = plan_scoring(
        model,
        list(ddf.columns),
        "the Dask DataFrame",
        id_columns=id_columns,
        top_k=top_k,
        on_invalid=on_invalid,
        threshold=threshold,
        chunk_rows=chunk_rows,
        ignore_extra_columns=ignore_extra_columns,
    )
    meta = output_frame(payload.detector, ddf._meta[list(options.id_columns)], options.top_k)
    # One graph key holds the bytes; every partition task depends on it.
    model_bytes = dask.delayed(payload.data, pure=True, name=f"aescope-model-{payload.sha256}")
    return ddf[wanted].map_partitions(
        _score_one,
        model_bytes,
        payload.sha256,
        options,
        meta=meta,
        enforce_metadata=False,
        align_dataframes=False,
    )


def _score_one(
    frame: pd.DataFrame,
    model_bytes: bytes,
    sha256: str,
    options: ScoreOptions,
    partition_info: dict[str, Any] | None = None,
) -> pd.DataFrame:
    detector = worker_detector(model_bytes, sha256)
    number = (partition_info or {}).get("number", "?")
    return score_partition(detector, frame, options, f"partition {number}")


# ------------------------------------------------------------------ clusters


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Client]:
    """A client of the cluster at ``scheduler``, or of a local cluster of ``workers``
    processes (one thread each, listening on 127.0.0.1 only), closed on exit."""
    from distributed import Client, LocalCluster

    if scheduler:
        check_reachable(scheduler, "Dask scheduler")
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as error:
            reason = f"cannot connect to the Dask scheduler {scheduler}: {error}"
            raise ConfigError(reason) from None
        with client:
            yield client
        return
    n = workers or _cores()
    with (
        LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.CRITICAL,  # a task's error is reported once, by the caller
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _cores() -> int:
    from aescope.engine.devices import usable_cores

    return usable_cores()


def check_reachable(address: str, what: str, timeout: float = 3.0) -> None:
    """Refuse at once an address nothing listens on, rather than after a long retry loop."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or not port:
        raise ConfigError(f"{what} address {address!r} is not HOST:PORT (e.g. tcp://host:8786)")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigError(f"cannot reach the {what} at {address}: {reason}") from None


class DaskRunMap:
    """A :class:`aescope.runmap.RunMap` on a Dask cluster: each call one task.

    Arguments that are not plain values (a prepared split, a study's data) are
    scattered once and shared by the consecutive calls that take them, rather
    than sent with each task; the driver then lets go of them. Results come back
    as tasks finish; the caller writes its caches and files from them in this
    process, as in a local run.
    """

    def __init__(self, client: Client) -> None:
        self.client = client
        self._previous: dict[int, tuple[Any, Any]] = {}  # id -> (future, object), last call

    def __call__(
        self, fn: Callable[..., Any], calls: Iterable[tuple[Any, ...]]
    ) -> Iterator[tuple[int, Any]]:
        from distributed import as_completed

        futures = {}
        previous = self._previous
        for i, args in enumerate(calls):
            current = {}
            sent = []
            for arg in args:
                if _plain(arg):
                    sent.append(arg)
                    continue
                key = id(arg)
                if key not in current:
                    hit = previous.get(key)
                    current[key] = hit or (self.client.scatter(arg, hash=False), arg)
                sent.append(current[key][0])
            previous = self._previous = current
            futures[self.client.submit(fn, *sent, pure=False)] = i
        for future in as_completed(futures):
            yield futures[future], future.result()


def _plain(arg: Any) -> bool:
    return isinstance(arg, str | int | float | bool | bytes | type(None))
