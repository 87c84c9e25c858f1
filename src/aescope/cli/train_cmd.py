"""`aescope train`: fit a detector on a data set, report held-out metrics, save it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from aescope.cli._common import DATASET_HELP, console, out, resolve_dataset, user_errors
from aescope.cli.evaluate_cmd import metrics_table
from aescope.data import Dataset
from aescope.detector import AutoencoderDetector
from aescope.holdout import fit_holdout
from aescope.model import load_architecture
from aescope.preprocess import PreprocessSpec


def count_or_auto(least: int) -> Callable[[str], int | str]:
    """A parser for a count option: a whole number >= ``least``, or "auto" (the
    detector sizes it). Click names the option in the message of a refusal."""

    def parse(value: str) -> int | str:
        if value == "auto":
            return value
        try:
            number = int(value)
        except ValueError:
            raise typer.BadParameter(f"expected a whole number or 'auto', got {value!r}") from None
        if number < least:
            raise typer.BadParameter(
                f"must be at least {least}, got {number}"
                if least
                else f"must not be negative, got {number}"
            )
        return number

    return parse


FEW_ANOMALIES = 20
"""Below this many anomalies the natural-prevalence metrics come with a warning."""

AUTO_HELP = "'auto' (the library default) sizes it from the training rows."
DETECTOR_DEFAULTS = AutoencoderDetector().get_params()


def train(
    data: Annotated[str, typer.Option(help=DATASET_HELP)] = "creditcard",
    arch: Annotated[
        str,
        typer.Option(
            help="'auto' (widths from the number of features), a preset such as seed-best, "
            "or a TOML/JSON file."
        ),
    ] = "auto",
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the model file.")] = Path(
        "model.aescope"
    ),
    label: Annotated[str | None, typer.Option(help="0/1 label column of a file.")] = None,
    time: Annotated[str | None, typer.Option(help="Time column of a file (dropped).")] = None,
    # The count options arrive as int or "auto"; typer annotates no union types.
    epochs: Annotated[
        str, typer.Option(parser=count_or_auto(1), help=f"Maximum epochs. {AUTO_HELP}")
    ] = "auto",
    batch_size: Annotated[
        str, typer.Option(parser=count_or_auto(1), help=f"Rows per step. {AUTO_HELP}")
    ] = "auto",
    learning_rate: Annotated[float, typer.Option(min=0.0)] = 1e-3,
    patience: Annotated[
        str,
        typer.Option(
            parser=count_or_auto(0), help=f"Early-stopping patience, 0 turns it off. {AUTO_HELP}"
        ),
    ] = "auto",
    threshold: Annotated[str, typer.Option(help="Threshold policy, e.g. fpr:0.01, f1.")] = (
        "fpr:0.01"
    ),
    scaling: Annotated[str, typer.Option(help="standard, robust or none.")] = "standard",
    log1p: Annotated[list[str] | None, typer.Option(help="Columns to log1p first.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the split and the weights.")] = 0,
    models: Annotated[
        int, typer.Option(min=1, help="Autoencoders trained together and averaged (n_models).")
    ] = DETECTOR_DEFAULTS["n_models"],
    neighbors: Annotated[
        int,
        typer.Option(min=0, help="k of the nearest-neighbour term of the score; 0 turns it off."),
    ] = DETECTOR_DEFAULTS["neighbors"],
    data_dir: Annotated[Path | None, typer.Option(help="Folder with creditcard.csv[.gz].")] = None,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples for the CIs.")] = 1000,
) -> None:
    """Train an autoencoder on a data set's normal rows, report held-out metrics, save it."""
    with user_errors():
        dataset = resolve_dataset(data, label=label, time=time, data_dir=data_dir)
        run_training(
            dataset,
            arch,
            out_path,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            patience=patience,
            threshold=threshold,
            scaling=scaling,
            log1p=tuple(log1p or ()),
            seed=seed,
            bootstrap=bootstrap,
            n_models=models,
            neighbors=neighbors,
        )


def run_training(
    dataset: Dataset,
    arch: str,
    out_path: Path,
    *,
    epochs: int | str = "auto",
    batch_size: int | str = "auto",
    learning_rate: float = 1e-3,
    patience: int | str = "auto",
    threshold: str = "fpr:0.01",
    scaling: str = "standard",
    log1p: tuple[str, ...] = (),
    seed: int = 0,
    bootstrap: int = 1000,
    n_models: int = DETECTOR_DEFAULTS["n_models"],
    neighbors: int = DETECTOR_DEFAULTS["neighbors"],
) -> None:
    drop = (dataset.time,) if dataset.time else ()
    spec = PreprocessSpec(drop=drop, scaling=scaling, log1p=log1p)
    n_model_features = len(dataset.features) - len(drop)
    architecture = load_architecture(arch, n_features=n_model_features)
    out.print(architecture.summary())
    detector = AutoencoderDetector(
        architecture,
        preprocessing=spec,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        patience=patience or None,  # 0: no early stopping
        threshold=threshold,
        random_state=seed,
        verbose=True,
        n_models=n_models,
        neighbors=neighbors,
    )
    if dataset.y is None:
        console.print("[yellow]no label column: training on every row, no held-out metrics[/]")
        detector.fit(dataset.X)
    else:
        amount = "Amount" if "Amount" in dataset.frame.columns else None
        result = fit_holdout(
            dataset, detector, amount_column=amount, n_bootstrap=bootstrap, seed=seed
        )
        split = result.split.describe(dataset.y)
        out.print(
            f"split: {split['kind']} seed {split['seed']}: train {split['train_rows']:,} normal, "
            f"val {split['val_rows']:,} normal, test {split['test_rows']:,} "
            f"({split['test_anomalies']:,} anomalies)"
        )
        out.print(metrics_table(result.metrics, "held-out test set"))
        share = dataset.population_prevalence
        out.print(
            metrics_table(result.natural_metrics, f"test set at natural prevalence ({share:.3%})")
        )
        few = result.natural_metrics["n_anomalies"]
        if few < FEW_ANOMALIES:
            console.print(
                f"[yellow]only {few} anomalies in the natural-prevalence view: its intervals "
                "are wide; the full test set above is the steadier measure[/]"
            )
    detector.save(out_path)
    console.print(f"model saved to {out_path} (threshold {detector.threshold_:.4g})")
