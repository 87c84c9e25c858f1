"""Reading a table file in bounded memory, chunk by chunk: the reader behind ``aescope score``.

It shares :func:`aescope.data.tables.sniff_format` and the header checks with
the whole-file loaders, so a file is read by its content, never its name. The
columns a model needs are read as float64 from the first byte: no type
inference from the first block that a valid decimal on row 900,000 could break.
An id column of a CSV file is read as text, exactly as written, and carried
through untouched.

pyarrow's streaming CSV reader stops at a bad cell without saying on which
row; on that error path the file is scanned once more, as text, to name the
column, row and value. Missing cells (empty, ``NaN``, ``NA``...) arrive as NaN:
what to do about them is the caller's choice (refuse, skip or flag the row).
"""

from __future__ import annotations

import contextlib
import io
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from aescope.data.tables import csv_header, existing_file, sniff_format
from aescope.data.validate import check_column_names, numeric_column
from aescope.errors import DataValidationError

CSV_BLOCK_BYTES = 1 << 22


@dataclass
class TableStream:
    """An opened table file: its format, header and size, ready to be read in chunks."""

    path: Path
    format: str  # "csv", "csv.gz", "parquet" or "npz"
    columns: list[str]
    total_bytes: int
    total_rows: int | None = None  # known up front for Parquet and .npz
    bytes_read: int = field(default=0, init=False)

    def chunks(
        self, numeric: Sequence[str], text: Sequence[str] = (), rows: int = 100_000
    ) -> Iterator[pd.DataFrame]:
        """Frames of at most ``rows`` rows: ``numeric`` as float64 (NaN where missing),
        ``text`` as read (CSV: strings), indexed by 0-based row number in the file."""
        if rows < 1:
            raise DataValidationError(f"chunk rows must be >= 1, got {rows}")
        missing = [c for c in (*numeric, *text) if c not in self.columns]
        if missing:
            raise DataValidationError(
                f"{self.path}: missing columns {', '.join(map(repr, missing))} "
                f"(file has: {', '.join(self.columns)})"
            )
        wanted = list(dict.fromkeys([*numeric, *text]))
        if self.format == "parquet":
            blocks = self._parquet_blocks(wanted, rows)
        elif self.format == "npz":
            blocks = self._npz_blocks(wanted, rows)
        else:
            blocks = _rebatch(self._csv_blocks(numeric, text), rows)
        start = 0
        for block in blocks:
            # split_blocks: one array per column, not one copied 2-D block (columns are
            # read one by one downstream)
            frame = block.to_pandas(split_blocks=True) if isinstance(block, pa.Table) else block
            frame.index = pd.RangeIndex(start, start + len(frame))
            for name in numeric:
                values = numeric_column(frame[name], name, str(self.path))
                if frame[name].dtype != values.dtype:  # float64 columns are kept as they are
                    frame[name] = values
            start += len(frame)
            yield frame if list(frame.columns) == wanted else frame[wanted]

    # ------------------------------------------------------------------ formats
    def _parquet_blocks(self, wanted: list[str], rows: int) -> Iterator[pa.Table]:
        try:
            source = pq.ParquetFile(self.path)
            for batch in source.iter_batches(batch_size=rows, columns=wanted):
                self.bytes_read = min(self.total_bytes, self.bytes_read + batch.nbytes)
                yield pa.Table.from_batches([batch])
        except (pa.ArrowException, OSError) as error:
            raise DataValidationError(
                f"{self.path}: not a readable Parquet file ({error})"
            ) from None
        self.bytes_read = self.total_bytes

    def _npz_blocks(self, wanted: list[str], rows: int) -> Iterator[pd.DataFrame]:
        from aescope.data.adbench import load_adbench

        frame = load_adbench(self.path).frame
        for start in range(0, len(frame), rows):
            yield frame.iloc[start : start + rows][wanted].reset_index(drop=True)
            self.bytes_read = round(self.total_bytes * min(1.0, (start + rows) / len(frame)))

    def _csv_blocks(self, numeric: Sequence[str], text: Sequence[str]) -> Iterator[pa.Table]:
        types = {name: pa.float64() for name in numeric} | {name: pa.string() for name in text}
        convert = pa_csv.ConvertOptions(
            include_columns=list(dict.fromkeys([*numeric, *text])), column_types=types
        )
        rows_done = 0
        with _counting_stream(self) as stream:
            try:
                reader = pa_csv.open_csv(
                    stream,
                    read_options=pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES),
                    convert_options=convert,
                )
                for batch in reader:
                    rows_done += batch.num_rows
                    yield pa.Table.from_batches([batch])
            except (pa.ArrowException, OSError, EOFError, zlib.error) as error:
                raise self._csv_error(numeric, rows_done, error) from None

    def _csv_error(
        self, numeric: Sequence[str], rows_done: int, error: Exception
    ) -> DataValidationError:
        """Name the bad cell pyarrow stopped at (it does not say which row), or where it broke."""
        located = _first_non_number(self, numeric)
        if located is not None:
            return located
        return DataValidationError(
            f"{self.path}: cannot read the file after row {rows_done:,} "
            f"(truncated or corrupt?): {error}"
        )


