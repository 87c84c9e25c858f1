"""The ``aescope`` command line: one typer app, each command group in its own module.

The command modules import only typer and rich at the top; each command imports
pandas, JAX or scikit-learn when it runs, so ``aescope --help`` and
``aescope --version`` answer without loading them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from aescope import __version__
from aescope.cli import (
    bench_cmd,
    data_cmd,
    deploy_cmd,
    evaluate_cmd,
    model_cmd,
    score_cmd,
    study_cmd,
    train_cmd,
)
from aescope.cli._common import install_signal_handlers

app = typer.Typer(
    name="aescope",
    help="Autoencoder anomaly detection for tabular data, measured.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)
app.add_typer(data_cmd.app, name="data")
app.add_typer(model_cmd.app, name="model")
app.command()(train_cmd.train)
app.command()(score_cmd.score)
app.command()(evaluate_cmd.evaluate)
app.command()(study_cmd.study)
app.command()(bench_cmd.bench)
app.command()(deploy_cmd.export)
app.command()(deploy_cmd.serve)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"aescope {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Autoencoder anomaly detection for tabular data, measured.

    Compiled programs are cached on disk between runs (AESCOPE_COMPILE_CACHE=0: off).
    """
    install_signal_handlers()
