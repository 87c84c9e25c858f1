"""Request bodies in, response bodies out: strict JSON, typed while it is parsed.

Two request shapes, told apart by the first character:

* records: ``[{"V1": 0.1, ..., "id": "tx-1"}, ...]``, one object per row;
* columns: ``{"V1": [0.1, ...], ..., "id": ["tx-1", ...]}``, one array per column.

Each row needs every model input column and nothing else, except the optional
pass-through ``id`` (any JSON value). The answer has the request's shape. (Arrow
IPC streams, the binary bulk format, are :mod:`aescope.serve.arrow`; they reuse
this codec's column and value checks.)

msgspec decodes straight into structures generated from the model's columns, so
types, missing and unexpected columns are checked inside its C parser; no Python
runs per value and no pydantic model is built per row (both were measured: per-row
Python checks cost more than scoring the rows). Only when that strict pass fails
does :func:`diagnose` re-read the body with the standard library (which also
accepts NaN and Infinity) to say which row, column and value are at fault.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np

from aescope.errors import DataValidationError
from aescope.preprocess import FLOAT32_MAX

_FLOAT_MAX = float(np.finfo(np.float64).max)


class RequestError(DataValidationError):
    """A request the service refuses; ``status`` is its HTTP status (4xx)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Batch:
    """A decoded request: float64 rows in the model's input order, and ids if given."""

    x: np.ndarray
    ids: list[Any] | None
    orientation: str  # "records" or "columns"


class PayloadCodec:
    """Decoder and encoder for one model's columns and one set of limits."""

    def __init__(
        self,
        columns: tuple[str, ...],
        *,
        max_rows: int,
        id_field: str,
        log1p: tuple[str, ...],
        usable_range: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        if id_field in columns:
            raise DataValidationError(
                f"the id field {id_field!r} is also a model column; choose another id field"
            )
        self.columns = columns
        self.max_rows = max_rows
        self.id_field = id_field
        self.log1p = tuple(columns.index(c) for c in log1p)
        # raw values beyond these leave float32 once scaled; the CLI refuses them too
        self.usable_range = usable_range
        # Field names f0, f1, ... renamed to the real columns: any column name works.
        rename = {f"f{i}": name for i, name in enumerate(columns)} | {"row_id": id_field}
        unset = msgspec.UNSET
        row = msgspec.defstruct(
            "Row",
            [(f"f{i}", float) for i in range(len(columns))] + [("row_id", Any, unset)],
            rename=rename,
            forbid_unknown_fields=True,
        )
        cols = msgspec.defstruct(
            "Columns",
            [(f"f{i}", list[float]) for i in range(len(columns))] + [("row_id", list[Any], unset)],
            rename=rename,
            forbid_unknown_fields=True,
        )
        self._decoder = msgspec.json.Decoder(list[row] | cols)
        self._encoder = msgspec.json.Encoder()

    # ------------------------------------------------------------------ decoding
    def decode(self, body: bytes) -> Batch:
        """Parse and check one request body, or raise :class:`RequestError`."""
        if not body or body.isspace():
            raise RequestError(400, "empty request body: send JSON records or columns")
        try:
            doc = self._decoder.decode(body)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise self._refusal(body, exc) from None
        if isinstance(doc, list):
            self.check_count(len(doc))
            n = len(self.columns)
            astuple = msgspec.structs.astuple
            x = np.array([astuple(row)[:n] for row in doc], dtype=np.float64)
            ids = [row.row_id for row in doc]
            has_ids = any(i is not msgspec.UNSET for i in ids)
            batch = Batch(x, [_unset_to_none(i) for i in ids] if has_ids else None, "records")
        else:
            values = [getattr(doc, f"f{i}") for i in range(len(self.columns))]
            lengths = {len(v) for v in values}
            if len(lengths) > 1:
                raise RequestError(422, self._length_message(values))
            n_rows = lengths.pop()
            ids = None if doc.row_id is msgspec.UNSET else doc.row_id
            if ids is not None and len(ids) != n_rows:
                raise RequestError(
                    422, f"column {self.id_field!r} has {len(ids)} values, the others {n_rows}"
                )
            self.check_count(n_rows)
            batch = Batch(np.array(values, dtype=np.float64).T.copy(), ids, "columns")
        self.check_values(batch.x)
        return batch

    def check_count(self, n: int) -> None:
        if n == 0:
            raise RequestError(422, "the request holds no rows")
        if n > self.max_rows:
            raise RequestError(
                413, f"the request holds {n:,} rows; this service takes at most {self.max_rows:,}"
            )

    def check_values(self, x: np.ndarray) -> None:
        bad = ~np.isfinite(x)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            value = float(x[row, col])
            raise RequestError(422, located(row, self.columns[col], f"{value!r} is not finite"))
        for col in self.log1p:
            low = np.flatnonzero(x[:, col] <= -1)
            if low.size:
                problem = f"{float(x[low[0], col])!r} is <= -1 (log1p)"
                raise RequestError(422, located(low[0], self.columns[col], problem))
        if self.usable_range is not None:
            low, high = self.usable_range
            out = (x < low) | (x > high)
            if out.any():
                row, col = np.argwhere(out)[0]
                problem = (
                    f"{float(x[row, col])!r} is too large for the model: scaled, it leaves "
                    f"float32's range (±{FLOAT32_MAX:.3g})"
                )
                raise RequestError(422, located(row, self.columns[col], problem))

    def _length_message(self, values: list[list[float]]) -> str:
        first = len(values[0])
        j = next(j for j, v in enumerate(values) if len(v) != first)
        return (
            f"columns differ in length: {self.columns[j]!r} has {len(values[j])} values, "
            f"{self.columns[0]!r} has {first}"
        )

    def _refusal(self, body: bytes, exc: Exception) -> RequestError:
        """Re-read a refused body leniently to name the row, column and value at fault."""
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError) as err:  # JSONDecodeError, UnicodeDecodeError
            return RequestError(400, f"malformed JSON: {err}")
        message = diagnose(doc, self.columns, self.id_field)
        return RequestError(422, message or f"invalid request: {exc}")

    # ------------------------------------------------------------------ encoding
    def encode(
        self,
        batch: Batch,
        score: np.ndarray,
        flag: np.ndarray,
        top: tuple[np.ndarray, np.ndarray] | None,
        threshold: float,
    ) -> bytes:
        """The answer in the request's shape: per row id (if given), score, flag, top features."""
        fields: dict[str, Any] = {}
        if batch.ids is not None:
            fields["id"] = batch.ids
        fields["score"] = score.tolist()
        fields["flag"] = flag.tolist()
        if top is not None:
            fields["top_features"] = top[0].tolist()
            fields["top_shares"] = np.round(top[1].astype(np.float64), 6).tolist()
        if batch.orientation == "columns":
            results: Any = fields
        else:
            names = list(fields)
            rows = zip(*fields.values(), strict=True)
            results = [dict(zip(names, row, strict=True)) for row in rows]
        return self._encoder.encode({"threshold": threshold, "results": results})


