"""Helpers every CLI command shares: clean error exits and data-set resolution."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import typer
from rich.console import Console

from aescope.data import Dataset, load_dataset
from aescope.errors import AescopeError, DataUnavailableError, DataValidationError

console = Console(stderr=True)
out = Console()

DATASET_HELP = (
    "creditcard, creditcard-sample, or a path to a CSV / CSV.gz / Parquet / ADBench .npz file."
)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn aescope's own errors into one line and an exit code, without a traceback.

    Exit code 2 means the input data was refused (fix the data); 1 any other failure.
    """
    try:
        yield
    except AescopeError as exc:
        console.print(
            f"error: {exc}", style="bold red", highlight=False, markup=False, soft_wrap=True
        )
        raise typer.Exit(code=2 if isinstance(exc, DataValidationError) else 1) from None


def resolve_dataset(
    name: str,
    *,
    label: str | None = None,
    time: str | None = None,
    data_dir: Path | None = None,
    allow_sample_fallback: bool = False,
) -> Dataset:
    """Load a named data set or a file; optionally fall back to the bundled sample, loudly."""
    try:
        return load_dataset(name, label=label, time=time, data_dir=data_dir)
    except DataUnavailableError as exc:
        if name != "creditcard" or not allow_sample_fallback:
            raise
        console.rule("[bold yellow]USING THE BUNDLED SAMPLE, NOT THE FULL DATA")
        console.print(
            f"[yellow]{exc}[/]\nFalling back to the bundled real sample "
            "(all 492 frauds + 30,000 normal rows).",
            highlight=False,
        )
        console.rule(style="yellow")
        return load_dataset("creditcard-sample")
