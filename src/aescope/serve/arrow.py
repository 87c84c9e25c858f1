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

Only what the body holds is decoded: record batches must be uncompressed (a
compressed batch of a few hundred bytes can expand to gigabytes, beyond what
``max_bytes`` was meant to bound) and their declared row counts are checked
against ``max_rows`` before any column is read; dictionary batches are refused
too. Both facts sit in each batch's flatbuffer header (Arrow's ``Message.fbs``),
which :func:`batch_header` reads without decoding the body, since pyarrow has no
reader option for either.

The answer is one stream with ``id`` (when given, as sent), ``score`` (float64,
null where the error overflowed, as JSON's ``null``), ``flag`` (bool) and, with
top-k explanations on, ``top_features`` (list of strings) and ``top_shares``
(list of float64); the schema metadata holds the ``threshold``.
"""

from __future__ import annotations

import struct
from collections import Counter
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
    if body.startswith(b"ARROW1"):
        raise RequestError(400, "this is an Arrow IPC file; send a stream (pyarrow.ipc.new_stream)")
    try:
        _screen(body, codec)
        table = pa.ipc.open_stream(pa.py_buffer(body)).read_all()
        table.validate(full=True)  # buffers within the body, offsets and lengths consistent
    except RequestError:
        raise
    except (pa.ArrowException, OSError, ValueError, struct.error, StopIteration) as exc:
        raise RequestError(400, f"malformed Arrow IPC stream: {str(exc) or 'no schema'}") from None
    names = table.column_names
    duplicated = sorted(name for name, n in Counter(names).items() if n > 1)
    if duplicated:
        raise RequestError(422, f"duplicated columns {_few(duplicated)}")
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


SCHEMA_BYTES_PER_COLUMN = 4096
"""Flatbuffer bytes allowed per expected column in the schema message (a real one
takes a few hundred, pandas' metadata included); bounds what parsing it may allocate."""


def _screen(body: bytes, codec: PayloadCodec) -> None:
    """Read the message headers only, before pyarrow decodes anything: one schema of about
    the model's size, then uncompressed record batches of at most ``max_rows`` rows in all,
    then the end of the stream and nothing after it."""
    source = pa.BufferReader(pa.py_buffer(body))
    reader = pa.ipc.MessageReader.open_stream(source)
    expected = len(codec.columns) + 1  # the id column may come too
    schema = reader.read_next_message()
    if schema.type != "schema":
        raise RequestError(400, f"the stream starts with a {schema.type} message, not a schema")
    if schema.metadata.size > SCHEMA_BYTES_PER_COLUMN * expected:
        raise RequestError(
            422,
            f"the schema takes {schema.metadata.size:,} bytes, far more than "
            f"{len(codec.columns)} columns need",
        )
    fields = len(pa.ipc.read_schema(schema))
    if fields > expected:
        raise RequestError(
            422,
            f"the stream has {fields:,} columns; the model takes {len(codec.columns)} "
            f"and an optional {codec.id_field!r}",
        )
    batches = rows = 0
    for message in reader:
        if message.type != "record batch":
            raise RequestError(
                422,
                f"unexpected {message.type} message: send one stream of plain, "
                "uncompressed record batches",
            )
        n, compressed = batch_header(message.metadata.to_pybytes())
        if compressed:
            raise RequestError(
                415,
                "compressed Arrow record batches are not accepted: send the stream "
                "uncompressed (IpcWriteOptions(compression=None))",
            )
        rows, batches = rows + n, batches + 1
        if rows > codec.max_rows or batches > codec.max_rows:
            raise RequestError(
                413,
                f"the request holds more than {codec.max_rows:,} rows or batches; this "
                f"service takes at most {codec.max_rows:,} rows",
            )
    if source.tell() != len(body):
        raise RequestError(
            400,
            f"{len(body) - source.tell():,} bytes after the end of the Arrow stream: "
            "send one stream",
        )


def _few(names: list[str], limit: int = 10) -> str:
    shown = repr(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit:,} more"


def batch_header(metadata: bytes) -> tuple[int, bool]:
    """(rows, compressed) from a record batch message's flatbuffer header.

    ``Message`` (Arrow's Message.fbs): field 2 is the header, here a ``RecordBatch``,
    whose field 0 is ``length`` (rows; absent when 0) and field 3 ``compression``
    (absent when the buffers are stored as they are).
    """
    root = struct.unpack_from("<I", metadata, 0)[0]
    slot = _field(metadata, root, 2)
    if slot is None:
        raise ValueError("a record batch message without its header")
    batch = slot + struct.unpack_from("<I", metadata, slot)[0]
    length = _field(metadata, batch, 0)
    rows = struct.unpack_from("<q", metadata, length)[0] if length is not None else 0
    if rows < 0:
        raise ValueError(f"a record batch of {rows} rows")
    return rows, _field(metadata, batch, 3) is not None


def _field(buffer: bytes, table: int, index: int) -> int | None:
    """Where field ``index`` of the flatbuffer table at ``table`` lies, or None if absent."""
    vtable = table - struct.unpack_from("<i", buffer, table)[0]
    size = struct.unpack_from("<H", buffer, vtable)[0]
    entry = 4 + 2 * index
    if entry >= size:
        return None
    offset = struct.unpack_from("<H", buffer, vtable + entry)[0]
    return table + offset if offset else None


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
