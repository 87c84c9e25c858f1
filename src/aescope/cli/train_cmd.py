"""`aescope train`: fit a detector on a data set, report held-out metrics, save it."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from aescope.cli._common import (
    DATASET_HELP,
    console,
    escape,
    is_file_argument,
    out,
    resolve_dataset,
    start_jax,
    user_errors,
)
from aescope.cli._outputs import check_output_file
from aescope.errors import ConfigError, DataValidationError, LabelLikeColumnWarning

if TYPE_CHECKING:
    from aescope.data import Dataset


class SplitKind(StrEnum):
    novelty = "novelty"
    temporal = "temporal"


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
    time: Annotated[str | None, typer.Option(help="Time column of a file (not a feature).")] = None,
    drop: Annotated[
        list[str] | None,
        typer.Option(help="Column(s) to leave out of the model (repeat, or comma-separated)."),
    ] = None,
    id_column: Annotated[
        str | None, typer.Option("--id", help="Row id column (never a feature).")
    ] = None,
    split: Annotated[
        SplitKind,
        typer.Option(
            help="novelty: a seeded shuffle of the normal rows; temporal: train on the "
            "earliest rows by --time, test on the latest (needs a label and a time column)."
        ),
    ] = SplitKind.novelty,
    allow_label_like: Annotated[
        bool,
        typer.Option(
            "--allow-label-like",
            help="Train on columns named like a label (Class, label, is_fraud, y...) "
            "instead of refusing them.",
        ),
    ] = False,
    # The count options arrive as int or "auto"; typer annotates no union types.
    epochs: Annotated[
        str, typer.Option(parser=count_or_auto(1), help=f"Maximum epochs. {AUTO_HELP}")
    ] = "auto",
    batch_size: Annotated[
        str, typer.Option(parser=count_or_auto(1), help=f"Rows per step. {AUTO_HELP}")
    ] = "auto",
    learning_rate: Annotated[float, typer.Option(help="Adam step size (> 0).")] = 1e-3,
    patience: Annotated[
        str,
        typer.Option(
            parser=count_or_auto(0), help=f"Early-stopping patience, 0 turns it off. {AUTO_HELP}"
        ),
    ] = "auto",
    threshold: Annotated[
        str,
        typer.Option(
            help="Threshold policy from the validation normals: fpr:0.01, quantile:0.995, "
            "contamination:0.01 or fixed:VALUE."
        ),
    ] = "fpr:0.01",
    scaling: Annotated[str, typer.Option(help="standard, robust or none.")] = "standard",
    log1p: Annotated[list[str] | None, typer.Option(help="Columns to log1p first.")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the split and the weights.")] = 0,
    models: Annotated[
        int, typer.Option(min=1, help="Autoencoders trained together and averaged (n_models).")
    ] = 4,
    neighbors: Annotated[
        int,
        typer.Option(min=0, help="k of the nearest-neighbour term of the score; 0 turns it off."),
    ] = 5,
    input_noise: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Denoising: Gaussian noise on training inputs, as a fraction of each "
            "feature's standard deviation; 0 trains plain autoencoders.",
        ),
    ] = 0.1,
    data_dir: Annotated[Path | None, typer.Option(help="Folder with creditcard.csv[.gz].")] = None,
    bootstrap: Annotated[int, typer.Option(min=0, help="Bootstrap resamples for the CIs.")] = 1000,
) -> None:
    """Train an autoencoder on a data set's normal rows, report held-out metrics, save it."""
    with user_errors():
        # Every setting is checked before the data is read or a network compiled.
        _check_settings(threshold, learning_rate, scaling)
        from aescope.model import load_architecture

        load_architecture(arch)  # a typo or an unreadable file fails now, not after loading
        inputs = {
            "training data": is_file_argument(data),
            "architecture file": is_file_argument(arch),
        }
        check_output_file(out_path, inputs)
        left_out = [*_split_names(drop), *([id_column] if id_column else [])]
        dataset = resolve_dataset(data, label=label, time=time, data_dir=data_dir, drop=left_out)
        if not allow_label_like:
            _refuse_label_like(dataset)
        start_jax()
        with warnings.catch_warnings():  # checked above by name: no second, Python warning
            warnings.simplefilter("ignore", LabelLikeColumnWarning)
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
                split=split.value,
                n_models=models,
                neighbors=neighbors,
                input_noise=input_noise,
            )


