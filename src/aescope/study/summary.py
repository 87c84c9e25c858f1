"""From per-run records to per-setting means and per-sweep effect sizes.

Records are the JSON dicts of :mod:`aescope.study.runs`; everything below reads
numbers through :data:`METRICS` so that tables, figures and answers agree on
what each column is and which direction is better.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from aescope.study.stats import mean_std, spearman_ci

BEST = "@best"
"""Path step: index a per-epoch history list at the run's kept (best) epoch."""


@dataclass(frozen=True)
class Metric:
    key: str
    label: str  # what a table header or axis says
    path: tuple[str, ...]  # where the number sits in a run record
    higher_is_better: bool
    fmt: str = ".4f"


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric("train_loss", "train loss (MSE)", ("train_loss",), False),
        Metric("val_loss", "validation loss (MSE)", ("val_loss",), False),
        Metric("test_loss", "test loss (MSE)", ("test_loss",), False),
        Metric("test_loss_normal", "test loss, normal rows", ("test_loss_normal",), False),
        Metric("test_loss_anomaly", "test loss, fraud rows", ("test_loss_anomaly",), False),
        Metric("accuracy_train", "the study's accuracy, train", ("accuracy_train",), True, ".2%"),
        Metric("accuracy_test", "the study's accuracy, test", ("accuracy_test",), True, ".2%"),
        # 1 - train loss / no model's train loss: ~0 for a network that outputs the mean.
        Metric("explained", "share of no model's loss removed", ("explained",), True, ".3f"),
        Metric(
            "rank_corr_no_model",
            "rank correlation of errors with no model",
            ("rank_corr_no_model",),
            False,
            ".3f",
        ),
        Metric("epochs_run", "epochs trained", ("epochs_run",), False, ".0f"),
        # Loss + regularisers at the kept epoch: what Keras (and the study) calls "loss".
        Metric(
            "train_objective",
            "train objective (loss + penalties)",
            ("history", "train_objective", BEST),
            False,
        ),
        Metric(
            "val_objective",
            "validation objective (loss + penalties)",
            ("history", "val_objective", BEST),
            False,
        ),
        Metric("auroc", "test AUROC", ("detection", "auroc"), True),
        Metric("auprc", "test AUPRC", ("detection", "auprc"), True),
        Metric("auroc_natural", "AUROC at natural prevalence", ("natural", "auroc"), True),
        Metric("auprc_natural", "AUPRC at natural prevalence", ("natural", "auprc"), True),
        Metric(
            "auprc_gain", "AUPRC gain over no model", ("vs_no_model", "auprc_delta"), True, ".3f"
        ),
        Metric("auprc_gain_pca", "AUPRC gain over PCA", ("vs_pca", "auprc_delta"), True, ".3f"),
        Metric("probe_auroc", "linear-probe AUROC (latent)", ("latent", "probe_auroc"), True),
        Metric("fisher_ratio", "Fisher ratio (best unit)", ("latent", "fisher_ratio"), True, ".3f"),
        Metric("mahalanobis", "Mahalanobis distance", ("latent", "mahalanobis"), True, ".3f"),
        Metric("silhouette", "silhouette (latent)", ("latent", "silhouette"), True, ".3f"),
        Metric("dead_share", "dead latent units (share)", ("latent", "dead_share"), False, ".2f"),
        Metric("effective_dim", "effective latent dim", ("latent", "effective_dim"), True, ".2f"),
    )
}

SEPARATION_METRICS = ("probe_auroc", "fisher_ratio", "mahalanobis", "silhouette", "effective_dim")

CORRELATED = (
    "train_loss",
    "val_loss",
    "auroc",
    "auprc",
    "auprc_natural",
    "auprc_gain",
    *SEPARATION_METRICS,
    "dead_share",
)
"""Metrics whose rank correlation with the swept setting the report quotes."""


def metric_value(record: dict[str, Any], key: str) -> float:
    value: Any = record
    for part in METRICS[key].path:
        if part == BEST:
            best = record.get("best_epoch", -1)
            value = value[best] if isinstance(value, list) and 0 <= best < len(value) else None
        else:
            value = value.get(part) if isinstance(value, dict) else None
    return float("nan") if value is None else float(value)


def point_summary(records: Sequence[dict[str, Any]], keys: Sequence[str] = tuple(METRICS)):
    """Per setting (in first-seen order): value, label, seeds, and mean/std of each metric."""
    order: list[float] = []
    groups: dict[float, list[dict[str, Any]]] = {}
    for r in records:
        if r["value"] not in groups:
            order.append(r["value"])
            groups[r["value"]] = []
        groups[r["value"]].append(r)
    rows = []
    for value in order:
        group = groups[value]
        row: dict[str, Any] = {
            "value": value,
            "label": group[0]["label"],
            "seeds": [r["seed"] for r in group],
        }
        for key in keys:
            row[key] = mean_std([metric_value(r, key) for r in group])
        rows.append(row)
    return rows


def correlations(
    records: Sequence[dict[str, Any]],
    keys: Sequence[str] = CORRELATED,
    *,
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Spearman rho (with stratified-bootstrap CI) of each metric against the swept value.

    Ranks make this indifferent to the axis scale: L1 = 0 ... 1 and latent 2 ... 32
    need no log transform.
    """
    x = np.asarray([float(r["value"]) for r in records])
    return {
        key: spearman_ci(
            x, [metric_value(r, key) for r in records], n_bootstrap=n_bootstrap, seed=seed
        )
        for key in keys
    }