def diagnose(doc: Any, columns: tuple[str, ...], id_field: str) -> str | None:
    """The first problem in a leniently parsed body, naming row, column and value."""
    if isinstance(doc, list):
        for i, row in enumerate(doc):
            if not isinstance(row, dict):
                return f"row {i}: expected an object of column: value, got {_show(row)}"
            problem = column_sets(row.keys(), columns, id_field)
            if problem:
                return f"row {i}: {problem}"
            for c in columns:
                problem = _value_problem(row[c])
                if problem:
                    return located(i, c, problem)
        return None
    if isinstance(doc, dict):
        problem = column_sets(doc.keys(), columns, id_field)
        if problem:
            return problem
        if not any(isinstance(doc[c], list) for c in columns):
            return "one object of single values: send rows as an array of objects, [{...}]"
        for c in (*columns, id_field):
            if c in doc and not isinstance(doc[c], list):
                return f"column {c!r}: expected an array of values, got {_show(doc[c])}"
        for c in columns:
            for i, value in enumerate(doc[c]):
                problem = _value_problem(value)
                if problem:
                    return located(i, c, problem)
        return None
    return f"expected an array of row objects or an object of column arrays, got {_show(doc)}"


def column_sets(keys: Any, columns: tuple[str, ...], id_field: str) -> str | None:
    """Missing and unexpected columns of a request, in one message, or None."""
    missing = [c for c in columns if c not in keys]
    unexpected = [k for k in keys if k not in columns and k != id_field]
    parts = []
    if missing:
        parts.append(f"missing columns {missing}")
    if unexpected:
        parts.append(f"unexpected columns {unexpected}")
    return "; ".join(parts) or None


def _value_problem(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{_show(value)} is not a number"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{_show(value)} is not a finite number (JSON has no NaN or Infinity)"
    if abs(value) > _FLOAT_MAX:
        return f"{_show(value)} is beyond the float64 range"
    return None


def located(row: Any, column: str, problem: str) -> str:
    """``problem`` prefixed with the row and column it is at."""
    return f"row {int(row)}, column {column!r}: {problem}"


def _show(value: Any) -> str:
    text = json.dumps(value, allow_nan=True)
    return text if len(text) <= 40 else text[:37] + "..."


def _unset_to_none(value: Any) -> Any:
    return None if value is msgspec.UNSET else value
