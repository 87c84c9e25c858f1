"""Scoring tables in chunks: one pure function per chunk, one driver from file to file.

:func:`score_frame` turns a frame of raw rows into output rows (id, score,
flag, top features) and is what every batch path shares: the ``aescope score``
command, and any engine that maps a function over partitions. :func:`score_stream`
drives it over a :class:`~aescope.data.stream.TableStream` into a
:class:`TableSink`, in bounded memory.

Rows that cannot be scored — a missing or infinite value, or one so large
that it leaves float32's range once scaled — follow ``on_invalid``: ``error``
(the default) stops at the first one and names its cell; ``skip`` leaves the
row out; ``flag`` keeps it with score ``inf`` and flag 1 (as anomalous as can
be: an analyst should look at it) and names the offending columns. Either way
they are counted.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from aescope._atomic import atomic_path
from aescope.data.stream import TableStream
from aescope.data.validate import check_column_names, numeric_column
from aescope.detector import AutoencoderDetector
from aescope.errors import ConfigError, DataValidationError
from aescope.explain import top_columns
from aescope.preprocess import column_values, unusable_cells

OUTPUT_COLUMNS = ("score", "flag", "top_features")
ON_INVALID = ("error", "skip", "flag")
InvalidPolicy = Literal["error", "skip", "flag"]


@dataclass
class ScoreSummary:
    """What a scoring run did: rows in and out, invalid rows, alerts raised."""

    rows_read: int = 0
    rows_written: int = 0
    invalid_rows: int = 0
    alerts: int = 0
    threshold: float = float("nan")

    @property
    def alert_share(self) -> float:
        return self.alerts / self.rows_written if self.rows_written else 0.0


def check_id_column(id_column: str | None) -> None:
    """An id column may not share a name with an output column (it would be overwritten)."""
    if id_column in OUTPUT_COLUMNS:
        raise ConfigError(
            f"--id {id_column!r} would be overwritten by the output column of the same name "
            f"(outputs: {', '.join(OUTPUT_COLUMNS)}); rename the column first"
        )


def check_table_columns(
    detector: AutoencoderDetector,
    columns: Sequence[str],
    source: object,
    passengers: Mapping[str, str] | None = None,
    ignore_extra: bool = False,
) -> None:
    """A table must hold the columns the model uses; a column the model never saw (other
    than ``passengers``, name -> role: an id, a label) is refused unless ``ignore_extra``,
    because a table wider than the model usually means the wrong model for the data."""
    passengers = passengers or {}
    missing = [c for c in detector.columns_used_ if c not in columns]
    if missing:
        raise DataValidationError(
            f"{source}: missing columns {', '.join(map(repr, missing))} that the model needs "
            f"(file has: {', '.join(columns)})"
        )
    for name, role in passengers.items():
        if name not in columns:
            raise DataValidationError(f"{source}: no {role} column {name!r}")
    known = {*detector.feature_names_in_, *passengers}
    extra = [c for c in columns if c not in known]
    if extra and not ignore_extra:
        shown = ", ".join(map(repr, extra[:8])) + (" ..." if len(extra) > 8 else "")
        names = list(detector.feature_names_in_)
        raise DataValidationError(
            f"{source}: {len(extra)} column(s) the model was not trained on: {shown}. The "
            f"model knows {len(names)}: {', '.join(names[:6])}{' ...' if len(names) > 6 else ''}."
            " Is it the right model? Name an id column with --id, or pass "
            "--ignore-extra-columns if they are only passengers"
        )


def score_frame(
    detector: AutoencoderDetector,
    frame: pd.DataFrame,
    *,
    id_column: str | None = None,
    top_k: int = 3,
    on_invalid: InvalidPolicy = "error",
    threshold: float | None = None,
) -> tuple[pd.DataFrame, int]:
    """Score one chunk; returns the output rows and how many input rows were invalid.

    ``frame`` holds the model's columns (float64, NaN where a cell is missing) and
    the id column, indexed by row number in the file (errors name that row).
    ``threshold`` overrides the model's ``threshold_``.
    """
    if on_invalid not in ON_INVALID:
        raise ConfigError(f"on_invalid must be one of {', '.join(ON_INVALID)}, got {on_invalid!r}")
    cut = detector.threshold_ if threshold is None else threshold
    preprocessor = detector.preprocessor_
    columns = detector.columns_used_
    check_column_names(list(frame.columns))  # a duplicated name would hand over two columns
    z = preprocessor.scale_values(column_values(frame, columns, numeric_column))
    unusable = unusable_cells(z)
    bad = unusable.any(axis=1)
    any_bad = bool(bad.any())
    if any_bad and on_invalid == "error":
        raise preprocessor.refusal(frame, unusable)
    good = z[~bad] if any_bad else z
    scores = np.full(len(z), np.inf)
    names = np.full(len(z), "", dtype=object)
    if len(good):
        scores[~bad], errors = detector.score_transformed(np.ascontiguousarray(good, np.float32))
        if top_k > 0:  # the same pass gives the score and the per-feature explanation
            names[~bad] = top_feature_names(errors, columns, top_k, overwrite=True)
    if any_bad:  # the columns whose values could not be used
        labels = np.asarray(columns, dtype=object)
        names[bad] = [",".join(labels[cells]) for cells in unusable[bad]]
    out = pd.DataFrame(index=frame.index)
    if id_column:
        out[id_column] = frame[id_column].to_numpy()
    out["score"] = scores
    out["flag"] = (scores >= cut).astype(np.int8)
    if top_k > 0:
        out["top_features"] = names
    if on_invalid == "skip":
        out = out[~bad]
    return out, int(bad.sum())


def top_feature_names(
    errors: np.ndarray, columns: Sequence[str], k: int, *, overwrite: bool = False
) -> np.ndarray:
    """Each row's ``k`` largest-error columns, comma-joined, largest first.

    The same names, in the same order, as :func:`aescope.detector.rank_features`
    (:func:`aescope.explain.top_columns`). Each combination of columns is one
    integer; its text is joined once and kept (:func:`_combination_texts`), since
    joining text row by row costs more than scoring the row. With ``overwrite`` the
    ranking scribbles over ``errors`` (:func:`~aescope.explain.top_columns`).
    """
    width = errors.shape[1]
    k = min(k, width)
    picks = list(top_columns(errors, k, overwrite=overwrite).T)
    names = tuple(str(c) for c in columns)
    if width**k >= 2**62:  # beyond one int64 per combination: join column by column
        labels = np.asarray(names, dtype=object)
        joined = labels[picks[0]].astype(str)
        for pick in picks[1:]:
            joined = np.char.add(np.char.add(joined, ","), labels[pick].astype(str))
        return joined.astype(object)
    code = np.zeros(len(errors), dtype=np.int64)
    for pick in picks:
        code = code * width + pick
    if width**k > MAX_KEPT_COMBINATIONS:  # too many to keep: join the distinct ones
        distinct, inverse = np.unique(code, return_inverse=True)
        return np.asarray(_joined(distinct, names, k), dtype=object)[inverse]
    return _combination_texts(names, k).of(code)


MAX_KEPT_COMBINATIONS = 1 << 18
"""Up to this many possible top-k combinations (64 columns at k = 3) their texts are
kept between chunks, in a table of at most 2.3 MB (plus the texts seen)."""


def _joined(codes: np.ndarray, names: tuple[str, ...], k: int) -> list[str]:
    """The comma-joined names of each combination code (largest error first)."""
    texts = []
    for code in codes.tolist():
        parts = []
        for _ in range(k):
            code, j = divmod(code, len(names))
            parts.append(names[j])
        texts.append(",".join(reversed(parts)))
    return texts


class _CombinationTexts:
    """The text of every top-k combination of ``names``, joined the first time it is seen.

    Kept across chunks and files (one per model and ``k``), so after the first chunks
    a scoring run joins no text at all: :meth:`of` is one array lookup. Two threads
    may join the same text at once; they write the same value.
    """

    def __init__(self, names: tuple[str, ...], k: int) -> None:
        self.names, self.k = names, k
        self.texts = np.empty(len(names) ** k, dtype=object)
        self.known = np.zeros(len(names) ** k, dtype=bool)

    def of(self, code: np.ndarray) -> np.ndarray:
        new = np.unique(code[~self.known[code]])
        if len(new):
            self.texts[new] = _joined(new, self.names, self.k)
            self.known[new] = True
        return self.texts[code]


@functools.lru_cache(maxsize=8)  # one per model and k: a service's few models fit
def _combination_texts(names: tuple[str, ...], k: int) -> _CombinationTexts:
    return _CombinationTexts(names, k)


class TableSink:
    """Writes output chunks as CSV, gzip CSV or Parquet: atomically to a file, or to stdout."""

    def __init__(self, target: Path | None, kind: str) -> None:
        self.target, self.kind = target, kind
        self._writer: pa_csv.CSVWriter | pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._atomic = None
        self._stream: pa.NativeFile | None = None

    def __enter__(self) -> TableSink:
        if self.target is None:
            self._stream = pa.PythonFile(sys.stdout.buffer, mode="w")
            return self
        self._atomic = atomic_path(self.target)
        tmp = self._atomic.__enter__()
        if self.kind == "csv.gz":
            self._stream = pa.CompressedOutputStream(str(tmp), "gzip")
        else:
            self._stream = pa.OSFile(str(tmp), "wb")
        return self

    def write(self, frame: pd.DataFrame) -> None:
        if self._schema is None:
            self._schema = pa.Schema.from_pandas(frame, preserve_index=False)
            if self.kind == "parquet":
                # Dictionary pages only where values repeat: for unique ids and scores
                # they cost half the write time and make the file larger.
                repeated = [c for c in ("flag", "top_features") if c in self._schema.names]
                self._writer = pq.ParquetWriter(self._stream, self._schema, use_dictionary=repeated)
            else:
                self._writer = pa_csv.CSVWriter(self._stream, self._schema)
        # nthreads=1: a few columns convert faster than a thread pool starts
        table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False, nthreads=1)
        self._writer.write_table(table)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if self._writer is not None:
                self._writer.close()
            if self._stream is not None:
                if self.target is None:
                    self._stream.flush()
                else:
                    self._stream.close()
        finally:
            if self._atomic is not None:
                self._atomic.__exit__(kind, error, trace)


def empty_output(id_column: str | None, top_k: int) -> pd.DataFrame:
    """The header (and types) of an output with no rows, for an input with none."""
    columns: dict[str, pd.Series] = {}
    if id_column:
        columns[id_column] = pd.Series([], dtype=object)
    columns["score"] = pd.Series([], dtype=np.float64)
    columns["flag"] = pd.Series([], dtype=np.int8)
    if top_k > 0:
        columns["top_features"] = pd.Series([], dtype=object)
    return pd.DataFrame(columns)


def score_stream(
    detector: AutoencoderDetector,
    stream: TableStream,
    sink: TableSink,
    *,
    id_column: str | None = None,
    top_k: int = 3,
    chunk_rows: int = 100_000,
    on_invalid: InvalidPolicy = "error",
    threshold: float | None = None,
    on_chunk: Callable[[ScoreSummary], None] | None = None,
) -> ScoreSummary:
    """Score every row of ``stream`` into ``sink``; returns the counts."""
    check_id_column(id_column)
    summary = ScoreSummary(threshold=detector.threshold_ if threshold is None else threshold)
    used = detector.columns_used_
    carried = [id_column] if id_column and id_column not in used else []
    for chunk in stream.chunks(used, text=carried, rows=chunk_rows):
        try:
            scored, invalid = score_frame(
                detector,
                chunk,
                id_column=id_column,
                top_k=top_k,
                on_invalid=on_invalid,
                threshold=threshold,
            )
        except DataValidationError as error:  # name the file: the row numbers are its rows
            raise DataValidationError(f"{stream.path}: {error}") from None
        sink.write(scored)
        summary.rows_read += len(chunk)
        summary.rows_written += len(scored)
        summary.invalid_rows += invalid
        summary.alerts += int(scored["flag"].sum())
        if on_chunk is not None:
            on_chunk(summary)
    if summary.rows_read == 0:
        sink.write(empty_output(id_column, top_k))
    return summary
