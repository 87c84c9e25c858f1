"""The study's figures: loss curves, latent spaces, activations and sweeps with error bars.

Normal vs fraud always use :data:`aescope.plots.NORMAL_COLOR` / ``ANOMALY_COLOR``;
other series use colours that cannot be mistaken for a class.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator
from sklearn.decomposition import PCA
from sklearn.manifold import Isomap

from aescope.plots import ANOMALY_COLOR, NORMAL_COLOR
from aescope.study.separation import stratified_subsample
from aescope.study.summary import METRICS

SERIES_COLORS = ("#228833", "#AA3377", "#66CCEE", "#CCBB44", "#555555")
"""Colours for non-class series (train/val, metrics); none resembles the class colours."""

CLASSES = ((0, NORMAL_COLOR, "normal"), (1, ANOMALY_COLOR, "fraud"))


def loss_curves_figure(
    histories: Sequence[Mapping[str, Any]],
    title: str = "",
    bar: float | None = None,
    kept_last: bool = False,
) -> plt.Figure:
    """Train (solid) and validation (dashed) loss per epoch for each seed, log scale.

    The dot marks the epoch whose weights were kept: the best validation epoch,
    or the last one for a run that keeps its final weights (``kept_last``).
    """
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, h in enumerate(histories):
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        epochs = np.arange(1, len(h["train_loss"]) + 1)
        ax.plot(epochs, h["train_loss"], color=color, lw=1.4, label=f"seed {h['seed']}: train")
        if h.get("val_loss"):
            ax.plot(epochs, h["val_loss"], color=color, lw=1.2, ls="--", label="validation")
            best = len(h["val_loss"]) - 1 if kept_last else h.get("best_epoch", -1)
            if best >= 0:
                ax.plot(best + 1, h["val_loss"][best], "o", color=color, ms=5)
    if bar is not None:
        ax.axhline(bar, color="black", lw=0.8, ls=":", label=f"target {bar:g}")
    ax.set(
        yscale="log",
        xlabel="epoch (train: mean over the epoch's batches; validation: at its end)",
        ylabel="reconstruction loss (MSE, standardised units)",
        title=(title or "Loss curves") + " (dots: kept epoch)",
    )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.grid(alpha=0.3)
    return fig


def latent_projection_figure(
    z: np.ndarray, y: np.ndarray, *, max_rows: int = 1500, seed: int = 0, title: str = ""
) -> plt.Figure:
    """Codes of normal and fraud test rows in 2-D: PCA (all rows) and Isomap (subsample)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    rows = stratified_subsample(y, max_rows, seed)
    spread = np.ptp(z, axis=0).max() > 0
    pca = PCA(n_components=2, random_state=seed).fit(z) if spread and z.shape[1] > 1 else None
    views = [
        (
            "PCA of latent codes",
            pca.transform(z) if pca is not None else _pad2(z),
            np.arange(len(y)),
        )
    ]
    if spread and z.shape[1] > 1:
        with warnings.catch_warnings():
            # A disconnected neighbour graph (a far-off cluster of frauds) is completed
            # by Isomap itself; its warnings about that are expected here.
            warnings.simplefilter("ignore")
            iso = Isomap(n_components=2, n_neighbors=15).fit_transform(z[rows])
        views.append((f"Isomap of latent codes ({rows.size:,} rows)", iso, rows))
    else:
        views.append(("Isomap not possible: latent codes are constant", _pad2(z[rows]), rows))
    for ax, (name, xy, idx) in zip(axes, views, strict=True):
        for label, color, cname in CLASSES:
            mask = y[idx] == label
            ax.scatter(
                xy[mask, 0],
                xy[mask, 1],
                s=4 if label == 0 else 9,
                alpha=0.35 if label == 0 else 0.8,
                color=color,
                label=f"{cname} (n={int(mask.sum()):,})",
                rasterized=True,
            )
        ax.set(title=name, xlabel="component 1", ylabel="component 2")
        ax.legend(markerscale=2, fontsize=8)
    if pca is not None:
        share = pca.explained_variance_ratio_
        axes[0].set(xlabel=f"PC 1 ({share[0]:.0%} of variance)")
        axes[0].set(ylabel=f"PC 2 ({share[1]:.0%} of variance)")
    if title:
        fig.suptitle(title)
    return fig