def _check_settings(threshold: str, learning_rate: float, scaling: str) -> None:
    from aescope.thresholds import parse_policy

    policy = parse_policy(threshold)
    if policy.requires_labels:
        raise ConfigError(
            f"threshold policy {threshold!r} needs labelled validation rows with anomalies, and "
            "train validates on normal rows only; pick a label-free policy here (fpr:0.01, "
            "quantile:0.995, contamination:0.01, fixed:VALUE) and tune it on labelled data "
            f"later with AutoencoderDetector.fit_threshold(X, y, policy={threshold!r})"
        )
    if not math.isfinite(learning_rate) or learning_rate <= 0:
        raise ConfigError(f"--learning-rate must be a finite number > 0, got {learning_rate}")
    if scaling not in ("standard", "robust", "none"):
        raise ConfigError(f"--scaling must be standard, robust or none, got {scaling!r}")


def _split_names(values: list[str] | None) -> list[str]:
    return [name.strip() for value in values or () for name in value.split(",") if name.strip()]


def _refuse_label_like(dataset: Dataset) -> None:
    from aescope.data.validate import label_like_columns

    suspects = label_like_columns(dataset.features)
    if suspects:
        name = suspects[0]
        raise DataValidationError(
            f"{dataset.name}: column {name!r} looks like a label, and training on it would leak "
            f"the answer into the model. Pass --label {name} to use it as the label, "
            f"--drop {name} to leave it out, or --allow-label-like to train on it anyway"
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
    split: str = "novelty",
    n_models: int = 4,
    neighbors: int = 5,
    input_noise: float = 0.1,
) -> None:
    """Fit, evaluate on the held-out split when there are labels, save.

    ``n_models``, ``neighbors`` and ``input_noise`` default to the detector's own
    defaults (a test keeps them in step), written out so that ``--help`` needs no
    detector import.
    """
    from aescope.cli.evaluate_cmd import metrics_table
    from aescope.detector import AutoencoderDetector
    from aescope.holdout import fit_holdout
    from aescope.model import load_architecture
    from aescope.preprocess import PreprocessSpec
    from aescope.split import novelty_split, temporal_split

    drop = (dataset.time,) if dataset.time else ()
    spec = PreprocessSpec(drop=drop, scaling=scaling, log1p=log1p)
    n_model_features = len(dataset.features) - len(drop)
    architecture = load_architecture(arch, n_features=n_model_features)
    out.print(escape(architecture.summary()), highlight=False)
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
        input_noise=input_noise,
    )
    if dataset.y is None:
        if split != "novelty":
            raise ConfigError(f"--split {split} needs a label column (--label) to test on")
        console.print("[yellow]no label column: training on every row, no held-out metrics[/]")
        detector.fit(dataset.X)
    else:
        if split == "temporal":
            if dataset.time is None:
                raise ConfigError("--split temporal needs a time column (--time)")
            rows = temporal_split(dataset.frame[dataset.time].to_numpy(), dataset.y, seed=seed)
        else:
            rows = novelty_split(dataset.y, seed=seed)
        amount = "Amount" if "Amount" in dataset.frame.columns else None
        result = fit_holdout(
            dataset, detector, split=rows, amount_column=amount, n_bootstrap=bootstrap, seed=seed
        )
        described = result.split.describe(dataset.y)
        out.print(
            f"split: {described['kind']} seed {described['seed']}: train "
            f"{described['train_rows']:,} normal, val {described['val_rows']:,} normal, test "
            f"{described['test_rows']:,} ({described['test_anomalies']:,} anomalies)",
            highlight=False,
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
    console.print(
        f"model saved to {out_path} (threshold {detector.threshold_:.4g})",
        highlight=False,
        markup=False,
    )
