"""Average ranks, Friedman and Nemenyi on hand-made tables whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wilcoxon

from aescope.bench.ranks import (
    average_ranks,
    holm,
    nemenyi_cd,
    pairwise_wilcoxon,
    rank_table,
    summarize_ranks,
)


@pytest.fixture
def table() -> pd.DataFrame:
    # d2 ties A and B for second place, d3 ties B and C for first place.
    return pd.DataFrame(
        {"A": [0.9, 0.5, 0.6], "B": [0.8, 0.5, 0.7], "C": [0.7, 0.9, 0.7]},
        index=["d1", "d2", "d3"],
    )


def test_ranks_per_data_set_average_ties(table):
    ranks = rank_table(table)
    expected = pd.DataFrame(
        {"A": [1.0, 2.5, 3.0], "B": [2.0, 2.5, 1.5], "C": [3.0, 1.0, 1.5]}, index=table.index
    )
    pd.testing.assert_frame_equal(ranks, expected)


def test_average_ranks_best_first(table):
    avg = average_ranks(table)
    assert list(avg.index) == ["C", "B", "A"]
    np.testing.assert_allclose(avg.to_numpy(), [5.5 / 3, 6 / 3, 6.5 / 3])
    assert math.isclose(avg.sum(), 3 * 4 / 2)  # ranks of 3 detectors always sum to 6


def test_lower_is_better_flips_the_order(table):
    avg = average_ranks(table, higher_is_better=False)
    assert list(avg.index) == ["A", "B", "C"]
    np.testing.assert_allclose(avg.to_numpy(), [(3 + 1.5 + 1) / 3, 2.0, (1 + 3 + 2.5) / 3])


def test_data_set_with_a_missing_score_is_left_out(table):
    table.loc["d4"] = [0.1, np.nan, 0.2]
    summary = summarize_ranks(table, "auprc")
    assert summary.n_datasets == 3 and summary.dropped == ("d4",)
    assert list(summary.average.index) == ["C", "B", "A"]


def test_nemenyi_cd_matches_demsar_table():
    # Demšar (2006), Table 5(a): q_0.05 = 2.343 for k = 3 and 3.031 for k = 8.
    assert nemenyi_cd(3, 10) == pytest.approx(2.343 * math.sqrt(3 * 4 / 60), abs=1e-3)
    assert nemenyi_cd(8, 22) == pytest.approx(3.031 * math.sqrt(8 * 9 / (6 * 22)), abs=1e-3)


def test_friedman_statistic_matches_the_textbook_formula():
    # No ties: chi2_F = 12 N / (k (k + 1)) * (sum_j R_j^2 - k (k + 1)^2 / 4).
    scores = pd.DataFrame(
        {"A": [0.9, 0.8, 0.7, 0.95], "B": [0.8, 0.9, 0.6, 0.9], "C": [0.1, 0.2, 0.3, 0.4]}
    )
    summary = summarize_ranks(scores, "auroc")
    n, k = 4, 3
    mean_ranks = summary.average.reindex(["A", "B", "C"]).to_numpy()
    expected = 12 * n / (k * (k + 1)) * (np.sum(mean_ranks**2) - k * (k + 1) ** 2 / 4)
    assert summary.friedman_statistic == pytest.approx(expected)
    assert 0 < summary.friedman_p < 0.05  # C is last every time
    assert summary.critical_difference == pytest.approx(nemenyi_cd(3, 4))
    assert summary.not_worse_than_best()[0] == "A"


def test_no_complete_row_is_an_error():
    with pytest.raises(ValueError, match="every detector"):
        average_ranks(pd.DataFrame({"A": [np.nan], "B": [0.5]}))


def test_wilcoxon_counts_and_p_values_against_scipy():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.5, 0.9, size=12)
    scores = pd.DataFrame(
        {
            "ref": base + 0.05,
            "worse": base,
            "same": base + 0.05,
            "mixed": base + rng.normal(0, 0.05, 12),
        },
        index=[f"d{i}" for i in range(12)],
    )
    table = pairwise_wilcoxon(scores, "ref").set_index("detector")
    assert list(table.index) == ["worse", "same", "mixed"]
    assert table.loc["worse", ["wins", "ties", "losses"]].tolist() == [12, 0, 0]
    assert table.loc["same", "ties"] == 12 and table.loc["same", "p"] == 1.0
    diff = (scores["ref"] - scores["mixed"]).to_numpy()
    assert table.loc["mixed", "p"] == pytest.approx(wilcoxon(diff[diff != 0]).pvalue)
    assert table.loc["worse", "significant"] and table.loc["worse", "better"]
    assert not table.loc["same", "significant"]
    # lower-is-better flips who wins
    flipped = pairwise_wilcoxon(scores, "ref", higher_is_better=False).set_index("detector")
    assert flipped.loc["worse", "losses"] == 12 and not flipped.loc["worse", "better"]


def test_holm_adjustment_matches_the_step_down_rule():
    np.testing.assert_allclose(holm(np.array([0.01, 0.04, 0.03])), [0.03, 0.06, 0.06])
    assert holm(np.array([0.5, 0.9])).max() <= 1.0


def test_summary_carries_the_reference_tests(table):
    summary = summarize_ranks(table, "auprc", reference="A")
    assert summary.pairwise is not None and set(summary.pairwise["detector"]) == {"B", "C"}
    assert summarize_ranks(table, "auprc").pairwise is None
