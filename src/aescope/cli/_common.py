"""Helpers every CLI command shares: clean error exits, data-set resolution, JAX start-up.

Only typer and rich are imported here: ``aescope --help`` must not pay for
pandas, JAX or scikit-learn. Commands import what they need when they run.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from aescope.errors import (
    AescopeError,
    ArchitectureError,
    ConfigError,
    DataUnavailableError,
    DataValidationError,
    ModelFileError,
    OutputError,
)

if TYPE_CHECKING:
    from aescope.data import Dataset

console = Console(stderr=True)
out = Console()

DATASET_HELP = (
    "creditcard, creditcard-sample, or a path to a CSV / CSV.gz / Parquet / ADBench .npz file."
)

SchedulerOption = Annotated[
    str | None,
    typer.Option(help="Run the fits as tasks on this Dask scheduler (tcp://host:8786)."),
]
DaskWorkersOption = Annotated[
    int | None,
    typer.Option(min=1, help="Run the fits as tasks on a local Dask cluster of N processes."),
]
"""The options of the commands whose independent fits can run as Dask tasks."""

__all__ = ["DATASET_HELP", "console", "escape", "out", "resolve_dataset", "user_errors"]


def _terminate(signum: int, frame: object) -> None:
    # SystemExit unwinds like any exception, so atomic writers delete their temporary files.
    raise SystemExit(128 + signum)


def install_signal_handlers() -> None:
    """SIGTERM ends a command the way Ctrl-C does: cleanly, leaving no temporary files."""
    with contextlib.suppress(ValueError):  # not the main thread (embedded use): leave it
        signal.signal(signal.SIGTERM, _terminate)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn aescope's own errors into one line and an exit code, without a traceback.

    Exit code 2 means something the user gave was refused (data, a setting, an
    architecture, a model file, an output path: fix it); 1 any other failure (data not
    found, training diverged); 130 an interruption (Ctrl-C).
    """
    try:
        yield
    except AescopeError as exc:
        fail(str(exc), code=2 if isinstance(exc, REFUSED_INPUT) else 1)
    except KeyboardInterrupt:
        fail("interrupted; nothing was written", code=130)


REFUSED_INPUT = (DataValidationError, ConfigError, ArchitectureError, ModelFileError, OutputError)


def fail(message: str, code: int = 1) -> None:
    """Print ``error: message`` on one line (no markup: data may contain brackets) and exit."""
    console.print(
        f"error: {message}", style="bold red", highlight=False, markup=False, soft_wrap=True
    )
    raise typer.Exit(code=code)


def start_jax() -> None:
    """Switch on the on-disk compilation cache; commands that run a network call this first."""
    from aescope.engine.compile_cache import enable_compile_cache

    enable_compile_cache()


def resolve_dataset(
    name: str,
    *,
    label: str | None = None,
    time: str | None = None,
    data_dir: Path | None = None,
    allow_sample_fallback: bool = False,
    drop: Sequence[str] = (),
) -> Dataset:
    """Load a named data set or a file; optionally fall back to the bundled sample, loudly.

    ``drop`` leaves columns out before validation (ids of text, columns never to model).
    """
    from aescope.data import load_dataset

    try:
        return load_dataset(name, label=label, time=time, data_dir=data_dir, drop=drop)
    except DataUnavailableError as exc:
        if name != "creditcard" or not allow_sample_fallback:
            raise
        console.rule("[bold yellow]USING THE BUNDLED SAMPLE, NOT THE FULL DATA")
        console.print(
            f"[yellow]{escape(str(exc))}[/]\nFalling back to the bundled real sample "
            "(all 492 frauds + 30,000 normal rows).",
            highlight=False,
        )
        console.rule(style="yellow")
        return load_dataset("creditcard-sample", drop=drop)


def is_file_argument(name: str) -> Path | None:
    """``name`` as a path when it names an existing file (not a built-in data set)."""
    path = Path(name).expanduser()
    return path if path.is_file() else None


@contextlib.contextmanager
def dask_run_map(scheduler: str | None, workers: int | None) -> Iterator[object | None]:
    """The sweep's fits as Dask tasks (``--scheduler`` or ``--dask-workers``), else None."""
    if scheduler and workers:
        raise ConfigError(
            "--scheduler names an existing Dask cluster, --dask-workers starts a local one: "
            "give one of them"
        )
    if not scheduler and not workers:
        yield None
        return
    from aescope.distributed.dask_engine import DaskRunMap, dask_client

    with dask_client(scheduler, workers) as client:
        n = len(client.scheduler_info().get("workers", {}))
        console.print(
            f"Dask: fits run as tasks on {n} worker(s) at {client.scheduler.address}",
            highlight=False,
            markup=False,
        )
        yield DaskRunMap(client)
