"""The average-rank plot: one panel per metric, detectors sorted by rank, the CD drawn.

A shaded band from the best average rank to best + CD marks the detectors the
Nemenyi test cannot tell apart from the best one; that, not the order of the
dots, is what the data support.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt

from aescope.bench.ranks import RankSummary
from aescope.bench.tables import METRIC_LABELS, label
from aescope.plots import ANOMALY_COLOR, NORMAL_COLOR, save_figure


def rank_figure(summaries: Sequence[RankSummary], title: str = "") -> plt.Figure:
    """Horizontal dot plot of average ranks (1 = best) with the critical-difference band."""
    n_panels = len(summaries)
    k = max(len(s.average) for s in summaries)
    fig, axes = plt.subplots(1, n_panels, figsize=(5.2 * n_panels, 0.45 * k + 1.6), squeeze=False)
    for ax, summary in zip(axes[0], summaries, strict=True):
        ordered = summary.average.sort_values(ascending=False)  # best ends on top
        names = list(ordered.index)
        y = range(len(names))
        best = float(summary.average.iloc[0])
        cd = summary.critical_difference
        ax.axvspan(best, best + cd, color="#DDDDDD", zorder=0)
        colors = [ANOMALY_COLOR if n.startswith("aescope") else NORMAL_COLOR for n in names]
        ax.scatter(ordered.to_numpy(), list(y), color=colors, s=50, zorder=3)
        for yi, value in zip(y, ordered.to_numpy(), strict=True):
            ax.annotate(
                f"{value:.2f}", (value, yi), xytext=(6, 4), textcoords="offset points", fontsize=8
            )
        ax.set_yticks(list(y), [label(n) for n in names])
        ax.set_xlim(0.5, k + 0.5)
        ax.invert_xaxis()  # rank 1 on the right reads as "better"
        metric = METRIC_LABELS.get(summary.metric, summary.metric)
        ax.set(xlabel=f"average rank on {metric} (1 = best)")
        ax.set_title(
            f"{metric}: {summary.n_datasets} data sets; shaded: within CD = {cd:.2f} of the best",
            fontsize=9,
        )
        ax.grid(axis="x", ls=":", lw=0.6)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def save_rank_figure(summaries: Sequence[RankSummary], path: str | Path, title: str = "") -> Path:
    return save_figure(rank_figure(summaries, title), path)
