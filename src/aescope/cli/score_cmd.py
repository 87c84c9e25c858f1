"""`aescope score`: stream a CSV or Parquet file through a saved model, in bounded memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import typer

from aescope._atomic import atomic_path
from aescope.cli._common import console, user_errors
from aescope.detector import AutoencoderDetector, rank_features
from aescope.errors import DataValidationError


def iter_chunks(path: Path, columns: list[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Yield frames of at most ``chunk_rows`` rows holding ``columns``, indexed by file row."""
    name = path.name.lower()
    if name.endswith(".parquet") or name.endswith(".pq"):
        source = pq.ParquetFile(path)
        _check_present(path, source.schema_arrow.names, columns)
        batches = source.iter_batches(batch_size=chunk_rows, columns=columns)
    elif name.endswith(".csv") or name.endswith(".csv.gz"):
        read = pacsv.ReadOptions(block_size=1 << 22)
        with pacsv.open_csv(path, read_options=read) as probe:  # header only, to name gaps
            _check_present(path, probe.schema.names, columns)
        convert = pacsv.ConvertOptions(include_columns=columns)
        reader = pacsv.open_csv(path, read_options=read, convert_options=convert)
        batches = _rebatch(reader, chunk_rows)
    else:
        raise DataValidationError(f"{path}: unknown input format; use .csv, .csv.gz or .parquet")
    start = 0
    for batch in batches:
        frame = batch.to_pandas()
        frame.index = pd.RangeIndex(start, start + len(frame))
        start += len(frame)
        yield frame


def _rebatch(reader: pa.RecordBatchReader, rows: int) -> Iterator[pa.Table]:
    """Regroup a CSV reader's blocks into pieces of ``rows`` rows (the last may be shorter)."""
    pending: pa.Table | None = None
    for batch in reader:
        table = pa.Table.from_batches([batch])
        pending = table if pending is None else pa.concat_tables([pending, table])
        while pending.num_rows >= rows:
            yield pending.slice(0, rows)
            pending = pending.slice(rows)
    if pending is not None and pending.num_rows:
        yield pending


def _check_present(path: Path, available: list[str], needed: list[str]) -> None:
    missing = [c for c in needed if c not in available]
    if missing:
        raise DataValidationError(
            f"{path}: missing columns {missing} that the model needs "
            f"(file has: {', '.join(available)})"
        )


def score_file(
    detector: AutoencoderDetector,
    source: Path,
    target: Path,
    *,
    id_column: str | None = None,
    top_k: int = 3,
    chunk_rows: int = 100_000,
) -> int:
    """Score ``source`` into ``target`` (CSV or Parquet by extension); returns rows scored."""
    features = list(detector.feature_names_in_)
    wanted = features + ([id_column] if id_column and id_column not in features else [])
    as_parquet = target.name.lower().endswith((".parquet", ".pq"))
    rows = 0
    with atomic_path(target) as tmp:
        writer = None
        try:
            for chunk in iter_chunks(source, wanted, chunk_rows):
                table = pa.Table.from_pandas(
                    _score_chunk(detector, chunk, id_column, top_k), preserve_index=False
                )
                if writer is None:
                    writer = (
                        pq.ParquetWriter(tmp, table.schema)
                        if as_parquet
                        else pacsv.CSVWriter(tmp, table.schema)
                    )
                writer.write_table(table)
                rows += len(chunk)
        finally:
            if writer is not None:
                writer.close()
    return rows


def _score_chunk(
    detector: AutoencoderDetector, chunk: pd.DataFrame, id_column: str | None, top_k: int
) -> pd.DataFrame:
    features = chunk[list(detector.feature_names_in_)]
    if top_k > 0:  # one pass gives both the score and the per-feature explanation
        scores, errors = detector.score_with_errors(features)
    else:
        scores = detector.score_samples(features)
    out = pd.DataFrame(index=chunk.index)
    if id_column:
        out[id_column] = chunk[id_column].to_numpy()
    out["score"] = scores
    out["flag"] = (scores >= detector.threshold_).astype(np.int8)
    if top_k > 0:
        names = rank_features(errors, top_k).filter(like="feature_")
        # Column-wise string concatenation: a per-row ",".join costs more than scoring.
        joined = names.iloc[:, 0].astype(str)
        for column in names.columns[1:]:
            joined = joined + "," + names[column].astype(str)
        out["top_features"] = joined.to_numpy()
    return out


def score(
    model: Annotated[Path, typer.Argument(help="Model file written by `aescope train`.")],
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help="CSV, CSV.gz or Parquet.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output .csv or .parquet.")],
    id_column: Annotated[str | None, typer.Option("--id", help="Column to carry through.")] = None,
    top_k: Annotated[int, typer.Option(help="Top features to list per row (0: none).")] = 3,
    chunk_rows: Annotated[int, typer.Option(help="Rows per chunk (bounds memory).")] = 100_000,
) -> None:
    """Score every row: reconstruction error, 0/1 flag and the features that drove it."""
    with user_errors():
        if not input_path.exists():
            raise DataValidationError(f"input file {input_path} does not exist")
        detector = AutoencoderDetector.load(model)
        rows = score_file(
            detector, input_path, output, id_column=id_column, top_k=top_k, chunk_rows=chunk_rows
        )
    console.print(f"scored {rows:,} rows → {output}")