def _pad2(z: np.ndarray) -> np.ndarray:
    out = np.zeros((z.shape[0], 2))
    out[:, : min(2, z.shape[1])] = z[:, :2]
    return out


def latent_activation_figure(
    z: np.ndarray, y: np.ndarray, *, rows_per_class: int = 150, seed: int = 0, title: str = ""
) -> plt.Figure:
    """Per-unit activations: class means with their 10th-90th percentile, and sample rows.

    Percentiles rather than ± std: a ReLU unit's activations are never negative,
    and a std bar would draw them below zero.
    """
    units = np.arange(z.shape[1])
    fig, (bar_ax, heat_ax) = plt.subplots(
        2, 1, figsize=(9, 8), gridspec_kw={"height_ratios": [1, 1.1]}
    )
    width = 0.4
    for offset, (label, color, name) in zip((-width / 2, width / 2), CLASSES, strict=True):
        part = z[y == label]
        mean = part.mean(axis=0)
        low, high = np.percentile(part, [10, 90], axis=0)
        bar_ax.bar(units + offset, mean, width, color=color, alpha=0.8, label=f"{name} mean")
        bar_ax.errorbar(
            units + offset,
            mean,
            yerr=np.vstack([np.clip(mean - low, 0, None), np.clip(high - mean, 0, None)]),
            fmt="none",
            elinewidth=0.8,
            ecolor="#333333",
            label="10th–90th percentile" if label == 1 else None,
        )
    bar_ax.set(xlabel="latent unit", ylabel="activation", title="Mean activation per latent unit")
    ticks = units[:: max(1, math.ceil(len(units) / 12))]
    bar_ax.set_xticks(ticks)
    bar_ax.set_xlim(-0.7, len(units) - 0.3)
    bar_ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    rng = np.random.default_rng(seed)
    picks = []
    for label, _, _ in CLASSES:
        idx = np.flatnonzero(y == label)
        picks.append(rng.choice(idx, min(rows_per_class, idx.size), replace=False))
    sample = z[np.concatenate(picks)]
    image = heat_ax.imshow(sample, aspect="auto", cmap="viridis", interpolation="nearest")
    heat_ax.axhline(picks[0].size - 0.5, color="white", lw=1.5)
    heat_ax.set_yticks([picks[0].size / 2, picks[0].size + picks[1].size / 2])
    heat_ax.set_yticklabels([f"normal\n({picks[0].size})", f"fraud\n({picks[1].size})"])
    for tick, color in zip(heat_ax.get_yticklabels(), (NORMAL_COLOR, ANOMALY_COLOR), strict=True):
        tick.set_color(color)
    heat_ax.set_xticks(ticks)
    heat_ax.set(xlabel="latent unit", title="Activations of sample rows")
    fig.colorbar(image, ax=heat_ax, label="activation")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def detection_figure(
    y: np.ndarray, curves: Sequence[tuple[str, np.ndarray]], title: str = ""
) -> plt.Figure:
    """ROC and precision-recall curves of the autoencoder beside its baselines' scores."""
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_curve

    fig, (roc_ax, pr_ax) = plt.subplots(1, 2, figsize=(10, 4.6))
    colors = (ANOMALY_COLOR, "#555555", "#228833", "#CCBB44")
    styles = ("-", "--", "-.", ":")
    for i, (name, scores) in enumerate(curves):
        fpr, tpr, _ = roc_curve(y, scores)
        precision, recall, _ = precision_recall_curve(y, scores)
        ap = average_precision_score(y, scores)
        kw = {"color": colors[i % 4], "ls": styles[i % 4], "lw": 1.6 if i == 0 else 1.2}
        roc_ax.plot(fpr, tpr, **kw, label=name)
        pr_ax.plot(recall, precision, drawstyle="steps-post", **kw, label=f"{name}: AP {ap:.3f}")
    roc_ax.plot([0, 1], [0, 1], color="#bbbbbb", lw=1, label="chance")
    roc_ax.set(xlabel="false-positive rate", ylabel="recall", title="ROC", xscale="log")
    roc_ax.set_xlim(1e-4, 1)
    pr_ax.axhline(float(np.mean(y)), color="#bbbbbb", lw=1, label="chance (prevalence)")
    pr_ax.set(xlabel="recall", ylabel="precision", title="Precision-recall", ylim=(0, 1.02))
    for ax in (roc_ax, pr_ax):
        ax.grid(alpha=0.3)
    roc_ax.legend(loc="upper left")
    pr_ax.legend(loc="lower left")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


