"""A tiny credit-card data set for the study tests: real rows, a few seconds to train on."""

from __future__ import annotations

import numpy as np

from aescope.data import load_dataset
from aescope.data.dataset import Dataset


def tiny_dataset(prevalence: float | None = None) -> Dataset:
    """2,000 normal rows and 60 frauds of the bundled real sample.

    With ``prevalence`` the rows stand for a population with that fraud share,
    as the bundled sample itself does (the report then shows its sample banner).
    """
    sample = load_dataset("creditcard-sample")
    frame = sample.frame
    rows = np.r_[np.flatnonzero(sample.y == 0)[:2000], np.flatnonzero(sample.y == 1)[:60]]
    return Dataset(
        "tiny", frame.iloc[rows].reset_index(drop=True), "Class", "Time", "test", prevalence
    )
