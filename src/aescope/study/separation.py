"""How well a latent space separates normal from anomalous rows, as numbers.

The reference study judged latent spaces by looking at pictures. Each function
here turns one aspect of such a picture into a number so that sweeps can be
compared and correlated:

* ``linear_probe_auroc`` -- can a linear classifier tell the classes apart from
  the codes (cross-validated, so it is not just memorising)?
* ``fisher_ratio`` -- the best single latent dimension's class separation
  relative to its spread, (mu1 - mu0)^2 / (var0 + var1), maximised over
  dimensions (Ho & Basu's "F1" complexity measure).
* ``mahalanobis_distance`` -- distance between the class means in units of the
  pooled within-class covariance (uses every dimension jointly).
* ``silhouette`` -- cluster quality of the two classes on a fixed subsample.
* ``dead_unit_share`` -- latent units that are never active on any row.
* ``participation_ratio`` -- how many dimensions the codes really use.

All functions take plain arrays ``z`` (rows x latent units) and ``y`` (0/1).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, silhouette_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from aescope.errors import DataValidationError

DEAD_TOLERANCE = 1e-6
"""A unit whose absolute activation never exceeds this on any row counts as dead."""


def _check(z: ArrayLike, y: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] == 0:
        raise DataValidationError(f"latent codes must be a non-empty 2-D array, got {z.shape}")
    if not np.isfinite(z).all():
        row, col = np.argwhere(~np.isfinite(z))[0]
        raise DataValidationError(f"latent codes have a non-finite value at row {row}, unit {col}")
    if y is None:
        return z, None
    y = np.asarray(y)
    if y.shape != (z.shape[0],):
        raise DataValidationError(f"labels have shape {y.shape}, codes have {z.shape[0]} rows")
    if not np.isin(y, (0, 1)).all() or np.unique(y).size != 2:
        raise DataValidationError("labels must be 0/1 with both classes present")
    return z, y.astype(np.int8)


def stratified_subsample(y: np.ndarray, max_rows: int, seed: int = 0) -> np.ndarray:
    """Row indices: at most ``max_rows``, anomalies kept up to half of them, fixed by ``seed``.

    Costly metrics (silhouette, nonlinear projections) run on this subsample;
    keeping the rare class whole where possible keeps its shape visible.
    """
    y = np.asarray(y)
    if y.size <= max_rows:
        return np.arange(y.size)
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    n_pos = min(pos.size, max_rows // 2)
    n_neg = min(neg.size, max_rows - n_pos)
    keep = np.concatenate(
        [rng.choice(pos, n_pos, replace=False), rng.choice(neg, n_neg, replace=False)]
    )
    return np.sort(keep)


def linear_probe_auroc(
    z: ArrayLike, y: ArrayLike, *, folds: int = 5, seed: int = 0, max_rows: int = 8000
) -> float:
    """Cross-validated AUROC of a logistic regression on the (standardised) codes.

    Runs on a fixed stratified subsample of at most ``max_rows`` rows (every
    anomaly kept up to half of it): beyond a few thousand rows the estimate
    barely moves, while the cost grows with every one of the study's ~50 models.
    Out-of-fold decision values of all rows are pooled into one AUROC. Classes
    are balanced by weight, so the rare class is not ignored. Constant codes
    (a collapsed latent space) give 0.5.
    """
    z, y = _check(z, y)
    rows = stratified_subsample(y, max_rows, seed)
    z, y = z[rows], y[rows]
    if np.ptp(z, axis=0).max() <= 0:
        return 0.5
    n_folds = int(min(folds, np.bincount(y).min()))
    if n_folds < 2:
        raise DataValidationError("linear probe needs at least 2 rows of each class")
    # liblinear: for a few thousand rows and <= 32 features it is several times faster
    # than lbfgs with the same AUROC, and the study fits this probe ~50 times.
    model = make_pipeline(
        StandardScaler(),
        LogisticRegression(class_weight="balanced", solver="liblinear", max_iter=1000),
    )
    cv = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    decision = cross_val_predict(model, z, y, cv=cv, method="decision_function")
    return float(roc_auc_score(y, decision))


def fisher_ratios(z: ArrayLike, y: ArrayLike) -> np.ndarray:
    """Per-dimension Fisher discriminant ratio (mu1 - mu0)^2 / (var0 + var1); 0 where undefined."""
    z, y = _check(z, y)
    a, b = z[y == 0], z[y == 1]
    num = (b.mean(axis=0) - a.mean(axis=0)) ** 2
    den = a.var(axis=0) + b.var(axis=0)
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    return out


def fisher_ratio(z: ArrayLike, y: ArrayLike) -> float:
    """The largest per-dimension Fisher ratio: how well the single best unit separates."""
    return float(fisher_ratios(z, y).max())


def mahalanobis_distance(z: ArrayLike, y: ArrayLike) -> float:
    """Distance between class means under the pooled within-class covariance.

    The pseudo-inverse ignores directions with no within-class variance (dead
    units), where a plain inverse would fail or explode.
    """
    z, y = _check(z, y)
    a, b = z[y == 0], z[y == 1]
    delta = b.mean(axis=0) - a.mean(axis=0)
    pooled = (np.atleast_2d(np.cov(a, rowvar=False, bias=True)) * len(a)) + (
        np.atleast_2d(np.cov(b, rowvar=False, bias=True)) * len(b)
    )
    pooled /= len(a) + len(b)
    d2 = float(delta @ np.linalg.pinv(pooled, rcond=1e-10, hermitian=True) @ delta)
    return float(np.sqrt(max(d2, 0.0)))


def silhouette(z: ArrayLike, y: ArrayLike, *, max_rows: int = 2000, seed: int = 0) -> float:
    """Silhouette of the two classes (Euclidean) on a fixed stratified subsample."""
    z, y = _check(z, y)
    rows = stratified_subsample(y, max_rows, seed)
    z, y = z[rows], y[rows]
    if np.ptp(z, axis=0).max() <= 0:
        return 0.0
    return float(silhouette_score(z, y, metric="euclidean"))


def dead_units(z: ArrayLike, tol: float = DEAD_TOLERANCE) -> np.ndarray:
    """Boolean mask of units that are never active (|activation| <= tol on every row)."""
    z, _ = _check(z)
    return np.abs(z).max(axis=0) <= tol


def dead_unit_share(z: ArrayLike, tol: float = DEAD_TOLERANCE) -> float:
    return float(dead_units(z, tol).mean())


def participation_ratio(z: ArrayLike) -> float:
    """Effective dimension (sum lambda)^2 / sum lambda^2 of the code covariance; 0 if constant.

    It is k for codes spread evenly over k directions and near 1 when one
    direction dominates, whatever the nominal latent width.
    """
    z, _ = _check(z)
    if z.shape[0] < 2:
        return 0.0
    eig = np.clip(np.linalg.eigvalsh(np.atleast_2d(np.cov(z, rowvar=False))), 0.0, None)
    total = eig.sum()
    if total <= 0:
        return 0.0
    return float(total**2 / np.sum(eig**2))


def latent_separation(
    z: ArrayLike, y: ArrayLike, *, seed: int = 0, silhouette_rows: int = 2000
) -> dict[str, Any]:
    """Every separation number for one model's test-set codes, JSON-ready."""
    z, y = _check(z, y)
    ratios = fisher_ratios(z, y)
    return {
        "latent_units": int(z.shape[1]),
        "probe_auroc": linear_probe_auroc(z, y, seed=seed),
        "fisher_ratio": float(ratios.max()),
        "fisher_best_unit": int(ratios.argmax()),
        "mahalanobis": mahalanobis_distance(z, y),
        "silhouette": silhouette(z, y, max_rows=silhouette_rows, seed=seed),
        "dead_share": dead_unit_share(z),
        "dead_units": int(dead_units(z).sum()),
        "effective_dim": participation_ratio(z),
    }
