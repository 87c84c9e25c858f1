"""`aescope study`: answer the study's six questions with measured numbers and a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aescope.cli._common import (
    DATASET_HELP,
    DaskWorkersOption,
    SchedulerOption,
    console,
    dask_run_map,
    escape,
    is_file_argument,
    out,
    resolve_dataset,
    start_jax,
    user_errors,
)
from aescope.cli._outputs import check_output_dir

FULL_OUT = Path("out/study")
QUICK_OUT = Path("out/study-quick")


def study(
    data: Annotated[
        str | None,
        typer.Option(help=f"{DATASET_HELP} Default: creditcard (creditcard-sample with --quick)."),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help=f"Folder for the study's outputs. Default: {FULL_OUT} ({QUICK_OUT} with --quick).",
        ),
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Smaller budget; the bundled sample by default.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace a study of other data or another configuration in --out."
        ),
    ] = False,
    label: Annotated[
        str | None, typer.Option(help="0/1 label column of a file (built-in sets: Class).")
    ] = None,
    time: Annotated[
        str | None, typer.Option(help="Time column of a file (dropped, as the study drops Time).")
    ] = None,
    seeds: Annotated[
        int,
        typer.Option(min=2, help="Replica seeds per setting (0..n-1); intervals need at least 2."),
    ] = 3,
    epochs: Annotated[
        int | None,
        typer.Option(
            min=1, help="Most epochs per sweep setting (early stopping ends most sooner)."
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(min=1, help="Sweep batch size (learning rate: 0.001 × √(batch / 64))."),
    ] = None,
    patience: Annotated[
        int | None, typer.Option(min=1, help="Early-stopping patience of the sweeps (epochs).")
    ] = None,
    bootstrap: Annotated[
        int | None, typer.Option(min=0, help="Bootstrap resamples per model for AUROC/AUPRC CIs.")
    ] = None,
    split_seed: Annotated[int, typer.Option(min=0, help="Seed of the (fixed) novelty split.")] = 0,
    data_dir: Annotated[Path | None, typer.Option(help="Folder with creditcard.csv[.gz].")] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    jobs: Annotated[
        int,
        typer.Option(
            min=1,
            help="Sweep settings trained at once in this process: 2 keeps two cores busy "
            "while a setting evaluates or its last seed trains alone; 1: one at a time, "
            "with a per-epoch progress bar.",
        ),
    ] = 2,
    scheduler: SchedulerOption = None,
    dask_workers: DaskWorkersOption = None,
) -> None:
    """Train the study's sweeps (resumable), measure every model and write report.html/.md."""
    with user_errors():
        name = data or ("creditcard-sample" if quick else "creditcard")
        folder = out_dir or (QUICK_OUT if quick else FULL_OUT)
        check_output_dir(folder, {"data file": is_file_argument(name)})
        from aescope.study import QUICK, StudyConfig, run_study
        from aescope.study.report import summary_lines

        dataset = resolve_dataset(
            name, label=label, time=time, data_dir=data_dir, allow_sample_fallback=data is None
        )
        start_jax()
        base = QUICK if quick else StudyConfig()
        changes: dict = {"seeds": tuple(range(seeds)), "split_seed": split_seed}
        for key, value in (
            ("epochs", epochs),
            ("batch_size", batch_size),
            ("patience", patience),
            ("n_bootstrap", bootstrap),
        ):
            if value is not None:
                changes[key] = value
        config = base.scaled(**changes)
        console.rule(f"[bold]aescope study on {escape(dataset.name)} ({len(dataset.frame):,} rows)")
        with dask_run_map(scheduler, dask_workers) as map_runs:
            if map_runs is None and jobs > 1:
                from aescope.runmap import ThreadMap

                map_runs = ThreadMap(jobs)
            outcome = run_study(
                dataset,
                folder,
                config,
                progress=progress,
                console=console,
                force=force,
                map_runs=map_runs,
            )
        results = outcome.results
        for line in summary_lines(results):
            out.print(line + "\n", highlight=False, soft_wrap=True, markup=False)
        console.print(done_line(folder, results["timing"]), highlight=False)


def done_line(folder: Path, timing: dict) -> str:
    """Where the study went, how long it took, and what was trained versus reused."""
    s = timing["settings"]
    shared = s["shared"]
    text = (
        f"study written to {folder} (report.html, report.md, results.json) in "
        f"{timing['wall_seconds']:.0f} s; {s['trained']} of {s['total']} settings trained"
    )
    if shared:
        pairs = ", ".join(f"{x['setting']} = {x['same_as']}" for x in shared)
        text += f", {len(shared)} shared within this run (same network and training: {pairs})"
    if s["resumed"]:
        text += f", {s['resumed']} loaded from an earlier run's cache"
    return text
