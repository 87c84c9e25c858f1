"""Average ranks across data sets, the Friedman test and the Nemenyi critical difference.

Scores from different data sets are not comparable (an AUPRC of 0.3 can be
excellent on one set and poor on another), ranks are. This follows Demšar
(2006, JMLR 7): rank the detectors on each data set (1 = best, ties get the
average rank), average over data sets, test with Friedman whether the ranks
differ at all, and call two detectors different only when their average ranks
differ by more than the Nemenyi critical difference.

Nemenyi compares every pair at once and is conservative; to say whether *one*
detector beats each competitor, :func:`pairwise_wilcoxon` adds Demšar's other
recommendation, the Wilcoxon signed-rank test over data sets on the paired
scores, with Holm's correction for testing one detector against several.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import friedmanchisquare, rankdata, studentized_range, wilcoxon


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
    reference: str | None = None
    pairwise: pd.DataFrame | None = None  # reference vs each other detector, see pairwise_wilcoxon

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
    scores: pd.DataFrame,
    metric: str,
    higher_is_better: bool = True,
    alpha: float = 0.05,
    reference: str | None = None,
) -> RankSummary:
    """Average ranks plus Friedman and Nemenyi for a data sets × detectors table.

    With ``reference`` (a column), also the Wilcoxon tests of it against every
    other detector (:func:`pairwise_wilcoxon`), when there are at least two data sets.
    """
    table = rank_table(scores, higher_is_better)
    if table.empty:
        raise ValueError("no data set has a score for every detector; cannot rank")
    k, n = table.shape[1], table.shape[0]
    stat, p = float("nan"), float("nan")
    if k >= 3 and n >= 2:
        columns = [table[c].to_numpy() for c in table.columns]
        if not all(np.array_equal(columns[0], c) for c in columns[1:]):
            stat, p = (float(v) for v in friedmanchisquare(*columns))
    pairwise = None
    if reference is not None and reference in table.columns and n >= 2:
        pairwise = pairwise_wilcoxon(scores.loc[table.index], reference, higher_is_better, alpha)
    return RankSummary(
        reference=reference,
        pairwise=pairwise,
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


def pairwise_wilcoxon(
    scores: pd.DataFrame, reference: str, higher_is_better: bool = True, alpha: float = 0.05
) -> pd.DataFrame:
    """``reference`` against every other column: wins, ties, losses and the Wilcoxon test.

    One row per competitor of ``reference`` in a data sets × detectors table
    (rows with a missing score are dropped, as for the ranks). ``p`` is the
    two-sided Wilcoxon signed-rank p-value over data sets (zero differences
    dropped, as Demšar's "wilcox" convention; 1.0 when every difference is
    zero); ``p_holm`` is Holm-adjusted over the competitors, and
    ``significant`` says ``p_holm < alpha``. ``better`` says whether the
    reference's median difference favours it.
    """
    complete = scores.dropna(axis=0, how="any")
    if reference not in complete.columns:
        raise ValueError(f"{reference!r} is not a column of the score table")
    sign = 1.0 if higher_is_better else -1.0
    rows = []
    for other in (c for c in complete.columns if c != reference):
        diff = sign * (complete[reference] - complete[other]).to_numpy(dtype=np.float64)
        nonzero = diff[diff != 0]
        p = float(wilcoxon(nonzero).pvalue) if len(nonzero) else 1.0
        rows.append(
            {
                "detector": other,
                "wins": int((diff > 0).sum()),
                "ties": int((diff == 0).sum()),
                "losses": int((diff < 0).sum()),
                "median_difference": float(np.median(diff)) if len(diff) else float("nan"),
                "p": p,
            }
        )
    frame = pd.DataFrame(
        rows, columns=["detector", "wins", "ties", "losses", "median_difference", "p"]
    )
    frame["p_holm"] = holm(frame["p"].to_numpy())
    frame["significant"] = frame["p_holm"] < alpha
    frame["better"] = frame["median_difference"] > 0
    return frame


def holm(p: np.ndarray) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (step-down, monotone, capped at 1)."""
    p = np.asarray(p, dtype=np.float64)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out
