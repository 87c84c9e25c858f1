"""`aescope bench`: aescope's autoencoders against classic and deep detectors, one protocol.

Writes into ``--out``: ``results.csv`` (one row per data set, detector and seed,
rewritten after every measurement so a long run can be resumed with
``--resume``), ``summary.csv`` (mean and std over seeds), ``ranks.csv``,
``report.md`` (every table, the ranks and how the run was made) and
``ranks.png`` (average ranks with the Nemenyi critical difference).
"""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from aescope.cli._common import (
    DaskWorkersOption,
    SchedulerOption,
    console,
    dask_run_map,
    escape,
    out,
    start_jax,
    user_errors,
)
from aescope.cli._outputs import check_output_dir
from aescope.errors import ConfigError, DataUnavailableError, DataValidationError

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

    from aescope.bench.detectors import DetectorSpec
    from aescope.bench.ranks import RankSummary
    from aescope.bench.runner import Record
    from aescope.bench.sources import Source
    from aescope.runmap import RunMap

DEFAULT_AE = "aescope-auto"
ONE_AE = "one aescope entry (the default; other aescope variants left out)"


def bench(
    adbench_dir: Annotated[
        Path | None,
        typer.Option(help="Folder of ADBench .npz files (default: $AESCOPE_DATA_DIR/adbench)."),
    ] = None,
    creditcard: Annotated[
        bool, typer.Option("--creditcard/--no-creditcard", help="Include the credit-card data.")
    ] = True,
    data_dir: Annotated[Path | None, typer.Option(help="Folder with creditcard.csv[.gz].")] = None,
    datasets: Annotated[
        str | None, typer.Option(help="Comma-separated data sets to run, e.g. creditcard,WBC.")
    ] = None,
    detectors: Annotated[
        str | None, typer.Option(help="Comma-separated detectors (see --list-detectors).")
    ] = None,
    seeds: Annotated[int, typer.Option(min=1, help="Seeds 0..N-1: splits and models.")] = 5,
    max_train_rows: Annotated[
        int | None, typer.Option(min=2, help="Cap training rows for every detector.")
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for tables and the plot.")] = Path(
        "bench-out"
    ),
    resume: Annotated[
        bool, typer.Option(help="Keep the successful rows of an earlier results.csv in --out.")
    ] = False,
    list_detectors: Annotated[
        bool, typer.Option("--list-detectors", help="List detectors and exit.")
    ] = False,
    scheduler: SchedulerOption = None,
    dask_workers: DaskWorkersOption = None,
) -> None:
    """Compare detectors on credit cards and ADBench: AUROC, AUPRC, recall @ 1 % FPR, ranks."""
    with user_errors():
        from aescope.bench.detectors import REGISTRY, available, select_detectors
        from aescope.bench.sources import select_sources

        if list_detectors:
            out.print(_detector_table())
            return
        chosen = select_detectors(_split_list(detectors, "--detectors"))
        dataset_names = _split_list(datasets, "--datasets")
        check_output_dir(out_dir, {})
        skipped = [s.name for s in REGISTRY.values() if not available(s)]
        if detectors is None and skipped:
            console.print(
                f"skipping {', '.join(skipped)}: PyOD is not installed "
                "(pip install 'aescope[bench]')",
                style="yellow",
                markup=False,
                highlight=False,
            )
        sources = _sources(adbench_dir, creditcard, data_dir)
        sources = select_sources(sources, dataset_names)
        start_jax()
        command = _command(
            adbench_dir, creditcard, data_dir, datasets, detectors, seeds, max_train_rows, out_dir
        )
        for flag, value in (("--scheduler", scheduler), ("--dask-workers", dask_workers)):
            command += f" {flag} {shlex.quote(str(value))}" if value is not None else ""
        with dask_run_map(scheduler, dask_workers) as map_runs:
            run(
                sources, chosen, list(range(seeds)), max_train_rows, out_dir, resume, command,
                map_runs=map_runs,
            )  # fmt: skip


