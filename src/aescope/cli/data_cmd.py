"""`aescope data ...` commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from aescope.cli._common import user_errors

if TYPE_CHECKING:
    from aescope.data import Dataset

app = typer.Typer(help="Inspect and check data sets.", no_args_is_help=True)


@app.command()
def info(
    dataset: Annotated[
        str,
        typer.Option(
            "--dataset",
            "-d",
            help="creditcard, creditcard-sample (bundled), or a path to a CSV, gzip CSV, "
            "Parquet or ADBench .npz file.",
        ),
    ] = "creditcard-sample",
    label: Annotated[
        str | None, typer.Option("--label", help="Label column (0/1) of a table file.")
    ] = None,
    time: Annotated[str | None, typer.Option("--time", help="Time column of a table file.")] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="Folder holding creditcard.csv[.gz] (else $AESCOPE_DATA_DIR)."
        ),
    ] = None,
    download: Annotated[
        bool,
        typer.Option("--download/--no-download", help="Download creditcard.csv if not found."),
    ] = True,
) -> None:
    """Load and validate a data set, then print its size, anomaly share and column stats."""
    from aescope.data import BUILTIN_DATASETS, load_dataset

    if dataset in BUILTIN_DATASETS and (label or time):
        raise typer.BadParameter(
            f"{dataset} has fixed columns (label Class, time Time)", param_hint="--label/--time"
        )
    with user_errors():
        loaded = load_dataset(dataset, label=label, time=time, data_dir=data_dir, download=download)
    _print_summary(loaded, Console())


def _print_summary(dataset: Dataset, console: Console) -> None:
    from rich.markup import escape
    from rich.table import Table

    summary = dataset.summary()
    overview = Table(title=f"data set: {escape(dataset.name)}", show_header=False)
    overview.add_column("", style="bold")
    overview.add_column("", overflow="fold")
    overview.add_row("source", escape(dataset.source))
    overview.add_row("rows", f"{summary['rows']:,}")
    overview.add_row("features", str(summary["features"]))
    overview.add_row("label", escape(dataset.label or "(none)"))
    overview.add_row("time", escape(dataset.time or "(none)"))
    if summary["anomalies"] is not None:
        overview.add_row("anomalies", f"{summary['anomalies']:,}")
        overview.add_row("anomaly share", f"{summary['anomaly_share']:.4%}")
    overview.add_row("fingerprint", dataset.fingerprint())
    console.print(overview)

    stats = Table(title="feature columns")
    stats.add_column("column")
    for name in ("mean", "std", "min", "max"):
        stats.add_column(name, justify="right")
    for column, values in summary["columns"].items():
        stats.add_row(escape(column), *(f"{values[k]:.6g}" for k in ("mean", "std", "min", "max")))
    console.print(stats)
