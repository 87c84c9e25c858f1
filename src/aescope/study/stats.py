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
