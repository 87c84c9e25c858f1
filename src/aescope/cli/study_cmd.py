"""`aescope study`: answer the study's six questions with measured numbers and a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aescope.cli._common import DATASET_HELP, console, out, resolve_dataset, user_errors


def study(
    data: Annotated[
        str | None,
        typer.Option(help=f"{DATASET_HELP} Default: creditcard (creditcard-sample with --quick)."),
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the study's outputs.")] = Path(
        "out/study"
    ),
    quick: Annotated[
        bool, typer.Option("--quick", help="Fewer epochs; the bundled sample by default.")
    ] = False,
    seeds: Annotated[int, typer.Option(min=1, help="Replica seeds per setting (0..n-1).")] = 3,
    epochs: Annotated[
        int | None, typer.Option(min=1, help="Max epochs per sweep setting (early stopping on).")
    ] = None,
    q1_epochs: Annotated[
        int | None, typer.Option(min=1, help="Max epochs for question 1's search.")
    ] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="Sweep batch size.")] = None,
    bootstrap: Annotated[
        int | None, typer.Option(min=0, help="Bootstrap resamples per model for AUROC/AUPRC CIs.")
    ] = None,
    split_seed: Annotated[int, typer.Option(help="Seed of the (fixed) novelty split.")] = 0,
    data_dir: Annotated[Path | None, typer.Option(help="Folder with creditcard.csv[.gz].")] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Train the study's sweeps (resumable), measure every model and write report.html/.md."""
    from aescope.study import QUICK, StudyConfig, run_study
    from aescope.study.report import summary_lines

    with user_errors():
        name = data or ("creditcard-sample" if quick else "creditcard")
        dataset = resolve_dataset(name, data_dir=data_dir, allow_sample_fallback=data is None)
        base = QUICK if quick else StudyConfig()
        changes: dict = {"seeds": tuple(range(seeds)), "split_seed": split_seed}
        for key, value in (
            ("epochs", epochs),
            ("q1_epochs", q1_epochs),
            ("batch_size", batch_size),
            ("n_bootstrap", bootstrap),
        ):
            if value is not None:
                changes[key] = value
        config = base.scaled(**changes)
        console.rule(f"[bold]aescope study on {dataset.name} ({len(dataset.frame):,} rows)")
        outcome = run_study(dataset, out_dir, config, progress=progress, console=console)
        results = outcome.results
        out.print(results.get("q1_architecture", ""), highlight=False)
        for line in summary_lines(results):
            out.print(line + "\n", highlight=False, soft_wrap=True)
        timing = results["timing"]
        console.print(
            f"study written to {out_dir} (report.html, report.md, results.json) in "
            f"{timing['wall_seconds']:.0f} s; {timing['settings_from_cache']} of "
            f"{timing['settings_total']} settings came from the cache",
            highlight=False,
        )