def run(
    sources: list[Source],
    detectors: list[DetectorSpec],
    seeds: list[int],
    max_train_rows: int | None,
    out_dir: Path,
    resume: bool,
    command: str,
    map_runs: RunMap | None = None,
) -> pd.DataFrame:
    """Run the benchmark and write every output file; returns the summary."""
    from aescope._atomic import atomic_open
    from aescope.bench.figures import save_rank_figure
    from aescope.bench.report import machine_facts, render_report
    from aescope.bench.runner import run_benchmark
    from aescope.bench.tables import records_frame, summarize, write_csv

    out_dir.mkdir(parents=True, exist_ok=True)
    raw_path = out_dir / "results.csv"
    records: list[Record] = _previous(raw_path) if resume else []
    done = {(r["dataset"], r["detector"], int(r["seed"])) for r in records}
    start, t0 = machine_facts(), time.perf_counter()
    console.print(
        f"{len(sources)} data sets × {len(detectors)} detectors × {len(seeds)} seeds "
        f"({len(done)} done); load average {start['load'][0]}",
        highlight=False,
    )

    def on_record(record: Record) -> None:
        records.append(record)
        write_csv(records_frame(records), raw_path)
        quality = (
            f"AUROC {record['auroc']:.3f}  AUPRC {record['auprc']:.3f}  "
            f"fit {record['fit_seconds']:.1f}s  score {record['score_seconds']:.1f}s"
            if not record["error"]
            else f"[red]failed: {escape(record['error'])}[/]"
        )
        console.print(
            f"{record['dataset']:>18} seed {record['seed']}  {record['detector']:<18} {quality}",
            highlight=False,
            soft_wrap=True,
        )

    run_benchmark(
        sources,
        detectors,
        seeds,
        max_train_rows=max_train_rows,
        skip=done,
        on_record=on_record,
        map_runs=map_runs,
    )
    names = {s.name for s in sources}
    wanted = {d.name for d in detectors}
    kept = [
        r
        for r in records
        if r["dataset"] in names and r["detector"] in wanted and int(r["seed"]) in seeds
    ]
    raw = records_frame(kept)
    summary = summarize(raw)
    write_csv(summary, out_dir / "summary.csv")
    ranks = _rank_summaries(summary)
    if ranks:
        write_csv(_ranks_frame(ranks), out_dir / "ranks.csv")
        first = next(iter(ranks.values()))
        save_rank_figure(first, out_dir / "ranks.png", title=next(iter(ranks)))
    report = render_report(
        summary,
        ranks,
        detectors,
        command=command,
        seeds=seeds,
        max_train_rows=max_train_rows,
        start=start,
        end=machine_facts(),
        elapsed_seconds=time.perf_counter() - t0,
        reused_rows=len(done),
    )
    with atomic_open(out_dir / "report.md", "w") as handle:
        handle.write(report)
    for heading, summaries in ranks.items():
        out.print(_rank_console_table(heading, summaries))
    console.print(
        f"wrote {out_dir}/: results.csv summary.csv ranks.csv report.md ranks.png", markup=False
    )
    return summary


def _rank_summaries(summary: pd.DataFrame) -> dict[str, list[RankSummary]]:
    """ADBench ranks first (the plot), then credit cards alone, then everything together."""
    from aescope.bench.ranks import summarize_ranks
    from aescope.bench.tables import pivot

    groups: dict[str, list[RankSummary]] = {}
    variants = sorted(
        {d for d in summary["detector"] if d.startswith("aescope-") and d != DEFAULT_AE}
    )
    several_aes = DEFAULT_AE in set(summary["detector"]) and bool(variants)
    for family, heading, one_ae in (
        ("adbench", "Average ranks across the ADBench data sets", False),
        ("adbench", f"Average ranks across the ADBench data sets, {ONE_AE}", True),
        ("creditcard", "Ranks on credit cards", False),
        ("creditcard", f"Ranks on credit cards, {ONE_AE}", True),
        (None, "Average ranks across all data sets", False),
    ):
        part = summary if family is None else summary[summary["family"] == family]
        if one_ae:
            if not several_aes:
                continue
            # The other aescope rows are ablations of the default (one model, no
            # neighbours); counted as competitors they would push every real
            # competitor down a place wherever the aescope rows win.
            part = part[~part["detector"].isin(variants)]
        if part.empty or part["detector"].nunique() < 2:
            continue
        if family is None and part["family"].nunique() < 2:
            continue  # the same as one of the groups above
        try:
            reference = DEFAULT_AE if DEFAULT_AE in set(part["detector"]) else None
            groups[heading] = [
                summarize_ranks(pivot(part, metric), metric, reference=reference)
                for metric in ("auprc", "auroc")
            ]
        except ValueError:
            continue  # no data set where every detector succeeded
    return groups


