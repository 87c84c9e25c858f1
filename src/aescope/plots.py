"""Figures shared by the CLI and reports: one palette, readable axes, atomic PNG files."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import PrecisionRecallDisplay, RocCurveDisplay

from aescope._atomic import atomic_path

NORMAL_COLOR = "#4477AA"
ANOMALY_COLOR = "#CC3311"
THRESHOLD_COLOR = "#222222"


def save_figure(fig: plt.Figure, path: str | Path) -> Path:
    """Write ``fig`` as PNG atomically and close it."""
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def roc_pr_figure(y: np.ndarray, scores: np.ndarray, title: str = "") -> plt.Figure:
    """ROC and precision-recall curves side by side, with the chance levels drawn."""
    fig, (roc_ax, pr_ax) = plt.subplots(1, 2, figsize=(10, 4.2))
    RocCurveDisplay.from_predictions(
        y, scores, ax=roc_ax, curve_kwargs={"color": ANOMALY_COLOR}, name="autoencoder"
    )
    roc_ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="chance")
    roc_ax.set(xlabel="false-positive rate", ylabel="true-positive rate (recall)", title="ROC")
    roc_ax.legend(loc="lower right")
    PrecisionRecallDisplay.from_predictions(y, scores, ax=pr_ax, name="autoencoder")
    pr_ax.lines[-1].set_color(ANOMALY_COLOR)
    pr_ax.axhline(float(np.mean(y)), ls="--", color="grey", lw=1, label="chance (prevalence)")
    pr_ax.set(xlabel="recall", ylabel="precision", title="Precision-recall")
    pr_ax.legend(loc="upper right")
    if title:
        fig.suptitle(title)
    return fig


def error_histogram(
    y: np.ndarray, scores: np.ndarray, threshold: float | None = None, title: str = ""
) -> plt.Figure:
    """Reconstruction-error distributions by class on a log axis, with the threshold.

    Each bar is the share of its class's rows in that bin. The bins are equally
    wide on the log axis, so bar areas compare honestly; a density (count per
    unit of error) would shrink the wide high-error bins, where anomalies sit.
    Classes of very different sizes stay comparable either way.
    """
    fig, ax = plt.subplots(figsize=(7, 4.2))
    positive = np.clip(scores, np.finfo(np.float64).tiny, None)
    low, high = positive.min(), positive.max()
    bins = np.logspace(np.log10(low), np.log10(high), 80)
    bins[[0, -1]] = low, high  # 10**log10(x) can miss x by a rounding
    for label, color, name in ((0, NORMAL_COLOR, "normal"), (1, ANOMALY_COLOR, "anomaly")):
        part = positive[y == label]
        if part.size:
            ax.hist(
                part,
                bins=bins,
                weights=np.full(part.size, 1.0 / part.size),
                color=color,
                alpha=0.6,
                label=f"{name} (n={part.size:,})",
            )
    if threshold is not None:
        ax.axvline(threshold, color=THRESHOLD_COLOR, ls="--", label=f"threshold {threshold:.3g}")
    ax.set(
        xscale="log",
        xlabel="reconstruction error (mean squared, scaled units)",
        ylabel="share of the class's rows",
    )
    ax.set_title(title or "Reconstruction error by class")
    ax.legend()
    return fig
