"""Spearman correlation with a stratified bootstrap interval."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aescope.study.stats import mean_std, spearman, spearman_ci


def test_spearman_of_monotone_data():
    x = np.repeat([1, 2, 3, 4], 3)
    assert spearman(x, x**2) == pytest.approx(1.0)
    assert spearman(x, -np.exp(x)) == pytest.approx(-1.0)


def test_spearman_agrees_with_scipy_on_ties():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    x = np.repeat([1, 2, 3], 4)
    y = rng.normal(size=12) + x
    assert spearman(x, y) == pytest.approx(spearmanr(x, y).statistic)


def test_interval_excludes_zero_for_a_clear_trend():
    rng = np.random.default_rng(1)
    x = np.repeat([1, 2, 3, 4], 3)
    y = -x + 0.1 * rng.normal(size=x.size)
    c = spearman_ci(x, y, n_bootstrap=500)
    assert -1 <= c["ci_low"] <= c["ci_high"] < 0
    assert c["rho"] < -0.9
    assert c["n"] == 12 and c["levels"] == 4


def test_interval_includes_zero_for_noise():
    rng = np.random.default_rng(2)
    x = np.repeat([1, 2, 3, 4], 3)
    c = spearman_ci(x, rng.normal(size=x.size), n_bootstrap=500)
    assert c["ci_low"] < 0 < c["ci_high"]


def test_constant_outcome_has_no_correlation():
    c = spearman_ci([1, 2, 3], [5, 5, 5])
    assert math.isnan(c["rho"]) and math.isnan(c["ci_low"])


def test_mean_std_uses_the_sample_standard_deviation():
    assert mean_std([1.0, 3.0]) == {"mean": 2.0, "std": pytest.approx(math.sqrt(2)), "n": 2}
    assert mean_std([4.0])["std"] == 0.0
    assert mean_std([float("nan"), 1.0])["n"] == 1


def test_paired_difference_matches_sklearn_and_its_interval_covers_it():
    from sklearn.metrics import average_precision_score, roc_auc_score

    from aescope.study.stats import paired_difference

    rng = np.random.default_rng(3)
    y = (rng.random(3000) < 0.05).astype(int)
    a = rng.normal(size=y.size) + 2 * y
    b = np.round(rng.normal(size=y.size) + y, 1)  # ties
    d = paired_difference(y, a, b, n_bootstrap=300, seed=1)
    assert d["auroc_delta"] == pytest.approx(roc_auc_score(y, a) - roc_auc_score(y, b))
    assert d["auprc_delta"] == pytest.approx(
        average_precision_score(y, a) - average_precision_score(y, b)
    )
    for key in ("auroc_delta", "auprc_delta"):
        assert d[f"{key}_ci_low"] < d[key] < d[f"{key}_ci_high"]
    same = paired_difference(y, a, a, n_bootstrap=50)
    assert same["auprc_delta"] == 0 and same["auprc_delta_ci_high"] == 0  # paired: no noise
