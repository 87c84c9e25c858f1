"""From per-seed records to tables: mean ± std per (data set, detector), CSV and Markdown.

The raw records are kept too (``results.csv``): every number in a summary can be
recomputed from them, and a run can be resumed from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from aescope._atomic import atomic_open
from aescope.bench.detectors import REGISTRY
from aescope.bench.ranks import RankSummary
from aescope.bench.runner import METRICS

QUALITY = ("auroc", "auprc", "recall_at_1pct_fpr")
METRIC_LABELS = {
    "auroc": "AUROC",
    "auprc": "AUPRC",
    "recall_at_1pct_fpr": "recall @ 1 % FPR",
    "fit_seconds": "fit seconds",
    "score_seconds": "score seconds",
}


def records_frame(records: Sequence[dict]) -> pd.DataFrame:
    """Records as a frame with the key columns first."""
    frame = pd.DataFrame.from_records(list(records))
    keys = ["dataset", "family", "detector", "seed"]
    return frame[keys + [c for c in frame.columns if c not in keys]]


def summarize(raw: pd.DataFrame) -> pd.DataFrame:
    """One row per (data set, detector): mean and std of every metric over successful seeds."""
    ok = raw[raw["error"].fillna("").astype(str) == ""]
    grouped = ok.groupby(["dataset", "family", "detector"], sort=False)
    stats = grouped[list(METRICS)].agg(["mean", "std"])
    stats.columns = [f"{metric}_{stat}" for metric, stat in stats.columns]
    stats["n_seeds"] = grouped.size()
    stats["n_train"] = grouped["n_train"].max()
    stats["n_test"] = grouped["n_test"].max()
    stats["n_features"] = grouped["n_features"].max()
    failed = raw[raw["error"].fillna("").astype(str) != ""]
    errors = failed.groupby(["dataset", "family", "detector"], sort=False)["error"].first()
    out = stats.join(errors.rename("error"), how="outer").reset_index()
    out["error"] = out["error"].fillna("")
    # The outer join sorts; restore run order (data sets, then detectors, as first seen).
    dataset_order = {name: i for i, name in enumerate(dict.fromkeys(raw["dataset"]))}
    detector_order = {name: i for i, name in enumerate(dict.fromkeys(raw["detector"]))}
    order = np.lexsort(
        (out["detector"].map(detector_order).to_numpy(), out["dataset"].map(dataset_order))
    )
    return out.iloc[order].reset_index(drop=True)


def pivot(summary: pd.DataFrame, metric: str, family: str | None = None) -> pd.DataFrame:
    """Data sets × detectors table of a metric's mean, in run order."""
    part = summary if family is None else summary[summary["family"] == family]
    table = part.pivot(index="dataset", columns="detector", values=f"{metric}_mean")
    datasets = list(dict.fromkeys(part["dataset"]))
    detectors = [d for d in dict.fromkeys(part["detector"]) if d in table.columns]
    return table.reindex(index=datasets, columns=detectors)


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` atomically (no index)."""
    path = Path(path)
    with atomic_open(path, "w") as handle:
        frame.to_csv(handle, index=False, float_format="%.10g")
    return path


def label(detector: str) -> str:
    spec = REGISTRY.get(detector)
    return spec.label if spec else detector


def markdown_metric_table(
    summary: pd.DataFrame, metric: str, family: str | None = None, digits: int = 3
) -> str:
    """Mean ± std per data set and detector; the best mean of each row in bold.

    For times the best is the smallest; for quality metrics the largest.
    """
    part = summary if family is None else summary[summary["family"] == family]
    means = pivot(part, metric)
    stds = part.pivot(index="dataset", columns="detector", values=f"{metric}_std").reindex_like(
        means
    )
    lower_better = metric.endswith("_seconds")
    header = ["data set", *(label(d) for d in means.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for dataset, row in means.iterrows():
        best = row.min() if lower_better else row.max()
        cells = [str(dataset)]
        for detector, value in row.items():
            if pd.isna(value):
                cells.append("failed")
                continue
            std = stds.at[dataset, detector]
            text = _format(value, digits, metric)
            if not pd.isna(std):
                text += f" ± {_format(std, digits, metric)}"
            cells.append(f"**{text}**" if np.isclose(value, best, rtol=0, atol=1e-12) else text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_ranks(summaries: Sequence[RankSummary]) -> str:
    """Average rank of each detector under each metric (columns), best first by the first."""
    order = list(summaries[0].average.index)
    header = ["detector", *(f"avg rank {METRIC_LABELS.get(s.metric, s.metric)}" for s in summaries)]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for detector in order:
        cells = [label(detector)]
        for s in summaries:
            value = s.average.get(detector, float("nan"))
            best = value == s.average.iloc[0]
            cells.append(f"**{value:.2f}**" if best else f"{value:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    notes = []
    for s in summaries:
        name = METRIC_LABELS.get(s.metric, s.metric)
        if s.n_datasets == 1:
            notes.append(f"- {name}: one data set; ranks of the means over seeds, no test.")
            continue
        friedman = (
            f"Friedman χ² = {s.friedman_statistic:.1f}, p = {s.friedman_p:.2g}"
            if not np.isnan(s.friedman_p)
            else "Friedman test not applicable"
        )
        tied = ", ".join(label(d) for d in s.not_worse_than_best())
        notes.append(
            f"- {name}: {s.n_datasets} data sets; {friedman}; Nemenyi CD (α = {s.alpha}) = "
            f"{s.critical_difference:.2f}; within one CD of the best: {tied}."
            + (f" Left out (a detector failed): {', '.join(s.dropped)}." if s.dropped else "")
        )
    text = "\n".join(lines) + "\n\n" + "\n".join(notes)
    tests = [s for s in summaries if s.pairwise is not None and not s.pairwise.empty]
    if tests:
        text += "\n\n" + markdown_pairwise(tests)
    return text


def markdown_pairwise(summaries: Sequence[RankSummary]) -> str:
    """The reference detector against each competitor: rank gap vs the CD, and Wilcoxon.

    One row per competitor; per metric the average-rank gap (positive: the
    reference ranks better), whether it exceeds the Nemenyi CD, the data sets
    won/tied/lost and the Holm-adjusted Wilcoxon signed-rank p-value.
    """
    reference = summaries[0].reference
    header = ["competitor"]
    for s in summaries:
        name = METRIC_LABELS.get(s.metric, s.metric)
        header += [f"{name} rank gap (> CD?)", f"{name} W/T/L", f"{name} Wilcoxon p (Holm)"]
    lines = [
        f"{label(str(reference))} against each competitor (rank gap = competitor's average "
        "rank minus the reference's; Wilcoxon signed-rank test over data sets on the mean "
        "scores, two-sided, Holm-adjusted; * = significant at α = 0.05):",
        "",
        "| " + " | ".join(header) + " |",
        "|" + " --- |" * len(header),
    ]
    for other in summaries[0].pairwise["detector"]:
        cells = [label(other)]
        for s in summaries:
            row = s.pairwise.set_index("detector").loc[other]
            gap = float(s.average[other] - s.average[str(reference)])
            beyond = "yes" if gap > s.critical_difference else "no"
            star = "*" if row["significant"] else ""
            cells += [
                f"{gap:+.2f} ({beyond})",
                f"{row['wins']}/{row['ties']}/{row['losses']}",
                f"{row['p_holm']:.2g}{star}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _format(value: float, digits: int, metric: str) -> str:
    if metric.endswith("_seconds"):
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    return f"{value:.{digits}f}"
