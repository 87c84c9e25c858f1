"""Metrics: hand-computed cases, agreement with sklearn, and the vectorised bootstrap."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from aescope import metrics
from aescope.errors import DataValidationError
from aescope.metrics import (
    amount_caught,
    average_precision,
    bootstrap_ci,
    confusion,
    evaluate,
    precision_at_k,
    precision_recall_f1,
    recall_at_fpr,
    roc_auc,
)

# sklearn's documentation example: AUROC 0.75, AP 0.8333...
Y = np.array([0, 0, 1, 1])
S = np.array([0.1, 0.4, 0.35, 0.8])


def _synthetic(n: int, share: float, seed: int, shift: float = 2.0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < share).astype(np.int8)
    y[:2] = [0, 1]  # both classes, always
    s = rng.normal(size=n) + shift * y
    return y, s


def test_auroc_and_auprc_hand_computed():
    assert roc_auc(Y, S) == pytest.approx(0.75)
    # AP = 0.5 * 1 (at 0.8) + 0.5 * 2/3 (at 0.35)
    assert average_precision(Y, S) == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_auroc_ties_count_half():
    # one positive tied with one negative, one positive above both
    assert roc_auc([0, 1, 1], [1.0, 1.0, 2.0]) == pytest.approx((0.5 + 1.0) / 2)


def test_point_metrics_agree_with_sklearn():
    y, s = _synthetic(500, 0.1, seed=3)
    s = np.round(s, 1)  # ties
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s))
    assert average_precision(y, s) == pytest.approx(average_precision_score(y, s))


def test_threshold_metrics_hand_computed():
    y = [0, 0, 0, 1, 1, 1]
    s = [0.1, 0.5, 0.9, 0.4, 0.9, 1.2]
    # threshold 0.9 (>=): flags rows 2, 4, 5 -> tp 2, fp 1, fn 1, tn 2
    assert confusion(y, s, 0.9) == {"tn": 2, "fp": 1, "fn": 1, "tp": 2}
    prf = precision_recall_f1(y, s, 0.9)
    assert prf["precision"] == pytest.approx(2 / 3)
    assert prf["recall"] == pytest.approx(2 / 3)
    assert prf["f1"] == pytest.approx(2 / 3)


def test_nothing_flagged_gives_zero_precision_not_nan():
    prf = precision_recall_f1([0, 1], [0.1, 0.2], threshold=5.0)
    assert prf == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_recall_at_fpr_constructed_case():
    normals = np.arange(1000, dtype=float)  # 0..999
    anomalies = np.array([2000.0] * 5 + [997.5] * 5)
    y = np.r_[np.zeros(1000), np.ones(10)].astype(int)
    s = np.r_[normals, anomalies]
    # 0.1 %: one false positive allowed. Catching the 997.5 group also flags 998 and
    # 999, so only the five at 2000 are reachable.
    assert recall_at_fpr(y, s, 0.001) == pytest.approx(0.5)
    assert recall_at_fpr(y, s, 0.002) == pytest.approx(1.0)
    assert recall_at_fpr(y, s, 0.01) == pytest.approx(1.0)
    # A positive tied with every normal cannot be split off.
    assert recall_at_fpr([0, 0, 1], [1.0, 1.0, 1.0], 0.4) == 0.0


def test_precision_at_k():
    y = [1, 0, 1, 0, 0]
    s = [0.9, 0.8, 0.7, 0.1, 0.0]
    assert precision_at_k(y, s) == pytest.approx(0.5)  # k = 2 anomalies: rows 0, 1
    assert precision_at_k(y, s, k=3) == pytest.approx(2 / 3)
    assert precision_at_k(y, s, k=1) == pytest.approx(1.0)
    with pytest.raises(DataValidationError, match="k must be between 1 and 5"):
        precision_at_k(y, s, k=6)


def test_amount_caught():
    y = [1, 1, 1, 0]
    s = [0.9, 0.2, 0.8, 0.95]
    amount = [100.0, 300.0, 50.0, 1000.0]
    out = amount_caught(y, s, 0.5, amount)
    assert out["amount_fraud_total"] == pytest.approx(450.0)
    assert out["amount_caught"] == pytest.approx(150.0)
    assert out["amount_caught_share"] == pytest.approx(150.0 / 450.0)
    assert amount_caught([1, 0], [1, 0], 0.5, [0.0, 5.0])["amount_caught_share"] is None
    with pytest.raises(DataValidationError, match="row 1 is -3"):
        amount_caught(y, s, 0.5, [1.0, -3.0, 1.0, 1.0])


@pytest.mark.parametrize(
    ("y", "s", "pattern"),
    [
        ([0, 1, 1], [0.1, 0.2], "length mismatch: y_true has 3 rows but scores has 2"),
        ([0, 2, 1], [0.1, 0.2, 0.3], "must be 0/1; row 1 is 2 "),
        ([0, 0, 0], [0.1, 0.2, 0.3], "only normals.*AUROC/AUPRC are undefined"),
        ([1, 1], [0.1, 0.2], "only anomalies"),
        ([0, 1, 0, 1], [0.1, 0.2, np.nan, 0.3], "row 2 is nan"),
        ([0, 1], [0.1, np.inf], "row 1 is inf"),
    ],
)
def test_bad_inputs_are_refused_clearly(y, s, pattern):
    with pytest.raises(DataValidationError, match=pattern):
        roc_auc(y, s)


def test_single_class_allowed_for_threshold_metrics():
    assert confusion([0, 0], [0.1, 0.9], 0.5) == {"tn": 1, "fp": 1, "fn": 0, "tp": 0}


def test_vectorised_bootstrap_matches_sklearn_per_resample():
    y, s = _synthetic(300, 0.2, seed=5)
    s = np.round(s, 1)  # plenty of ties, also between classes
    slot, n_slots = metrics._score_slots(y, s)
    rng = np.random.default_rng(0)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    pos_rows = pos[rng.integers(0, len(pos), (8, len(pos)))]
    neg_rows = neg[rng.integers(0, len(neg), (8, len(neg)))]
    auc, ap = metrics._auc_ap_from_counts(
        metrics._counts_from_rows(slot, pos_rows, n_slots),
        metrics._counts_from_rows(slot, neg_rows, n_slots),
    )
    for i in range(8):
        rows = np.r_[pos_rows[i], neg_rows[i]]
        assert auc[i] == pytest.approx(roc_auc_score(y[rows], s[rows]), abs=1e-12)
        assert ap[i] == pytest.approx(average_precision_score(y[rows], s[rows]), abs=1e-12)


def test_bootstrap_ci_contains_estimate_is_seeded_and_narrows():
    y, s = _synthetic(400, 0.1, seed=1, shift=1.5)
    small = bootstrap_ci(y, s, n_bootstrap=500, seed=7)
    again = bootstrap_ci(y, s, n_bootstrap=500, seed=7)
    assert small["auroc"] == again["auroc"] and small["auprc"] == again["auprc"]
    lo, hi = small["auroc"]
    assert lo < roc_auc(y, s) < hi
    lo, hi = small["auprc"]
    assert lo < average_precision(y, s) < hi

    y_big, s_big = _synthetic(20_000, 0.1, seed=2, shift=1.5)
    big = bootstrap_ci(y_big, s_big, n_bootstrap=500, seed=7)
    assert big["auroc"][1] - big["auroc"][0] < 0.5 * (small["auroc"][1] - small["auroc"][0])
    assert big["auprc"][1] - big["auprc"][0] < 0.5 * (small["auprc"][1] - small["auprc"][0])


def test_bootstrap_samplers_agree(monkeypatch):
    """Multinomial slot counts and row resampling are the same distribution."""
    y, s = _synthetic(5000, 0.01, seed=4)
    via_multinomial = bootstrap_ci(y, s, n_bootstrap=2000, seed=0)
    monkeypatch.setattr(metrics, "_MULTINOMIAL_SLOT_FACTOR", 10**9)  # force row draws
    via_rows = bootstrap_ci(y, s, n_bootstrap=2000, seed=0)
    for key in ("auroc", "auprc"):
        assert via_multinomial[key] != via_rows[key]  # really two code paths
        np.testing.assert_allclose(via_multinomial[key], via_rows[key], atol=0.02)


def test_evaluate_keys_values_and_json():
    y, s = _synthetic(2000, 0.05, seed=9)
    amount = np.random.default_rng(0).uniform(1, 100, len(y))
    out = evaluate(y, s, threshold=1.0, amount=amount, n_bootstrap=200, seed=3)
    json.dumps(out, allow_nan=False)  # plain JSON types only
    assert out["auroc"] == pytest.approx(roc_auc_score(y, s))
    assert out["auprc"] == pytest.approx(average_precision_score(y, s))
    assert out["n"] == 2000 and out["n_anomalies"] == int(y.sum()) == out["k"]
    assert out["recall_at_fpr_0.001"] == recall_at_fpr(y, s, 0.001)
    assert out["recall_at_fpr_0.01"] == recall_at_fpr(y, s, 0.01)
    assert out["precision_at_k"] == precision_at_k(y, s)
    assert out["auroc_ci_low"] < out["auroc"] < out["auroc_ci_high"]
    assert out["auprc_ci_low"] < out["auprc"] < out["auprc_ci_high"]
    assert {k: out[k] for k in ("tn", "fp", "fn", "tp")} == confusion(y, s, 1.0)
    assert out["alerts"] == out["fp"] + out["tp"]
    assert out["fpr"] == pytest.approx(out["fp"] / (y == 0).sum())
    assert out["f1"] == precision_recall_f1(y, s, 1.0)["f1"]
    assert out["amount_caught_share"] == amount_caught(y, s, 1.0, amount)["amount_caught_share"]


def test_evaluate_without_threshold_or_bootstrap():
    out = evaluate(Y, S, n_bootstrap=0)
    assert out["auroc_ci_low"] is None and out["auprc_ci_high"] is None
    assert "threshold" not in out and "precision" not in out
    with pytest.raises(DataValidationError, match="amount was given without a threshold"):
        evaluate(Y, S, amount=[1, 2, 3, 4])
