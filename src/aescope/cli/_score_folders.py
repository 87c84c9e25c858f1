"""`aescope score` into a folder of Parquet files: the local engine, Dask or Spark.

Used when the input is a folder of Parquet files or ``--engine`` is ``dask`` or
``spark``. Every engine reads the input's files in the same natural order
(:mod:`aescope.data.parquet_folder`) and writes part files whose names sort in
that order, so the output's rows follow the input's. The output folder is
written beside its final name and renamed into place at the end
(:func:`aescope._atomic.atomic_dir`), with a marker file saying what made it.

Spark packs the files of one ``spark.read.parquet`` into tasks by size, not
name; the files are therefore read as one scan each and joined with
``unionByName`` (a balanced tree, so a thousand files stay shallow), which keeps
their order.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow.parquet as pq

from aescope._atomic import FOLDER_MARKER, atomic_dir
from aescope.batch import ScoreSummary, TableSink, check_table_columns, score_stream
from aescope.data.parquet_folder import ParquetFolder, open_parquet_folder
from aescope.data.stream import open_table
from aescope.data.tables import existing_file, sniff_format
from aescope.detector import AutoencoderDetector
from aescope.errors import DataValidationError
from aescope.modelfile import file_sha256
from aescope.runmap import ThreadMap

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd


@dataclass(frozen=True)
class FolderJob:
    """One scoring run into a folder: what to read, with which model, how."""

    model: Path
    input_path: Path
    output: Path
    engine: str
    id_column: str | None
    top_k: int
    chunk_rows: int
    threshold: float | None
    on_invalid: str
    ignore_extra_columns: bool
    scheduler: str | None = None
    master: str | None = None
    workers: int | None = None


def run(job: FolderJob) -> ScoreSummary:
    """Score ``job.input_path`` into the folder ``job.output``; the counts."""
    detector = AutoencoderDetector.load(job.model)
    ids = [job.id_column] if job.id_column else []
    source = _input(job.input_path, [*ids, *detector.columns_used_])
    passengers = dict.fromkeys(ids, "id")
    check_table_columns(
        detector, source.columns, job.input_path, passengers, job.ignore_extra_columns
    )
    with atomic_dir(job.output) as tmp:
        if job.engine == "local":
            summary = _local(detector, source, tmp, job)
        else:
            summary = _engine(source, tmp, job)
            summary.threshold = detector.threshold_ if job.threshold is None else job.threshold
        (tmp / FOLDER_MARKER).write_text(_marker(job, summary), encoding="utf-8")
    return summary


def _input(path: Path, needed: list[str]) -> ParquetFolder:
    if path.expanduser().is_dir():
        return open_parquet_folder(path, needed)
    file = existing_file(path)
    if sniff_format(file) != "parquet":
        raise DataValidationError(
            f"{path}: --engine dask and spark read Parquet (a file or a folder of files); "
            "convert it, or score it with --engine local"
        )
    stream = open_table(file)
    missing = [c for c in needed if c not in stream.columns]
    if missing:
        raise DataValidationError(
            f"{file}: missing columns {', '.join(map(repr, missing))} "
            f"(file has: {', '.join(stream.columns)})"
        )
    return ParquetFolder(file.parent, (file,), stream.columns, stream.total_rows or 0, 0)


def part_name(i: int) -> str:
    """``part.00012.parquet``: names that sort in the order of the rows."""
    return f"part.{i:05d}.parquet"


LOCAL_FILES_AT_ONCE = 2
"""Input files the local engine scores side by side, in threads of this process.

