"""Scoring and sweeps beyond one process, on the engines practitioners already run.

* :func:`score_dask` maps :func:`aescope.batch.score_frame` over a Dask
  DataFrame's partitions (``map_partitions`` with ``meta``);
* :func:`score_spark` does the same over a Spark DataFrame (``mapInPandas``
  with a schema);
* :class:`DaskRunMap` runs a sweep's independent fits as Dask tasks
  (``aescope bench`` / ``aescope study --scheduler``).

In every case the model travels as its file's bytes (checked on arrival as a
file is) and is loaded once per worker process. Dask and PySpark are imported
only when one of these is used: ``import aescope`` stays light.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DaskRunMap", "score_dask", "score_spark"]

_HOMES = {
    "score_dask": "aescope.distributed.dask_engine",
    "DaskRunMap": "aescope.distributed.dask_engine",
    "score_spark": "aescope.distributed.spark_engine",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'aescope.distributed' has no attribute {name!r}")
