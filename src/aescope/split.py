"""Train / validation / test splits for novelty detection, explicit and seeded.

The study's protocol is a *novelty* setting: the autoencoder only ever sees
normal rows during training, a held-out share of normal rows drives early
stopping and thresholds, and the test set is the remaining normal rows plus
every anomaly. A split is a set of row indices plus the recipe that produced
it, so that every result can record exactly which rows it was measured on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aescope.data.validate import check_labels
from aescope.errors import ConfigError, DataValidationError


@dataclass(frozen=True)
class Split:
    """Row indices of the three parts, and how they were made."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    kind: str
    seed: int
    params: dict[str, Any] = field(default_factory=dict)

    def describe(self, y: np.ndarray | None = None) -> dict[str, Any]:
        """A JSON-ready record of the split, with class counts when labels are given."""
        record: dict[str, Any] = {"kind": self.kind, "seed": self.seed, **self.params}
        for part in ("train", "val", "test"):
            idx = getattr(self, part)
            record[f"{part}_rows"] = int(idx.size)
            if y is not None:
                record[f"{part}_anomalies"] = int(np.asarray(y)[idx].sum())
        return record


def _check_shares(train_share: float, val_share: float) -> None:
    if not (0 < train_share < 1 and 0 <= val_share < 1 and train_share + val_share < 1):
        raise DataValidationError(
            "need 0 < train_share < 1, 0 <= val_share < 1 and train_share + val_share < 1 "
            f"(a test share must remain); got train_share={train_share}, val_share={val_share}"
        )


def _cut(rows: np.ndarray, train_share: float, val_share: float) -> tuple[np.ndarray, ...]:
    n_train = round(train_share * rows.size)
    n_val = round(val_share * rows.size)
    return rows[:n_train], rows[n_train : n_train + n_val], rows[n_train + n_val :]


def novelty_split(
    y: np.ndarray, *, train_share: float = 0.8, val_share: float = 0.1, seed: int = 0
) -> Split:
    """Shuffle the normal rows and cut them into train / val / test; all anomalies go to test.

    With the defaults on the credit-card data this trains on 227,452 normal rows,
    the size at which the study's epoch timings were taken.
    """
    y = check_labels(y)
    _check_shares(train_share, val_share)
    normals = np.flatnonzero(y == 0)
    if normals.size < 3:
        raise DataValidationError(f"need at least 3 normal rows to split, found {normals.size}")
    rng = np.random.default_rng(seed)
    train, val, test_normals = _cut(rng.permutation(normals), train_share, val_share)
    test = np.sort(np.concatenate([test_normals, np.flatnonzero(y == 1)]))
    return Split(
        np.sort(train),
        np.sort(val),
        test,
        kind="novelty",
        seed=seed,
        params={"train_share": train_share, "val_share": val_share},
    )


def temporal_split(
    time: np.ndarray,
    y: np.ndarray,
    *,
    train_share: float = 0.6,
    val_share: float = 0.2,
    seed: int = 0,
) -> Split:
    """Cut by time: the earliest rows train, the next validate, the latest test.

    This is the realistic case for fraud: a model is fitted on the past and
    judged on transactions it could not have seen. Anomalies inside the train
    and validation periods are dropped (never trained on); the test period
    keeps all its rows. ``seed`` only breaks ties between equal timestamps.
    """
    y = check_labels(y)
    time = np.asarray(time, dtype=float)
    if time.shape != y.shape:
        raise DataValidationError(f"time has {time.size} rows but labels have {y.size}")
    _check_shares(train_share, val_share)
    tiebreak = np.random.default_rng(seed).random(y.size)
    order = np.lexsort((tiebreak, time))
    train, val, test = _cut(order, train_share, val_share)
    cut_times = (float(time[train].max()), float(time[val].max()) if val.size else None)
    return Split(
        np.sort(train[y[train] == 0]),
        np.sort(val[y[val] == 0]),
        np.sort(test),
        kind="temporal",
        seed=seed,
        params={
            "train_share": train_share,
            "val_share": val_share,
            "train_until": cut_times[0],
            "val_until": cut_times[1],
        },
    )


def natural_prevalence(
    split: Split, y: np.ndarray, *, seed: int = 0, prevalence: float | None = None
) -> np.ndarray:
    """Subsample the test anomalies so the test set has the population's anomaly share.

    The novelty split puts *every* anomaly into a test set that holds only a
    slice of the normals, which inflates precision-type metrics; this view
    restores the prevalence a deployed detector would face: ``prevalence``
    (see :attr:`aescope.data.Dataset.population_prevalence`), or the share in
    ``y`` when it is None.
    """
    y = check_labels(y)
    if prevalence is None:
        prevalence = float(y.mean())
    elif not 0 < prevalence < 1:
        raise ConfigError(f"prevalence must be between 0 and 1 (exclusive), got {prevalence}")
    test_normals = split.test[y[split.test] == 0]
    test_anomalies = split.test[y[split.test] == 1]
    wanted = prevalence / (1 - prevalence) * test_normals.size
    n_keep = int(min(test_anomalies.size, max(1, round(wanted)))) if test_anomalies.size else 0
    rng = np.random.default_rng(seed)
    keep = rng.choice(test_anomalies, size=n_keep, replace=False)
    return np.sort(np.concatenate([test_normals, keep]))
