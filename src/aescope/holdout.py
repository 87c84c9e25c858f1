"""Fit a detector on a data set's split and measure it on the rows it never saw.

This is the study's protocol as one call, shared by ``aescope train`` and the
demo: train on training normals, stop early and pick the threshold on
validation normals, evaluate on held-out normals plus every anomaly — and on
the same test set thinned to the population's anomaly share
(``Dataset.population_prevalence``: the full file's for the bundled sample).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from aescope.data import Dataset
from aescope.detector import AutoencoderDetector
from aescope.errors import DataValidationError
from aescope.metrics import evaluate
from aescope.split import Split, natural_prevalence, novelty_split


@dataclass
class HoldoutResult:
    detector: AutoencoderDetector
    split: Split
    test_scores: np.ndarray
    metrics: dict[str, Any]
    natural_metrics: dict[str, Any]


def fit_holdout(
    data: Dataset,
    detector: AutoencoderDetector,
    *,
    split: Split | None = None,
    amount_column: str | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> HoldoutResult:
    """Fit ``detector`` on ``split`` (a seeded novelty split by default) and evaluate it."""
    if data.y is None:
        raise DataValidationError(f"{data.name}: needs a label column for a held-out evaluation")
    split = split if split is not None else novelty_split(data.y, seed=seed)
    X, y = data.X, data.y
    detector.fit(X.iloc[split.train], validation_data=(X.iloc[split.val], y[split.val]))
    test_scores = detector.score_samples(X.iloc[split.test])
    amount = None if amount_column is None else data.frame[amount_column].to_numpy()
    natural = natural_prevalence(split, y, seed=seed, prevalence=data.population_prevalence)

    def measure(rows: np.ndarray) -> dict[str, Any]:
        """Metrics on ``rows`` (a subset of the test rows, whose scores are already known)."""
        return evaluate(
            y[rows],
            test_scores[np.searchsorted(split.test, rows)],
            threshold=detector.threshold_,
            amount=None if amount is None else amount[rows],
            n_bootstrap=n_bootstrap,
            seed=seed,
        )

    return HoldoutResult(detector, split, test_scores, measure(split.test), measure(natural))
