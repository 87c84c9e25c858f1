"""Detection metrics over ``(y_true, scores)``, where a higher score means more anomalous.

Everything here is a pure function of plain arrays so that studies, reports and the
CLI share one definition of each number. Where scikit-learn has the metric we call it;
the only hand-written piece is the bootstrap, which needs thousands of AUROC/AUPRC
evaluations and would be far too slow as a Python loop over ``roc_auc_score``.

Conventions (the same everywhere in aescope):

* A row is flagged when ``score >= threshold``.
* Labels are 0 (normal) / 1 (anomaly); bool and float 0.0/1.0 are accepted.
* ``precision`` is 0 when nothing is flagged (sklearn ``zero_division=0``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
    roc_curve,
)

from aescope.data.validate import check_labels, check_scores
from aescope.errors import DataValidationError

__all__ = [
    "amount_caught",
    "average_precision",
    "bootstrap_ci",
    "confusion",
    "evaluate",
    "precision_at_k",
    "precision_recall_f1",
    "recall_at_fpr",
    "roc_auc",
]

#: FPR budgets reported by :func:`evaluate` (0.1 % and 1 % of normals flagged).
FPR_TARGETS: tuple[float, ...] = (0.001, 0.01)

# Work per bootstrap chunk: resamples x groups cells held in memory at once.
_CHUNK_CELLS = 4_000_000
# Draw slot counts directly (multinomial) when rows outnumber slots by this factor.
_MULTINOMIAL_SLOT_FACTOR = 4


# --------------------------------------------------------------------------- validation


def _validate(
    y_true: ArrayLike,
    scores: ArrayLike,
    *,
    both_classes: bool = True,
    what: str = "this metric",
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(y int8, scores float64)`` or raise naming the first bad row.

    Validation lives in one place so that every metric rejects the same inputs with
    the same message instead of sklearn's varied, less specific errors.
    """
    y = np.asarray(y_true)
    s = np.asarray(scores)
    if y.ndim == 1 and s.ndim == 1 and len(y) != len(s):
        raise DataValidationError(
            f"length mismatch: y_true has {len(y)} rows but scores has {len(s)}"
        )
    y = check_labels(y, "y_true")
    s = check_scores(s, "scores")
    if both_classes:
        n_pos = int(y.sum())
        if n_pos == 0 or n_pos == len(y):
            only = "anomalies (1)" if n_pos else "normals (0)"
            raise DataValidationError(
                f"{what} needs both classes but y_true contains only {only}; "
                "AUROC/AUPRC are undefined for a single class"
            )
    return y, s


def _validate_amount(amount: ArrayLike, n: int) -> np.ndarray:
    a = np.asarray(amount)
    if a.ndim != 1 or len(a) != n:
        raise DataValidationError(f"amount must be 1-D with {n} rows; got shape {a.shape}")
    if a.dtype.kind not in "biuf":
        raise DataValidationError(f"amount must be numeric, got dtype {a.dtype}")
    a = a.astype(np.float64, copy=False)
    bad = np.flatnonzero(~np.isfinite(a) | (a < 0))
    if bad.size:
        raise DataValidationError(
            f"amount must be finite and >= 0; row {bad[0]} is {a[bad[0]]} ({bad.size} bad row(s))"
        )
    return a


def _check_threshold(threshold: float) -> float:
    t = float(threshold)
    if np.isnan(t):
        raise DataValidationError("threshold is NaN")
    return t


# --------------------------------------------------------------------------- point metrics


def roc_auc(y_true: ArrayLike, scores: ArrayLike) -> float:
    """Area under the ROC curve (ties count one half, as in sklearn)."""
    y, s = _validate(y_true, scores, what="AUROC")
    return float(roc_auc_score(y, s))


def average_precision(y_true: ArrayLike, scores: ArrayLike) -> float:
    """AUPRC as sklearn's average precision (step-wise, no interpolation).

    Average precision is preferred over the trapezoidal PR area because the latter is
    optimistic on heavily imbalanced data such as credit-card fraud.
    """
    y, s = _validate(y_true, scores, what="AUPRC")
    return float(average_precision_score(y, s))


