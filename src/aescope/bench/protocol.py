"""One split-and-scale protocol for every detector, so differences come from the detectors.

Novelty setting: detectors train on normal rows only; validation normals are
offered to those that early-stop; the test set is the held-out normals plus
every anomaly. The scaler is fitted on the training rows alone, so no test row
(and no anomaly) shapes the features a detector sees. One seed gives the same
rows and the same scaled matrices to every detector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aescope.data import Dataset
from aescope.errors import DataValidationError
from aescope.preprocess import (
    STUDY_PREPROCESSING,
    FittedPreprocessor,
    PreprocessSpec,
    fit_preprocessor,
)
from aescope.split import Split, novelty_split

TRAIN_SHARE = 0.8
VAL_SHARE = 0.1


@dataclass(frozen=True)
class Prepared:
    """The scaled matrices of one (data set, seed), and the rows they came from."""

    dataset: str
    seed: int
    split: Split
    preprocessor: FittedPreprocessor
    x_train: np.ndarray
    x_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def preprocess_spec(data: Dataset) -> PreprocessSpec:
    """Standard scaling; the credit-card ``Time`` column is dropped as in the study."""
    if data.name.startswith("creditcard") and "Time" in data.features:
        return STUDY_PREPROCESSING
    drop = (data.time,) if data.time else ()
    return PreprocessSpec(drop=drop, scaling="standard")


def prepare(data: Dataset, seed: int, max_train_rows: int | None = None) -> Prepared:
    """Split ``data`` with ``novelty_split(seed)`` and scale with statistics of the train rows.

    ``max_train_rows`` subsamples the training rows (seeded, identical for
    every detector) before the scaler is fitted.
    """
    y = data.y
    if y is None:
        raise DataValidationError(f"{data.name}: benchmarking needs a label column")
    split = novelty_split(y, train_share=TRAIN_SHARE, val_share=VAL_SHARE, seed=seed)
    train = subsample(split.train, max_train_rows, seed)
    if len(train) < 2 or len(split.val) < 1:
        raise DataValidationError(
            f"{data.name}: too few normal rows to train and validate "
            f"({len(train)} train, {len(split.val)} validation)"
        )
    features = data.X
    pre = fit_preprocessor(preprocess_spec(data), features.iloc[train])
    return Prepared(
        dataset=data.name,
        seed=seed,
        split=split,
        preprocessor=pre,
        x_train=pre.transform(features.iloc[train]),
        x_val=pre.transform(features.iloc[split.val]),
        x_test=pre.transform(features.iloc[split.test]),
        y_test=y[split.test],
    )


def subsample(rows: np.ndarray, max_rows: int | None, seed: int) -> np.ndarray:
    """At most ``max_rows`` of ``rows`` (sorted), drawn reproducibly from ``seed``.

    Used for the protocol-wide cap and for the O(n²) detectors (LOF, OCSVM);
    the same seed always picks the same rows.
    """
    if max_rows is None or len(rows) <= max_rows:
        return rows
    if max_rows < 1:
        raise DataValidationError(f"max_rows must be >= 1, got {max_rows}")
    rng = np.random.default_rng(np.random.SeedSequence((int(seed), 0xBE7C)))
    return np.sort(rng.choice(rows, size=max_rows, replace=False))
