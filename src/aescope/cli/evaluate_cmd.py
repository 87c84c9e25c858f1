"""`aescope evaluate`: metrics with bootstrap confidence intervals, and optional plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
from aescope.cli._outputs import check_output_dir, check_output_file
from aescope.errors import DataValidationError, OutputError

if TYPE_CHECKING:
    import numpy as np
    from rich.table import Table

    from aescope.detector import AutoencoderDetector

_SETTINGS = ("n_bootstrap", "seed", "confidence")  # how CIs were made, not measurements
ADBENCH_LABEL = "y"


def metrics_table(metrics: dict[str, Any], title: str) -> Table:
    """Render :func:`aescope.metrics.evaluate`'s dict, CIs beside their point estimates."""
    from rich.table import Table

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
    label: Annotated[
        str, typer.Option(help="0/1 label column (1 = anomaly); 'y' in ADBench files.")
    ] = "Class",
    amount: Annotated[
        str | None, typer.Option(help="Amount column, for the share of fraud amount caught.")
    ] = None,
    bootstrap: Annotated[int, typer.Option(min=0, help="Bootstrap resamples for the CIs.")] = 1000,
    plots: Annotated[Path | None, typer.Option(help="Folder for ROC / PR / error plots.")] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the metrics here (.json).")
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Bootstrap seed.")] = 0,
    ignore_extra_columns: Annotated[
        bool,
        typer.Option("--ignore-extra-columns", help="Accept columns the model was not trained on."),
    ] = False,
) -> None:
    """Score a labelled table and print AUROC, AUPRC, recall at low FPR and more, with CIs."""
    with user_errors():
        inputs = {"model": model, "input file": is_file_argument(input_path)}
        if json_out is not None:
            if json_out.suffix.lower() != ".json":
                raise OutputError(f"{json_out}: the metrics are JSON; name the file .json")
            check_output_file(json_out, inputs)
        if plots is not None:
            check_output_dir(plots, inputs)
        start_jax()
        from aescope.detector import AutoencoderDetector
        from aescope.metrics import evaluate as evaluate_scores

        detector = AutoencoderDetector.load(model)
        name, y, scores, amounts = _labelled_scores(
            detector, input_path, label, amount, ignore_extra_columns
        )
        metrics = evaluate_scores(
            y,
            scores,
            threshold=detector.threshold_,
            amount=amounts,
            n_bootstrap=bootstrap,
            seed=seed,
        )
        out.print(metrics_table(metrics, f"{escape(name)}: {len(y):,} rows"))
        if json_out is not None:
            from aescope._atomic import atomic_open

            with atomic_open(json_out) as handle:
                json.dump(metrics, handle, indent=2)
        if plots is not None:
            from aescope.plots import error_histogram, roc_pr_figure, save_figure

            save_figure(roc_pr_figure(y, scores, title=name), plots / "roc_pr.png")
            save_figure(error_histogram(y, scores, detector.threshold_), plots / "errors.png")
            console.print(f"plots written to {plots}/", highlight=False, markup=False)


def _labelled_scores(
    detector: AutoencoderDetector,
    source: str,
    label: str,
    amount: str | None,
    ignore_extra: bool,
) -> tuple[str, np.ndarray, np.ndarray, np.ndarray | None]:
    """(name, labels, scores, amounts) of a named data set or a file, read by the reader
    ``aescope score`` uses: only the columns needed, float64 from the start."""
    import numpy as np

    from aescope.batch import check_table_columns
    from aescope.data.stream import open_table
    from aescope.data.tables import table_name
    from aescope.data.validate import check_labels

    path = is_file_argument(source)
    if path is None:  # a built-in data set: creditcard, creditcard-sample
        data = resolve_dataset(source)
        frame, name, label = data.frame, data.name, data.label or label
        chunks = [frame]
        columns = list(frame.columns)
    else:
        stream = open_table(path)
        name, columns = table_name(path), stream.columns
        if stream.format == "npz" and label not in columns:
            label = ADBENCH_LABEL
        chunks = None
    passengers = {label: "label"} | ({amount: "amount"} if amount else {})
    check_table_columns(detector, columns, source, passengers, ignore_extra)
    if chunks is None:
        numeric = [*detector.columns_used_, *passengers]
        chunks = stream.chunks(list(dict.fromkeys(numeric)))
    labels, scores, amounts = [], [], []
    for chunk in chunks:
        scores.append(detector.score_samples(chunk[detector.columns_used_]))
        labels.append(chunk[label].to_numpy())
        if amount is not None:
            amounts.append(chunk[amount].to_numpy(dtype=np.float64))
    y = check_labels(np.concatenate(labels), f"label column {label!r}")
    cash = np.concatenate(amounts) if amount is not None else None
    if cash is not None and not np.isfinite(cash).all():
        row = int(np.argmax(~np.isfinite(cash)))
        raise DataValidationError(f"{source}: amount column {amount!r}, row {row}: {cash[row]}")
    return name, y, np.concatenate(scores), cash