def confusion(y_true: ArrayLike, scores: ArrayLike, threshold: float) -> dict[str, int]:
    """Confusion counts ``{"tn", "fp", "fn", "tp"}`` when flagging ``score >= threshold``."""
    y, s = _validate(y_true, scores, both_classes=False)
    pred = (s >= _check_threshold(threshold)).astype(np.int8)
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    return {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)}


def precision_recall_f1(y_true: ArrayLike, scores: ArrayLike, threshold: float) -> dict[str, float]:
    """Precision, recall and F1 of the anomaly class when flagging ``score >= threshold``.

    Undefined ratios (nothing flagged, no anomalies) are reported as 0, as sklearn's
    ``zero_division=0`` does, so a report never carries NaN.
    """
    y, s = _validate(y_true, scores, both_classes=False)
    pred = (s >= _check_threshold(threshold)).astype(np.int8)
    p, r, f, _ = precision_recall_fscore_support(
        y, pred, average="binary", pos_label=1, zero_division=0.0
    )
    return {"precision": float(p), "recall": float(r), "f1": float(f)}


def recall_at_fpr(y_true: ArrayLike, scores: ArrayLike, fpr: float) -> float:
    """Largest recall reachable by any threshold whose false-positive rate is ``<= fpr``.

    Computed from ``sklearn.metrics.roc_curve`` (all points kept): the maximum TPR over
    the ROC points with FPR at most the target. ROC points are thresholds equal to
    observed scores, so this is exact for the ``score >= threshold`` rule; tied scores
    cannot be split, which is why the result can fall below a naive interpolation.
    The point (0, 0) is always allowed, so the result is 0 when no threshold fits.
    """
    if not 0.0 <= float(fpr) <= 1.0:
        raise DataValidationError(f"fpr must be in [0, 1], got {fpr}")
    y, s = _validate(y_true, scores, what="recall at FPR")
    fpr_curve, tpr_curve, _ = roc_curve(y, s, drop_intermediate=False)
    # A tiny tolerance keeps e.g. 1/1000 <= 0.001 true despite float rounding.
    ok = fpr_curve <= float(fpr) + 1e-12
    return float(tpr_curve[ok].max())


def precision_at_k(y_true: ArrayLike, scores: ArrayLike, k: int | None = None) -> float:
    """Share of anomalies among the ``k`` highest-scored rows.

    ``k`` defaults to the number of anomalies (R-precision), where precision equals
    recall. Ties at the k-th place are broken by row order (stable sort), so exactly
    ``k`` rows are counted and the result is deterministic.
    """
    y, s = _validate(y_true, scores, both_classes=False)
    if k is None:
        k = int(y.sum())
        if k == 0:
            raise DataValidationError("precision@k with default k needs at least one anomaly")
    k = int(k)
    if not 1 <= k <= len(y):
        raise DataValidationError(f"k must be between 1 and {len(y)}, got {k}")
    top = np.argsort(-s, kind="stable")[:k]
    return float(y[top].mean())


def amount_caught(
    y_true: ArrayLike, scores: ArrayLike, threshold: float, amount: ArrayLike
) -> dict[str, float | None]:
    """Money view for fraud: how much of the fraudulent amount the alerts cover.

    Returns ``amount_fraud_total`` (sum over anomalies), ``amount_caught`` (over flagged
    anomalies) and ``amount_caught_share`` (their ratio; ``None`` when the total is 0).
    """
    y, s = _validate(y_true, scores, both_classes=False)
    a = _validate_amount(amount, len(y))
    flagged = s >= _check_threshold(threshold)
    total = float(a[y == 1].sum())
    caught = float(a[(y == 1) & flagged].sum())
    return {
        "amount_fraud_total": total,
        "amount_caught": caught,
        "amount_caught_share": caught / total if total > 0 else None,
    }


# --------------------------------------------------------------------------- bootstrap


