"""Bulk requests as Apache Arrow IPC streams: typed columns in, typed columns out.

Why a binary format beside JSON: a client that already holds its rows as a
DataFrame or an Arrow table (a feature store, a Spark or Dask job, a Parquet
reader) would otherwise print every float as text for the service to parse
back. An Arrow stream carries the columns as they are, so the service reads
them without a parser and the answer comes back the same way.

A request is one IPC *stream* (``pyarrow.ipc.new_stream``; media type
``application/vnd.apache.arrow.stream``) holding exactly the model's input
columns, each integer or floating point, plus the optional pass-through id
column of any type. The checks and their messages are the JSON path's: missing
or unexpected columns, a value that is not a number, missing, not finite, or out
of the model's range, each named by row and column.

The answer is one stream with ``id`` (when given, as sent), ``score`` (float64,
null where the error overflowed, as JSON's ``null``), ``flag`` (bool) and, with
top-k explanations on, ``top_features`` (list of strings) and ``top_shares``
(list of float64); the schema metadata holds the ``threshold``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from aescope.serve.payload import PayloadCodec, RequestError, column_sets, located

MEDIA_TYPE = "application/vnd.apache.arrow.stream"


@dataclass(frozen=True)
class ArrowBatch:
    """A decoded Arrow request: float64 rows in the model's input order, ids as sent."""

    x: np.ndarray
    ids: pa.ChunkedArray | None


def is_arrow(content_type: str | None) -> bool:
    """Whether a Content-Type header names an Arrow IPC stream (parameters ignored)."""
    return bool(content_type) and content_type.split(";")[0].strip().lower() == MEDIA_TYPE


def decode(codec: PayloadCodec, body: bytes) -> ArrowBatch:
    """Read and check one Arrow request with ``codec``'s columns and limits."""
    if not body:
        raise RequestError(400, "empty request body: send one Arrow IPC stream")
    try:
        table = pa.ipc.open_stream(pa.py_buffer(body)).read_all()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise RequestError(400, f"malformed Arrow IPC stream: {exc}") from None
    names = table.column_names
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise RequestError(422, f"duplicated columns {duplicated}")
    problem = column_sets(names, codec.columns, codec.id_field)
    if problem:
        raise RequestError(422, problem)
    codec.check_count(table.num_rows)
    x = np.empty((table.num_rows, len(codec.columns)), dtype=np.float64)
    for j, name in enumerate(codec.columns):
        x[:, j] = _numbers(table.column(name), name)
    codec.check_values(x)
    ids = table.column(codec.id_field) if codec.id_field in names else None
    return ArrowBatch(x, ids)


def _numbers(column: pa.ChunkedArray, name: str) -> np.ndarray:
    """One column as float64, refused by name unless it holds numbers only."""
    kind = column.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        raise RequestError(422, f"column {name!r}: type {kind} is not a number")
    if column.null_count:
        row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise RequestError(422, located(row, name, "missing value"))
    return column.to_numpy().astype(np.float64, copy=False)


def encode(
    batch: ArrowBatch,
    score: np.ndarray,
    flag: np.ndarray,
    top: tuple[np.ndarray, np.ndarray] | None,
    threshold: float,
) -> bytes:
    """The answer as one Arrow IPC stream (see the module doc for its columns)."""
    columns: dict[str, Any] = {}
    if batch.ids is not None:
        columns["id"] = batch.ids
    finite = np.isfinite(score)
    columns["score"] = pa.array(np.where(finite, score, 0.0), pa.float64(), mask=~finite)
    columns["flag"] = pa.array(flag, pa.bool_())
    if top is not None:
        names, shares = top
        k = names.shape[1]
        columns["top_features"] = pa.FixedSizeListArray.from_arrays(
            pa.array(names.ravel(), pa.string()), k
        )
        columns["top_shares"] = pa.FixedSizeListArray.from_arrays(
            pa.array(np.round(shares.astype(np.float64), 6).ravel(), pa.float64()), k
        )
    table = pa.table(columns).replace_schema_metadata({"threshold": repr(float(threshold))})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()