SWEEP_PANELS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("Reconstruction loss (normal rows)", ("train_loss", "val_loss"), True),
    ("Detection by reconstruction error", ("auroc", "auprc", "auprc_natural"), False),
    ("Latent separation", ("probe_auroc", "silhouette"), False),
    ("Class distance in latent space", ("fisher_ratio", "mahalanobis"), True),
    ("Latent usage", ("effective_dim",), False),
    ("Dead latent units", ("dead_share",), False),
)


def sweep_figure(
    rows: Sequence[Mapping[str, Any]],
    parameter: str,
    *,
    title: str = "",
    reference: Mapping[float, float] | None = None,
    reference_label: str = "study (reported val loss)",
    baselines: Mapping[str, Any] | None = None,
) -> plt.Figure:
    """Each metric's mean ± std over seeds against the swept setting (evenly spaced).

    Three rows of two panels, 10 inches wide, so that labels stay readable when
    the report is 900 pixels wide. ``baselines`` adds reference lines: no
    model's loss and AUPRC, and the linear AE's per setting (``pca`` values).
    """
    fig, axes = plt.subplots(3, 2, figsize=(10, 11))
    x = np.arange(len(rows))
    labels = [f"{r['value']:g}" for r in rows]
    for ax, (name, keys, log_y) in zip(axes.ravel(), SWEEP_PANELS, strict=True):
        for i, key in enumerate(keys):
            mean = np.array([r[key]["mean"] for r in rows])
            std = np.array([r[key]["std"] for r in rows])
            lower = np.minimum(std, mean) if log_y else std  # no bar below 0 on a log axis
            ax.errorbar(
                x + (i - (len(keys) - 1) / 2) * 0.06,
                mean,
                yerr=[lower, std],
                marker="o",
                ms=4,
                capsize=3,
                color=SERIES_COLORS[i],
                label=METRICS[key].label,
            )
        if name.startswith("Reconstruction loss"):
            if reference:
                ref = [
                    (i, reference[r["value"]])
                    for i, r in enumerate(rows)
                    if r["value"] in reference
                ]
                if ref:
                    xi, yi = zip(*ref, strict=True)
                    ax.plot(xi, yi, "s", color="black", mfc="none", ms=8, label=reference_label)
            if baselines:
                _loss_baselines(ax, x, baselines)
        if name.startswith("Detection") and baselines:
            none = baselines["no_model"]["detection"]["auprc"]
            ax.axhline(none, color="#555555", ls="--", lw=1, label=f"no model: AUPRC {none:.3f}")
        if name == "Dead latent units":
            ax.set_ylim(-0.05, 1.05)
        if log_y and all(r[k]["mean"] > 0 for r in rows for k in keys):
            ax.set_yscale("log")
        ax.set_xticks(x, labels)
        ax.set(xlabel=parameter, title=name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9, framealpha=0.85)
    fig.suptitle(title or f"Sweep over {parameter} (mean ± std over seeds)")
    fig.tight_layout()
    return fig


def _loss_baselines(ax: plt.Axes, x: np.ndarray, baselines: Mapping[str, Any]) -> None:
    """No model's validation loss as a line, the linear AE's per setting as crosses."""
    none = baselines["no_model"]["val_loss"]
    ax.axhline(none, color="#555555", ls="--", lw=1, label=f"no model: val loss {none:.2f}")
    pca = baselines.get("pca")
    if pca:
        ax.plot(x, pca, "x", color="#555555", ms=7, label="PCA, same width: val loss")