def _score_slots(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, int]:
    """Map each row to an ordered score "slot" so resamples reduce to slot counts.

    Slot ``2k + 1`` holds rows whose score equals the k-th distinct anomaly score
    (ascending); slot ``2k`` holds rows strictly between the (k-1)-th and k-th. Merging
    normals that no anomaly score separates changes neither AUROC nor AP, and on fraud
    data it shrinks tens of thousands of distinct scores to a few hundred slots.
    """
    upos = np.unique(s[y == 1])
    k = np.searchsorted(upos, s, side="left")
    equal = upos[np.minimum(k, len(upos) - 1)] == s
    return (2 * k + equal).astype(np.int64), 2 * len(upos) + 1


def _auc_ap_from_counts(p: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUROC and average precision of many resamples from per-slot class counts.

    ``p`` and ``n`` are ``(B, slots)`` counts of anomalies and normals per ordered
    score slot. Both metrics become cumulative sums along the slots, identical to
    sklearn's definitions (ties: half credit in AUROC; one PR step per distinct score
    in AP).
    """
    p = p.astype(np.float64)
    n = n.astype(np.float64)
    n_pos = p.sum(axis=1)
    n_neg = n.sum(axis=1)
    neg_below = np.cumsum(n, axis=1) - n
    auc = (p * (neg_below + 0.5 * n)).sum(axis=1) / (n_pos * n_neg)
    # Descending thresholds: counts at or above each slot.
    tp = np.cumsum(p[:, ::-1], axis=1)
    fp = np.cumsum(n[:, ::-1], axis=1)
    flagged = tp + fp
    precision = np.divide(tp, flagged, out=np.zeros_like(tp), where=flagged > 0)
    ap = (p[:, ::-1] * precision).sum(axis=1) / n_pos
    return auc, ap


def _counts_from_rows(slot: np.ndarray, rows: np.ndarray, n_slots: int) -> np.ndarray:
    """``(B, n_slots)`` counts of the resampled rows ``rows`` (shape ``(B, m)``)."""
    b = rows.shape[0]
    offsets = (np.arange(b, dtype=np.int64) * n_slots)[:, None]
    flat = np.bincount((slot[rows] + offsets).ravel(), minlength=b * n_slots)
    return flat.reshape(b, n_slots)


def _draw_counts(rng: np.random.Generator, slot_c: np.ndarray, n_slots: int, b: int) -> np.ndarray:
    """Slot counts of ``b`` resamples (with replacement) of one class's rows.

    Resampling m rows uniformly with replacement gives multinomial(m, slot shares)
    slot counts, so when there are far fewer slots than rows we draw the counts
    directly; otherwise drawing row indices is cheaper.
    """
    m = len(slot_c)
    if n_slots * _MULTINOMIAL_SLOT_FACTOR < m:
        shares = np.bincount(slot_c, minlength=n_slots) / m
        return rng.multinomial(m, shares, size=b)
    rows = rng.integers(0, m, size=(b, m))
    return _counts_from_rows(slot_c, rows, n_slots)


def bootstrap_ci(
    y_true: ArrayLike,
    scores: ArrayLike,
    *,
    n_bootstrap: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Percentile bootstrap confidence intervals for AUROC and AUPRC.

    Rows are resampled with replacement *within each class* (stratified), keeping the
    class counts fixed, so every resample has both classes and AUPRC's baseline (the
    anomaly share) does not wobble. Seeded with ``numpy.random.default_rng(seed)``.

    Returns ``{"auroc": (low, high), "auprc": (low, high), "auroc_samples": array,
    "auprc_samples": array}`` (the per-resample values, for plots or other intervals).
    """
    y, s = _validate(y_true, scores, what="bootstrap CI")
    if int(n_bootstrap) < 1:
        raise DataValidationError(f"n_bootstrap must be >= 1, got {n_bootstrap}")
    if not 0.0 < float(confidence) < 1.0:
        raise DataValidationError(f"confidence must be in (0, 1), got {confidence}")
    n_bootstrap = int(n_bootstrap)
    slot, n_slots = _score_slots(y, s)
    slot_pos, slot_neg = slot[y == 1], slot[y == 0]
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_bootstrap, _CHUNK_CELLS // max(n_slots, len(y))))
    aucs, aps = [], []
    for start in range(0, n_bootstrap, chunk):
        b = min(chunk, n_bootstrap - start)
        p = _draw_counts(rng, slot_pos, n_slots, b)
        n = _draw_counts(rng, slot_neg, n_slots, b)
        auc, ap = _auc_ap_from_counts(p, n)
        aucs.append(auc)
        aps.append(ap)
    auc_all = np.concatenate(aucs)
    ap_all = np.concatenate(aps)
    alpha = (1.0 - float(confidence)) / 2.0
    qs = (alpha, 1.0 - alpha)
    return {
        "auroc": tuple(float(v) for v in np.quantile(auc_all, qs)),
        "auprc": tuple(float(v) for v in np.quantile(ap_all, qs)),
        "auroc_samples": auc_all,
        "auprc_samples": ap_all,
    }


