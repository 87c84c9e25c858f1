"""`aescope evaluate`: metrics with bootstrap confidence intervals, and optional plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from aescope._atomic import atomic_open
from aescope.cli._common import DATASET_HELP, console, out, resolve_dataset, user_errors
from aescope.detector import AutoencoderDetector
from aescope.errors import DataValidationError
from aescope.metrics import evaluate as evaluate_scores

_SETTINGS = ("n_bootstrap", "seed", "confidence")  # how CIs were made, not measurements


def metrics_table(metrics: dict[str, Any], title: str) -> Table:
    """Render :func:`aescope.metrics.evaluate`'s dict, CIs beside their point estimates."""
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("95% CI", justify="right")
    for key, value in metrics.items():
        skip = key in _SETTINGS or key.endswith(("_ci_low", "_ci_high"))
        if skip or not isinstance(value, int | float):
            continue
        low, high = metrics.get(f"{key}_ci_low"), metrics.get(f"{key}_ci_high")
        ci = f"[{low:.4f}, {high:.4f}]" if low is not None and high is not None else ""
        shown = f"{value:,}" if isinstance(value, int) else f"{value:.4f}"
        table.add_row(key, shown, ci)
    return table


def evaluate(
    model: Annotated[Path, typer.Argument(help="Model file written by `aescope train`.")],
    input_path: Annotated[str, typer.Argument(metavar="INPUT", help=DATASET_HELP)],
    label: Annotated[str, typer.Option(help="0/1 label column (1 = anomaly).")] = "Class",
    amount: Annotated[
        str | None, typer.Option(help="Amount column, for the share of fraud amount caught.")
    ] = None,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples for the CIs.")] = 1000,
    plots: Annotated[Path | None, typer.Option(help="Folder for ROC / PR / error plots.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the metrics here.")] = None,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
) -> None:
    """Score a labelled table and print AUROC, AUPRC, recall at low FPR and more, with CIs."""
    with user_errors():
        detector = AutoencoderDetector.load(model)
        data = resolve_dataset(input_path, label=label)
        if data.y is None:
            raise DataValidationError(
                f"{input_path}: no label column {label!r} to evaluate against"
            )
        features = data.frame[list(detector.feature_names_in_)]
        scores = detector.score_samples(features)
        amounts = None
        if amount is not None:
            if amount not in data.frame.columns:
                raise DataValidationError(f"{input_path}: no amount column {amount!r}")
            amounts = data.frame[amount].to_numpy()
        metrics = evaluate_scores(
            data.y,
            scores,
            threshold=detector.threshold_,
            amount=amounts,
            n_bootstrap=bootstrap,
            seed=seed,
        )
        out.print(metrics_table(metrics, f"{data.name}: {len(data.frame):,} rows"))
        if json_out is not None:
            with atomic_open(json_out) as handle:
                json.dump(metrics, handle, indent=2)
        if plots is not None:
            from aescope.plots import error_histogram, roc_pr_figure, save_figure

            save_figure(roc_pr_figure(data.y, scores, title=data.name), plots / "roc_pr.png")
            save_figure(error_histogram(data.y, scores, detector.threshold_), plots / "errors.png")
            console.print(f"plots written to {plots}/")