def _ranks_frame(ranks: dict[str, list[RankSummary]]) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for heading, summaries in ranks.items():
        for s in summaries:
            for detector, value in s.average.items():
                rows.append(
                    {
                        "group": heading,
                        "metric": s.metric,
                        "detector": detector,
                        "average_rank": value,
                        "n_datasets": s.n_datasets,
                        "critical_difference": s.critical_difference,
                        "friedman_p": s.friedman_p,
                    }
                )
    return pd.DataFrame(rows)


def _rank_console_table(heading: str, summaries: list[RankSummary]) -> Table:
    from rich.table import Table

    table = Table(title=f"{heading} (n = {summaries[0].n_datasets})", header_style="bold")
    table.add_column("detector")
    for s in summaries:
        table.add_column(f"rank {s.metric}", justify="right")
    for detector in summaries[0].average.index:
        table.add_row(detector, *(f"{s.average[detector]:.2f}" for s in summaries))
    return table


def _detector_table() -> Table:
    from rich.markup import escape
    from rich.table import Table

    from aescope.bench.detectors import REGISTRY, available

    table = Table(title="detectors", header_style="bold")
    for column in ("name", "available", "training rows", "notes"):
        table.add_column(column)
    for spec in REGISTRY.values():
        cap = f"≤ {spec.max_train_rows:,}" if spec.max_train_rows else "all"
        needs = "no (needs PyOD: pip install 'aescope[bench]')"
        table.add_row(spec.name, "yes" if available(spec) else escape(needs), cap, spec.note)
    return table


def _sources(adbench_dir: Path | None, creditcard: bool, data_dir: Path | None) -> list[Source]:
    from aescope.bench.sources import adbench_sources, creditcard_source
    from aescope.data.creditcard import DATA_DIR_ENV

    sources = [creditcard_source(data_dir)] if creditcard else []
    if adbench_dir is None and os.environ.get(DATA_DIR_ENV):
        candidate = Path(os.environ[DATA_DIR_ENV]) / "adbench"
        adbench_dir = candidate if candidate.is_dir() else None
    if adbench_dir is not None:
        sources += adbench_sources(adbench_dir)
    elif creditcard:
        console.print("[yellow]no --adbench-dir given: credit cards only[/]")
    if not sources:
        raise DataUnavailableError("nothing to run: pass --adbench-dir and/or --creditcard")
    return sources


def _previous(path: Path) -> list[Record]:
    """The successful rows of an earlier run's results.csv; a damaged file is refused."""
    import pandas as pd

    from aescope.bench.runner import METRICS

    if not path.exists():
        return []
    try:
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataValidationError(f"{path}: cannot resume from it ({error})") from None
    needed = ["dataset", "detector", "seed", "error", "family", *METRICS]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"{path}: cannot resume from it: missing columns {', '.join(missing)} "
            "(not a results.csv written by aescope bench?)"
        )
    seeds = pd.to_numeric(frame["seed"], errors="coerce")
    if seeds.isna().any() or (seeds % 1 != 0).any():
        row = int(seeds.isna().to_numpy().argmax() if seeds.isna().any() else 0)
        raise DataValidationError(f"{path}: cannot resume from it: bad seed in row {row}")
    frame["error"] = frame["error"].fillna("").astype(str)
    return [r for r in frame.to_dict("records") if not r["error"]]


def _split_list(text: str | None, option: str) -> list[str] | None:
    """Comma-separated names; None when the option was not given. ',' names nothing: refused."""
    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise ConfigError(f"{option} {text!r} names nothing; leave it out to run them all")
    return items


def _command(adbench_dir, creditcard, data_dir, datasets, detectors, seeds, max_rows, out_dir):
    parts = ["aescope", "bench"]
    if adbench_dir is not None:
        parts += ["--adbench-dir", str(adbench_dir)]
    if not creditcard:
        parts.append("--no-creditcard")
    for flag, value in (
        ("--data-dir", data_dir),
        ("--datasets", datasets),
        ("--detectors", detectors),
        ("--max-train-rows", max_rows),
    ):
        if value is not None:
            parts += [flag, str(value)]
    parts += ["--seeds", str(seeds), "--out", str(out_dir)]
    return shlex.join(parts)
