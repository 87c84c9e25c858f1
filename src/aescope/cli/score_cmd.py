"""`aescope score`: stream a table file through a saved model, in bounded memory."""

from __future__ import annotations

import contextlib
import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from aescope.cli._common import console, start_jax, user_errors
from aescope.cli._outputs import (
    STDOUT,
    check_output_file,
    is_char_device,
    suppress_broken_pipe,
    table_format,
)
from aescope.errors import ConfigError


class OnInvalid(StrEnum):
    error = "error"
    skip = "skip"
    flag = "flag"


class Engine(StrEnum):
    local = "local"
    dask = "dask"
    spark = "spark"


def score(
    model: Annotated[Path, typer.Argument(help="Model file written by `aescope train`.")],
    input_path: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT",
            help="CSV, CSV.gz, Parquet or ADBench .npz file, or a folder of Parquet files.",
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "-o",
            "--output",
            help="Output .csv, .csv.gz or .parquet; '-': CSV on stdout. A folder of Parquet "
            "files when INPUT is a folder or the engine is dask or spark.",
        ),
    ],
    id_column: Annotated[str | None, typer.Option("--id", help="Column to carry through.")] = None,
    top_k: Annotated[int, typer.Option(min=0, help="Top features to list per row (0: none).")] = 3,
    chunk_rows: Annotated[
        int, typer.Option(min=1, help="Rows per chunk (bounds memory; scores do not change).")
    ] = 100_000,
    threshold: Annotated[
        float | None,
        typer.Option(help="Flag scores >= this instead of the model's threshold."),
    ] = None,
    on_invalid: Annotated[
        OnInvalid,
        typer.Option(
            help="Rows with a missing, infinite or out-of-range value: stop with an error, "
            "skip them, or flag them (score inf, flag 1). Counted either way."
        ),
    ] = OnInvalid.error,
    ignore_extra_columns: Annotated[
        bool,
        typer.Option(
            "--ignore-extra-columns",
            help="Accept columns the model was not trained on (refused by default: a file "
            "with more columns than the model is often the wrong model).",
        ),
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on a terminal.")] = True,
    engine: Annotated[
        Engine,
        typer.Option(help="Where to score: this process, a Dask cluster or Spark (Parquet in)."),
    ] = Engine.local,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address (tcp://host:8786); default: a local cluster."),
    ] = None,
    master: Annotated[
        str | None,
        typer.Option(help="Spark master URL (spark://host:7077, yarn...); default: local[N]."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Processes of the local Dask cluster or Spark local[N]."),
    ] = None,
) -> None:
    """Score every row: anomaly score, 0/1 flag and the features that drove it."""
    with user_errors():
        if threshold is not None and not math.isfinite(threshold):
            raise ConfigError(f"--threshold must be a finite number, got {threshold}")
        if _check_engine(engine, scheduler, master, workers) or input_path.is_dir():
            _score_folder(
                model, input_path, output, engine, scheduler, master, workers, id_column, top_k,
                chunk_rows, threshold, on_invalid, ignore_extra_columns,
            )  # fmt: skip
            return
        from aescope.batch import TableSink, check_id_column, check_table_columns, score_stream
        from aescope.data.stream import open_table
        from aescope.detector import AutoencoderDetector

        check_id_column(id_column)
        to_stdout = str(output) == STDOUT
        target = None
        if not to_stdout:
            target = check_output_file(output, {"input file": input_path, "model": model})
        kind = "csv" if to_stdout or is_char_device(target) else table_format(output)
        stream = open_table(input_path)
        start_jax()
        detector = AutoencoderDetector.load(model)
        passengers = {id_column: "id"} if id_column else {}
        check_table_columns(detector, stream.columns, input_path, passengers, ignore_extra_columns)
        with (
            _progress_bar(stream, enabled=progress) as on_chunk,
            suppress_broken_pipe(),
            TableSink(target, kind) as sink,
        ):
            summary = score_stream(
                detector,
                stream,
                sink,
                id_column=id_column,
                top_k=top_k,
                chunk_rows=chunk_rows,
                on_invalid=on_invalid.value,
                threshold=threshold,
                on_chunk=on_chunk,
            )
    _report(summary, "standard output" if to_stdout else str(output), on_invalid)


def _report(summary, where: str, on_invalid: OnInvalid) -> None:
    """The closing lines: rows scored, alerts and their share, invalid rows handled."""
    console.print(
        f"scored {summary.rows_written:,} rows → {where}: {summary.alerts:,} alerts "
        f"({summary.alert_share:.2%}) at threshold {summary.threshold:.6g}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    if summary.invalid_rows:
        done = {"skip": "skipped", "flag": "flagged (score inf)"}[on_invalid.value]
        console.print(
            f"{summary.invalid_rows:,} rows with missing, infinite or out-of-range values {done}",
            style="yellow",
            highlight=False,
            markup=False,
        )


def _check_engine(
    engine: Engine, scheduler: str | None, master: str | None, workers: int | None
) -> bool:
    """Options that belong to another engine are refused; True for a distributed engine."""
    from aescope.errors import ConfigError

    if scheduler is not None and engine != Engine.dask:
        raise ConfigError("--scheduler is the Dask scheduler's address: add --engine dask")
    if master is not None and engine != Engine.spark:
        raise ConfigError("--master is a Spark master URL: add --engine spark")
    if workers is not None and engine == Engine.local:
        raise ConfigError("--workers sizes a local Dask or Spark cluster: add --engine dask|spark")
    if workers is not None and (scheduler or master):
        raise ConfigError("--workers sizes a local cluster; an existing one has its own workers")
    return engine != Engine.local


def _score_folder(
    model, input_path, output, engine, scheduler, master, workers, id_column, top_k,
    chunk_rows, threshold, on_invalid, ignore_extra_columns,
) -> None:  # fmt: skip
    """Into a folder of Parquet files, on this process or an engine's workers."""
    from aescope.batch import check_id_column
    from aescope.cli._outputs import check_output_folder
    from aescope.cli._score_folders import FolderJob, run

    check_id_column(id_column)
    target = check_output_folder(output, {"input": input_path, "model": model})
    start_jax()
    job = FolderJob(
        model, input_path, target, engine.value, id_column, top_k, chunk_rows, threshold,
        on_invalid.value, ignore_extra_columns, scheduler, master, workers,
    )  # fmt: skip
    summary = run(job)
    where = "local" if engine == Engine.local else scheduler or master or f"local {engine.value}"
    _report(summary, f"{output}/ ({where})", on_invalid)


@contextlib.contextmanager
def _progress_bar(stream, *, enabled: bool):
    """A bar over the input's bytes (rows for Parquet), on a terminal only."""
    if not (enabled and console.is_terminal):
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("scoring"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rows]} rows"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    task = bar.add_task("scoring", total=stream.total_bytes, rows="0")

    def on_chunk(summary) -> None:
        bar.update(task, completed=stream.bytes_read, rows=f"{summary.rows_read:,}")

    with bar:
        yield on_chunk