def open_table(path: str | Path) -> TableStream:
    """Open a CSV, gzip CSV, Parquet or ADBench ``.npz`` file for chunked reading."""
    path = existing_file(path)
    kind = sniff_format(path)
    size = path.stat().st_size
    if kind == "parquet":
        try:
            meta = pq.ParquetFile(path).metadata
            names = pq.read_schema(path).names
        except (pa.ArrowException, OSError) as error:
            raise DataValidationError(f"{path}: not a readable Parquet file ({error})") from None
        names = [n for n in names if not n.startswith("__index_level_")]
        check_column_names(names, str(path))
        return TableStream(path, kind, names, size, meta.num_rows)
    if kind == "npz":
        from aescope.data.adbench import load_adbench

        frame = load_adbench(path).frame
        return TableStream(path, kind, list(frame.columns), size, len(frame))
    if size == 0:
        raise DataValidationError(f"{path}: empty file: no header and no rows")
    names = csv_header(path, gzipped=kind == "csv.gz")
    if not names:
        raise DataValidationError(f"{path}: empty file: no header and no rows")
    check_column_names(names, str(path))
    return TableStream(path, kind, names, size)


def _rebatch(tables: Iterator[pa.Table], rows: int) -> Iterator[pa.Table]:
    """Regroup a reader's blocks into pieces of ``rows`` rows (the last may be shorter)."""
    pending: pa.Table | None = None
    for table in tables:
        pending = table if pending is None else pa.concat_tables([pending, table])
        while pending.num_rows >= rows:
            yield pending.slice(0, rows)
            pending = pending.slice(rows)
    if pending is not None and pending.num_rows:
        yield pending


class _CountingFile(io.RawIOBase):
    """A read-only file that counts the bytes handed out, for a progress bar."""

    def __init__(self, raw: BinaryIO, stream: TableStream) -> None:
        self._raw, self._stream = raw, stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = self._raw.readinto(buffer)
        self._stream.bytes_read += n or 0
        return n


@contextlib.contextmanager
def _counting_stream(stream: TableStream) -> Iterator[pa.NativeFile]:
    with open(stream.path, "rb") as raw:
        counted = pa.PythonFile(io.BufferedReader(_CountingFile(raw, stream), 1 << 20), mode="r")
        if stream.format == "csv.gz":
            yield pa.CompressedInputStream(counted, "gzip")
        else:
            yield counted


def _first_non_number(stream: TableStream, numeric: Sequence[str]) -> DataValidationError | None:
    """Scan the numeric columns as text; the first cell that is not a number, as an error."""
    convert = pa_csv.ConvertOptions(
        include_columns=list(numeric),
        column_types=dict.fromkeys(numeric, pa.string()),
        strings_can_be_null=True,  # "", "NA", "NaN"... are missing values, not bad ones
    )
    read = pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES)
    start = 0
    with (
        contextlib.suppress(pa.ArrowException, OSError, EOFError, zlib.error),
        _counting_stream(stream) as source,
    ):
        for batch in pa_csv.open_csv(source, read_options=read, convert_options=convert):
            frame = batch.to_pandas()
            for name in numeric:
                cells = frame[name]
                bad = pd.to_numeric(cells, errors="coerce").isna() & cells.notna()
                if bad.any():
                    row = int(np.argmax(bad.to_numpy()))
                    return DataValidationError(
                        f"{stream.path}: column {name!r}, row {start + row}: "
                        f"non-numeric value {cells.iloc[row]!r}"
                    )
            start += len(frame)
    return None