Each file becomes its own part file, so files are independent; reading and
writing Parquet (Arrow) and the network (XLA) release the GIL, so a second file
keeps the second core busy while the first is in pandas or NumPy."""


def _local(
    detector: AutoencoderDetector, source: ParquetFolder, tmp: Path, job: FolderJob
) -> ScoreSummary:
    total = ScoreSummary(threshold=detector.threshold_ if job.threshold is None else job.threshold)
    files = ThreadMap(LOCAL_FILES_AT_ONCE)
    calls = [
        (detector, file, tmp / part_name(i), job, files.check)
        for i, file in enumerate(source.files)
    ]
    for _, done in files(_score_file, calls):
        total.rows_read += done.rows_read
        total.rows_written += done.rows_written
        total.invalid_rows += done.invalid_rows
        total.alerts += done.alerts
    return total


def _score_file(
    detector: AutoencoderDetector,
    file: Path,
    part: Path,
    job: FolderJob,
    on_chunk: Callable[[ScoreSummary], None] | None = None,
) -> ScoreSummary:
    """One input file into its part file; ``on_chunk`` may stop it between chunks."""
    with TableSink(part, "parquet") as sink:
        return score_stream(
            detector,
            open_table(file),
            sink,
            id_column=job.id_column,
            top_k=job.top_k,
            chunk_rows=job.chunk_rows,
            on_invalid=job.on_invalid,  # type: ignore[arg-type]
            threshold=job.threshold,
            on_chunk=on_chunk,
        )


def _engine(source: ParquetFolder, tmp: Path, job: FolderJob) -> ScoreSummary:
    options = {
        "id_columns": job.id_column,
        "top_k": job.top_k,
        "on_invalid": job.on_invalid,
        "threshold": job.threshold,
        "chunk_rows": job.chunk_rows,
        "ignore_extra_columns": job.ignore_extra_columns,
    }
    files = [str(f) for f in source.files]
    if job.engine == "dask":
        from aescope.distributed.dask_engine import dask_client, score_dask

        with dask_client(job.scheduler, job.workers), _files_named(files, len(files)):
            scored = score_dask(_dask_frame(files, source.columns), job.model, **options)
            scored.to_parquet(
                str(tmp),
                write_index=False,
                write_metadata_file=False,
                name_function=part_name,
            )
    else:
        from aescope.distributed.spark_engine import score_spark, spark_session, worker_errors

        with spark_session(job.master, job.workers) as spark:
            frame = _in_order(spark, files)
            scored = score_spark(frame, job.model, **options)
            with _files_named(files, frame.rdd.getNumPartitions()), worker_errors():
                scored.write.mode("overwrite").parquet(str(tmp))
    return _counted(source.total_rows, tmp, job)


def _read_file(path: str, columns: list[str]) -> pd.DataFrame:
    return pq.read_table(path, columns=columns).to_pandas()


def _dask_frame(files: list[str], columns: list[str]) -> dd.DataFrame:
    """One partition per file (``dd.from_map``): partition *i* is file *i*, so an error
    names the file, and Dask never fuses files in another order."""
    import dask.dataframe as dd

    meta = pq.read_schema(files[0]).empty_table().select(columns).to_pandas()
    return dd.from_map(_read_file, files, columns=columns, meta=meta, enforce_metadata=False)


def _in_order(spark, files: list[str]):
    """One scan per file, unioned as a balanced tree: Spark keeps the files' order."""
    frames = [spark.read.parquet(f) for f in files]
    while len(frames) > 1:
        pairs = [frames[i : i + 2] for i in range(0, len(frames), 2)]
        frames = [p[0].unionByName(p[1]) if len(p) == 2 else p[0] for p in pairs]
    return frames[0]


@contextlib.contextmanager
def _files_named(files: list[str], partitions: int) -> Iterator[None]:
    """An engine's "partition N: row R" error, as "FILE: row R" when partition N is file N."""
    try:
        yield
    except DataValidationError as error:
        found = re.match(r"partition (\d+): (.*)", str(error), flags=re.S)
        if found is None or partitions != len(files) or int(found.group(1)) >= len(files):
            raise
        raise DataValidationError(f"{files[int(found.group(1))]}: {found.group(2)}") from None


def _counted(rows_read: int, folder: Path, job: FolderJob) -> ScoreSummary:
    """Counts read back from the written parts (flag and score columns only).

    With ``flag``, rows the model could not use score ``inf``; so does a usable row
    whose error overflows float32: both are counted as flagged ``inf`` rows here.
    """
    from aescope.data.parquet_folder import data_files

    summary = ScoreSummary(rows_read=rows_read)
    for part in data_files(folder):
        table = pq.read_table(part, columns=["score", "flag"])
        summary.rows_written += table.num_rows
        summary.alerts += int(np.asarray(table["flag"]).sum(dtype=np.int64))
        if job.on_invalid == "flag":
            summary.invalid_rows += int(np.isinf(np.asarray(table["score"])).sum())
    if job.on_invalid == "skip":
        summary.invalid_rows = rows_read - summary.rows_written
    return summary


def _marker(job: FolderJob, summary: ScoreSummary) -> str:
    return json.dumps(
        {
            "written_by": "aescope score",
            "engine": job.engine,
            "model": str(job.model),
            "model_sha256": file_sha256(job.model),
            "input": str(job.input_path),
            "rows_read": summary.rows_read,
            "rows_written": summary.rows_written,
            "alerts": summary.alerts,
            "threshold": summary.threshold,
        },
        indent=1,
    )
