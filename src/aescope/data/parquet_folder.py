"""A folder of Parquet files read as one table, in one order every engine shares.

Dask and Spark write a table as a folder of part files, and read one the same
way. aescope reads such a folder file by file (the local engine) or hands the
files to an engine; in every case the files come in *natural* order
(``part.2`` before ``part.10``), so the rows of the output follow the rows of
the input whichever engine scored them. Names starting with ``_`` or ``.``
(``_SUCCESS``, ``.crc`` checksums, ``_metadata``) are bookkeeping, not data, as
for the engines themselves. Every file's footer is read up front: a file that
is not Parquet, or that lacks a column, is refused by name before any work.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from aescope.data.tables import sniff_format
from aescope.data.validate import check_column_names
from aescope.errors import DataUnavailableError, DataValidationError


@dataclass(frozen=True)
class ParquetFolder:
    """The data files of a Parquet folder, in natural order, with their common columns."""

    path: Path
    files: tuple[Path, ...]
    columns: list[str]
    total_rows: int
    total_bytes: int


def natural_key(path: Path) -> list[object]:
    """``part.10`` after ``part.9``: digit runs compare as numbers."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(path))]


def data_files(folder: Path) -> list[Path]:
    """Every data file under ``folder`` (subfolders too), bookkeeping names left out."""
    files = [
        p
        for p in folder.rglob("*")
        if p.is_file()
        and not any(part.startswith(("_", ".")) for part in p.relative_to(folder).parts)
    ]
    return sorted(files, key=natural_key)


def open_parquet_folder(path: str | Path, needed: Sequence[str] = ()) -> ParquetFolder:
    """Check every file of ``path`` is Parquet and holds ``needed``; columns of the first."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DataUnavailableError(f"no such folder: {folder}")
    files = data_files(folder)
    if not files:
        raise DataValidationError(f"{folder}: no data files in the folder (empty folder?)")
    columns: list[str] | None = None
    rows = size = 0
    for file in files:
        if sniff_format(file) != "parquet":
            raise DataValidationError(f"{file}: not a Parquet file (in the folder {folder})")
        try:
            meta = pq.ParquetFile(file).metadata
            names = [n for n in meta.schema.to_arrow_schema().names if not n.startswith("__")]
        except (pa.ArrowException, OSError) as error:
            raise DataValidationError(f"{file}: not a readable Parquet file ({error})") from None
        if columns is None:
            check_column_names(names, str(file))
            columns = names
        missing = [c for c in needed if c not in names]
        if missing:
            raise DataValidationError(
                f"{file}: missing columns {', '.join(map(repr, missing))} "
                f"(file has: {', '.join(names)})"
            )
        rows += meta.num_rows
        size += file.stat().st_size
    return ParquetFolder(folder, tuple(files), columns or [], rows, size)
