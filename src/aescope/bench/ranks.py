"""Average ranks across data sets, the Friedman test and the Nemenyi critical difference.

Scores from different data sets are not comparable (an AUPRC of 0.3 can be
excellent on one set and poor on another), ranks are. This follows Demšar
(2006, JMLR 7): rank the detectors on each data set (1 = best, ties get the
average rank), average over data sets, test with Friedman whether the ranks
differ at all, and call two detectors different only when their average ranks
differ by more than the Nemenyi critical difference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import friedmanchisquare, rankdata, studentized_range


@dataclass(frozen=True)
class RankSummary:
    """Average ranks (ascending: best first) and the tests behind them."""

    metric: str
    average: pd.Series
    ranks: pd.DataFrame
    n_datasets: int
    dropped: tuple[str, ...]
    friedman_statistic: float
    friedman_p: float
    critical_difference: float
    alpha: float

    def not_worse_than_best(self) -> list[str]:
        """Detectors whose average rank is within one CD of the best one."""
        best = float(self.average.iloc[0])
        return [name for name, r in self.average.items() if r - best <= self.critical_difference]


def rank_table(scores: pd.DataFrame, higher_is_better: bool = True) -> pd.DataFrame:
    """Per-row ranks of a data sets × detectors table; rows with a missing score are dropped."""
    complete = scores.dropna(axis=0, how="any")
    values = complete.to_numpy(dtype=np.float64)
    ranks = rankdata(-values if higher_is_better else values, method="average", axis=1)
    return pd.DataFrame(ranks, index=complete.index, columns=complete.columns)


def average_ranks(scores: pd.DataFrame, higher_is_better: bool = True) -> pd.Series:
    """Mean rank of each detector over the data sets, best (lowest) first."""
    table = rank_table(scores, higher_is_better)
    if table.empty:
        raise ValueError("no data set has a score for every detector; cannot rank")
    return table.mean(axis=0).sort_values(kind="stable")


def nemenyi_cd(n_detectors: int, n_datasets: int, alpha: float = 0.05) -> float:
    """Critical difference of average ranks: q_alpha * sqrt(k (k + 1) / (6 N)).

    q_alpha is the studentized range quantile for k groups and infinite degrees
    of freedom divided by sqrt(2), which reproduces Demšar's Table 5.
    """
    if n_detectors < 2 or n_datasets < 1:
        raise ValueError(f"need >= 2 detectors and >= 1 data set, got {n_detectors}, {n_datasets}")
    q = studentized_range.ppf(1 - alpha, n_detectors, np.inf) / math.sqrt(2)
    return float(q * math.sqrt(n_detectors * (n_detectors + 1) / (6 * n_datasets)))


def summarize_ranks(
    scores: pd.DataFrame, metric: str, higher_is_better: bool = True, alpha: float = 0.05
) -> RankSummary:
    """Average ranks plus Friedman and Nemenyi for a data sets × detectors table."""
    table = rank_table(scores, higher_is_better)
    if table.empty:
        raise ValueError("no data set has a score for every detector; cannot rank")
    k, n = table.shape[1], table.shape[0]
    stat, p = float("nan"), float("nan")
    if k >= 3 and n >= 2:
        columns = [table[c].to_numpy() for c in table.columns]
        if not all(np.array_equal(columns[0], c) for c in columns[1:]):
            stat, p = (float(v) for v in friedmanchisquare(*columns))
    return RankSummary(
        metric=metric,
        average=table.mean(axis=0).sort_values(kind="stable"),
        ranks=table,
        n_datasets=n,
        dropped=tuple(str(i) for i in scores.index.difference(table.index)),
        friedman_statistic=stat,
        friedman_p=p,
        critical_difference=nemenyi_cd(k, n, alpha) if k >= 2 else float("nan"),
        alpha=alpha,
    )