# --------------------------------------------------------------------------- entry point


def evaluate(
    y_true: ArrayLike,
    scores: ArrayLike,
    threshold: float | None = None,
    amount: ArrayLike | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    fpr_targets: Sequence[float] = FPR_TARGETS,
) -> dict[str, Any]:
    """All headline metrics in one JSON-serialisable dict (plain floats/ints/None).

    Keys, always present:
      ``n``, ``n_anomalies``, ``anomaly_share``, ``auroc``, ``auprc``,
      ``recall_at_fpr_<t>`` for each ``t`` in ``fpr_targets`` (default
      ``recall_at_fpr_0.001`` and ``recall_at_fpr_0.01``), ``precision_at_k``, ``k``
      (= number of anomalies), ``n_bootstrap``, ``seed``, ``confidence``,
      ``auroc_ci_low``, ``auroc_ci_high``, ``auprc_ci_low``, ``auprc_ci_high``
      (CI values are ``None`` when ``n_bootstrap == 0``).
    With ``threshold``:
      ``threshold``, ``precision``, ``recall``, ``f1``, ``tn``, ``fp``, ``fn``, ``tp``,
      ``alerts`` (= fp + tp), ``fpr`` (fp / normals).
    With ``threshold`` and ``amount``:
      ``amount_fraud_total``, ``amount_caught``, ``amount_caught_share``.
    """
    y, s = _validate(y_true, scores, what="evaluate")
    if amount is not None and threshold is None:
        raise DataValidationError(
            "amount was given without a threshold: the amount caught depends on which "
            "rows are flagged, so pass threshold= as well"
        )
    if int(n_bootstrap) < 0:
        raise DataValidationError(f"n_bootstrap must be >= 0, got {n_bootstrap}")
    n_pos = int(y.sum())
    out: dict[str, Any] = {
        "n": len(y),
        "n_anomalies": n_pos,
        "anomaly_share": n_pos / len(y),
        "auroc": roc_auc(y, s),
        "auprc": average_precision(y, s),
    }
    for target in fpr_targets:
        out[f"recall_at_fpr_{float(target):g}"] = recall_at_fpr(y, s, target)
    out["precision_at_k"] = precision_at_k(y, s)
    out["k"] = n_pos
    out.update(
        n_bootstrap=int(n_bootstrap),
        seed=int(seed),
        confidence=float(confidence),
        auroc_ci_low=None,
        auroc_ci_high=None,
        auprc_ci_low=None,
        auprc_ci_high=None,
    )
    if n_bootstrap > 0:
        ci = bootstrap_ci(y, s, n_bootstrap=n_bootstrap, seed=seed, confidence=confidence)
        out["auroc_ci_low"], out["auroc_ci_high"] = ci["auroc"]
        out["auprc_ci_low"], out["auprc_ci_high"] = ci["auprc"]
    if threshold is not None:
        t = _check_threshold(threshold)
        counts = confusion(y, s, t)
        out["threshold"] = t
        out.update(precision_recall_f1(y, s, t))
        out.update(counts)
        out["alerts"] = counts["fp"] + counts["tp"]
        out["fpr"] = counts["fp"] / (counts["fp"] + counts["tn"])
        if amount is not None:
            out.update(amount_caught(y, s, t, amount))
    return out
