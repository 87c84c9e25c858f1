"""Effect sizes with uncertainty for sweep results: Spearman's rho and bootstrap intervals.

A sweep is a designed experiment: each setting ``x`` was trained with a few
seeds. The bootstrap therefore resamples the seeds *within* each setting
(stratified), keeping every setting in every resample; the interval then
reflects seed-to-seed variation, the only randomness the sweep has. Resampling
models freely would sometimes drop whole settings and leave rho undefined.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import rankdata

from aescope.errors import DataValidationError
from aescope.metrics import _auc_ap_from_counts, _score_slots  # one definition of both


def _pairs(x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise DataValidationError(f"x and y must be 1-D of equal length, got {x.shape}, {y.shape}")
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def _spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman rho of each row pair (x[i], y[i]); NaN where a row is constant."""
    rx = rankdata(x, axis=-1)
    ry = rankdata(y, axis=-1)
    rx = rx - rx.mean(axis=-1, keepdims=True)
    ry = ry - ry.mean(axis=-1, keepdims=True)
    den = np.sqrt((rx**2).sum(axis=-1) * (ry**2).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (rx * ry).sum(axis=-1) / den, np.nan)


def spearman(x: ArrayLike, y: ArrayLike) -> float:
    """Spearman rank correlation (ties get average ranks); NaN if either side is constant."""
    x, y = _pairs(x, y)
    if x.size < 2:
        return float("nan")
    return float(_spearman_rows(x[None], y[None])[0])


def spearman_ci(
    x: ArrayLike,
    y: ArrayLike,
    *,
    n_bootstrap: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Spearman rho of y on x with a percentile interval from a stratified bootstrap.

    Returns ``rho``, ``ci_low``, ``ci_high``, ``n`` (models), ``levels`` (distinct
    x), ``confidence`` and ``n_bootstrap``. With a single level, or constant y,
    rho is NaN: there is no relationship to measure.
    """
    x, y = _pairs(x, y)
    rho = spearman(x, y) if x.size >= 2 else float("nan")
    out: dict[str, Any] = {
        "rho": rho,
        "ci_low": float("nan"),
        "ci_high": float("nan"),
        "n": int(x.size),
        "levels": int(np.unique(x).size),
        "confidence": confidence,
        "n_bootstrap": int(n_bootstrap),
    }
    if math.isnan(rho) or n_bootstrap <= 0:
        return out
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(x == level) for level in np.unique(x)]
    draws = np.concatenate(
        [g[rng.integers(0, g.size, size=(n_bootstrap, g.size))] for g in groups], axis=1
    )
    samples = _spearman_rows(x[draws], y[draws])
    samples = samples[np.isfinite(samples)]
    if samples.size:
        alpha = (1 - confidence) / 2
        out["ci_low"], out["ci_high"] = (float(q) for q in np.quantile(samples, [alpha, 1 - alpha]))
    return out


def mean_std(values: ArrayLike) -> dict[str, float]:
    """Mean and sample standard deviation (ddof=1; 0 for one value) of the finite values."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"mean": float("nan"), "std": float("nan"), "n": 0}
    std = float(v.std(ddof=1)) if v.size > 1 else 0.0
    return {"mean": float(v.mean()), "std": std, "n": int(v.size)}


def paired_difference(
    y: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    *,
    n_bootstrap: int = 200,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, float]:
    """AUROC and AUPRC of score ``a`` minus those of score ``b`` on the same rows.

    The interval comes from a paired, class-stratified bootstrap: each resample
    draws the rows once and scores both detectors on them, so the row-to-row
    luck that two separate intervals would each carry cancels out. Rows are
    counted in score slots (see :func:`aescope.metrics.bootstrap_ci`), which
    makes a resample cost two ``bincount`` calls. Returns ``auroc_delta``,
    ``auprc_delta`` and their ``_ci_low`` / ``_ci_high`` (NaN without resamples).
    """
    y = np.asarray(y).astype(np.int8)
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if not (y.shape == a.shape == b.shape) or y.ndim != 1:
        raise DataValidationError(f"y, a and b must be 1-D of one length: {y.shape}, {a.shape}")
    slots = [_score_slots(y, s) for s in (a, b)]
    rows = np.arange(y.size)[None]

    def deltas(drawn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        (auc_a, ap_a), (auc_b, ap_b) = (_slot_metrics(slot, n, y, drawn) for slot, n in slots)
        return auc_a - auc_b, ap_a - ap_b

    d_auc, d_ap = deltas(rows)
    out = {"auroc_delta": float(d_auc[0]), "auprc_delta": float(d_ap[0])}
    for key in ("auroc_delta", "auprc_delta"):
        out[f"{key}_ci_low"] = out[f"{key}_ci_high"] = float("nan")
    if n_bootstrap <= 0:
        return out
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    chunk = max(1, 4_000_000 // y.size)
    samples: list[tuple[np.ndarray, np.ndarray]] = []
    for start in range(0, n_bootstrap, chunk):
        k = min(chunk, n_bootstrap - start)
        drawn = np.concatenate(  # stratified: each class keeps its size in every resample
            [g[rng.integers(0, g.size, size=(k, g.size))] for g in (pos, neg)], axis=1
        )
        samples.append(deltas(drawn))
    alpha = (1 - confidence) / 2
    for i, key in enumerate(("auroc_delta", "auprc_delta")):
        values = np.concatenate([s[i] for s in samples])
        low, high = np.quantile(values, [alpha, 1 - alpha])
        out[f"{key}_ci_low"], out[f"{key}_ci_high"] = float(low), float(high)
    return out


def _slot_metrics(
    slot: np.ndarray, n_slots: int, y: np.ndarray, drawn: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """AUROC and AP of each resample (a row of ``drawn``) from its per-slot class counts."""
    is_pos = y[drawn].astype(bool)
    offsets = (np.arange(drawn.shape[0]) * n_slots)[:, None]
    cells = slot[drawn] + offsets
    size = drawn.shape[0] * n_slots
    p = np.bincount(cells[is_pos], minlength=size).reshape(-1, n_slots)
    n = np.bincount(cells[~is_pos], minlength=size).reshape(-1, n_slots)
    return _auc_ap_from_counts(p, n)
