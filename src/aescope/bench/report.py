"""The Markdown report of a benchmark run: how it was run, every table, the ranks.

Timings depend on the machine and on whatever else ran on it, so the report
records the processor, core count and load average next to the numbers.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
from collections.abc import Sequence
from importlib import metadata
from typing import Any

import pandas as pd

from aescope.bench.detectors import DetectorSpec
from aescope.bench.protocol import TRAIN_SHARE, VAL_SHARE
from aescope.bench.ranks import RankSummary
from aescope.bench.tables import METRIC_LABELS, markdown_metric_table, markdown_ranks

PACKAGES = ("aescope", "jax", "scikit-learn", "numpy", "pyod", "torch")


def machine_facts() -> dict[str, Any]:
    """Processor, cores, load average and package versions, for the report header."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load": tuple(round(v, 2) for v in load),
        "python": platform.python_version(),
        "versions": versions,
    }


def render_report(
    summary: pd.DataFrame,
    ranks: dict[str, Sequence[RankSummary]],
    detectors: Sequence[DetectorSpec],
    *,
    command: str,
    seeds: Sequence[int],
    max_train_rows: int | None,
    start: dict[str, Any],
    end: dict[str, Any],
    elapsed_seconds: float,
    reused_rows: int = 0,
) -> str:
    """The whole report as Markdown; ``ranks`` maps a heading to its rank summaries."""
    versions = ", ".join(f"{k} {v}" for k, v in start["versions"].items())
    out = [
        "# Detection benchmark",
        "",
        f"- Date: {start['date']}; wall time {elapsed_seconds / 60:.1f} min"
        + (f" ({reused_rows} rows reused from an earlier run)." if reused_rows else "."),
        f"- Machine: {start['cpu']}, {start['cores']} cores; load average (1/5/15 min) "
        f"{'/'.join(map(str, start['load']))} at start, {'/'.join(map(str, end['load']))} at end. "
        "Other work on the machine inflates fit/score seconds.",
        f"- Software: Python {start['python']}, {versions}.",
        f"- Command: `{command}`",
        f"- Seeds: {', '.join(map(str, seeds))} (mean ± std over seeds; each seed is a new "
        "split and a new model seed).",
        "",
        "## Protocol",
        "",
        f"`novelty_split(y, seed=s)`: {TRAIN_SHARE:.0%} of the normal rows train, "
        f"{VAL_SHARE:.0%} validate (early stopping and score calibration of the aescope "
        "detectors only), the test set is the remaining normal rows plus **all** anomalies. "
        "Standard scaling fitted on the training rows only (credit cards: `Time` dropped, as "
        "in the study). Every detector gets the same matrices for a seed. Scores: higher = "
        "more anomalous. Fit seconds of the aescope AEs include JAX compilation, paid on the "
        "first seed of each data set (later seeds reuse it), hence their large std on small "
        "sets.",
        "",
    ]
    if max_train_rows is not None:
        out += [f"Training rows capped at {max_train_rows:,} for every detector.", ""]
    out += ["| detector | notes | training rows |", "| --- | --- | --- |"]
    for spec in detectors:
        cap = f"≤ {spec.max_train_rows:,} (seeded subsample)" if spec.max_train_rows else "all"
        out.append(f"| `{spec.name}` | {spec.note} | {cap} |")
    out.append("")
    for family, title in (("creditcard", "Credit cards"), ("adbench", "ADBench")):
        part = summary[summary["family"] == family]
        if part.empty:
            continue
        out += [f"## {title}", ""]
        for metric in ("auprc", "auroc", "recall_at_1pct_fpr", "fit_seconds", "score_seconds"):
            out += [
                f"### {METRIC_LABELS[metric]}",
                "",
                markdown_metric_table(part, metric),
                "",
            ]
    for heading, summaries in ranks.items():
        out += [f"## {heading}", "", markdown_ranks(summaries), ""]
    failures = summary[summary["error"] != ""]
    if not failures.empty:
        out += ["## Failures", ""]
        out += [f"- {r.dataset} / {r.detector}: {r.error}" for r in failures.itertuples()]
        out.append("")
    return "\n".join(out)
