"""Shared by the Dask, Spark and engine-CLI tests: a small model and rows to score."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from aescope import AutoencoderDetector, PreprocessSpec, load_creditcard


def scoring_rows(rows: int = 3000) -> pd.DataFrame:
    """Real rows of the bundled sample (frauds included), with a text and an integer id."""
    frame = load_creditcard(sample=True).frame
    picked = pd.concat([frame[frame["Class"] == 1].head(60), frame[frame["Class"] == 0]])
    out = picked.head(rows).drop(columns="Class").reset_index(drop=True)
    out.insert(0, "tx_id", [f"T{i:05d}" for i in range(len(out))])
    out.insert(1, "branch", np.arange(len(out), dtype=np.int64) % 7)
    return out


def train_small_model(path: Path) -> AutoencoderDetector:
    """Two epochs on 2,000 normal rows: enough for scores that differ row to row."""
    frame = load_creditcard(sample=True).frame
    normal = frame[frame["Class"] == 0].tail(2000).drop(columns="Class")
    detector = AutoencoderDetector(
        epochs=2, preprocessing=PreprocessSpec(drop=("Time",)), random_state=0
    ).fit(normal)
    detector.save(path)
    return detector


def assert_same_scores(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Same rows in the same order, scores within 1e-6 relative, identical flags and names."""
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for column in got.columns:
        if column == "score":
            np.testing.assert_allclose(got[column].to_numpy(), want[column].to_numpy(), rtol=1e-6)
        else:
            assert (got[column].to_numpy() == want[column].to_numpy()).all(), column
