"""`aescope model ...` commands: look at an architecture before training it."""

from __future__ import annotations

from typing import Annotated

import typer

from aescope.cli._common import user_errors

app = typer.Typer(
    help="Inspect autoencoder architectures (presets or TOML/JSON files).", no_args_is_help=True
)


@app.command()
def summary(
    preset_or_file: Annotated[
        str,
        typer.Argument(help="A preset name (see `aescope model presets`) or a .toml/.json file."),
    ],
    features: Annotated[
        int | None,
        typer.Option("--features", min=1, help="Input/output width (default: 29, or the file's)."),
    ] = None,
    latent: Annotated[
        int | None, typer.Option("--latent", min=1, help="Override the latent layer's width.")
    ] = None,
) -> None:
    """Print a Keras-style table: layers, output shapes, parameter counts."""
    with user_errors():
        from aescope.model import list_presets, load_architecture

        is_preset = preset_or_file in [*list_presets(), "auto"]
        n_features = features if features is not None else (29 if is_preset else None)
        arch = load_architecture(preset_or_file, n_features=n_features, latent=latent)
    typer.echo(arch.summary())


@app.command()
def presets() -> None:
    """List the preset architectures from the reference study."""
    from aescope.model import list_presets, load_architecture

    for name in list_presets():
        arch = load_architecture(name)
        typer.echo(f"{name:<18} {arch.n_params:>7,} parameters, latent {arch.latent_units}")
