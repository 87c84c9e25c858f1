"""A tiny credit-card data set for the study tests: real rows, a few seconds to train on."""

from __future__ import annotations

import numpy as np

from aescope.data import load_dataset
from aescope.data.dataset import Dataset
from aescope.study import StudyConfig

SMALL_STUDY = StudyConfig(
    seeds=(0, 1),
    epochs=1,
    batch_size=256,
    patience=1,
    q1_candidates=((256, 1e-3, 1, None),),
    protocol_epochs=1,
    depths=(2, 3),
    depth_latent=4,  # depth 3 with a latent of 4 is the latent sweep's 4: one network, two sweeps
    latents=(4,),
    l1s=(0.0,),
    n_bootstrap=10,
    projection_rows=300,
    baselines=("lof",),
)
"""A study of seconds: every question, two seeds, one shared network."""


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
