"""Dataset: roles of columns, a stable content fingerprint, and the summary."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from aescope.data import Dataset, validate_frame
from aescope.errors import DataValidationError


def _dataset(**overrides) -> Dataset:
    frame = validate_frame(
        pd.DataFrame({"t": [0.0, 1.0, 2.0, 3.0], "x": [1.0, 2.0, 3.0, 6.0], "c": [0, 0, 1, 0]}),
        label="c",
        time="t",
    )
    fields = {"name": "toy", "frame": frame, "label": "c", "time": "t", "source": "memory"}
    fields.update(overrides)
    return Dataset(**fields)


def test_features_x_and_y():
    ds = _dataset()
    assert ds.features == ["t", "x"]
    assert list(ds.X.columns) == ["t", "x"]
    assert ds.y.dtype == np.int8 and ds.y.tolist() == [0, 0, 1, 0]


def test_population_prevalence_is_the_own_share_unless_given():
    assert _dataset().population_prevalence == pytest.approx(0.25)
    assert _dataset(prevalence=0.01).population_prevalence == 0.01
    unlabelled = _dataset(frame=_dataset().frame.drop(columns="c"), label=None)
    assert unlabelled.population_prevalence is None


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, 1.5])
def test_prevalence_out_of_range_is_refused(bad):
    with pytest.raises(DataValidationError, match=f"prevalence must be between 0 and 1.*{bad}"):
        _dataset(prevalence=bad)


def test_prevalence_without_a_label_is_refused():
    frame = _dataset().frame.drop(columns="c")
    with pytest.raises(DataValidationError, match="prevalence needs a label"):
        _dataset(frame=frame, label=None, prevalence=0.1)


def test_unlabelled_dataset_has_no_y():
    ds = _dataset(frame=_dataset().frame.drop(columns="c"), label=None)
    assert ds.y is None
    summary = ds.summary()
    assert summary["anomalies"] is None and summary["anomaly_share"] is None


def test_dataset_is_frozen():
    ds = _dataset()
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.name = "other"  # type: ignore[misc]


def test_unknown_label_or_time_column_is_refused():
    with pytest.raises(DataValidationError, match=r"label column 'nope' not in frame"):
        _dataset(label="nope")
    with pytest.raises(DataValidationError, match=r"time column 'nope' not in frame"):
        _dataset(time="nope")


def test_non_numeric_frame_is_refused():
    frame = pd.DataFrame({"x": ["a", "b"]})
    with pytest.raises(DataValidationError, match=r"column 'x' has dtype object"):
        Dataset(name="bad", frame=frame)


def test_fingerprint_is_stable_and_content_sensitive():
    a, b = _dataset(), _dataset(name="other name", source="elsewhere")
    assert a.fingerprint() == b.fingerprint()
    assert len(a.fingerprint()) == 64 and int(a.fingerprint(), 16) >= 0

    changed = a.frame.copy()
    changed.loc[3, "x"] = np.nextafter(6.0, 7.0)  # one ulp
    assert _dataset(frame=changed).fingerprint() != a.fingerprint()

    renamed = a.frame.rename(columns={"x": "y"})
    assert _dataset(frame=renamed).fingerprint() != a.fingerprint()


def test_fingerprint_ignores_the_index():
    ds = _dataset()
    shifted = ds.frame.set_axis(pd.RangeIndex(10, 14))
    assert _dataset(frame=shifted).fingerprint() == ds.fingerprint()


def test_fingerprint_is_a_known_value():
    # Pins the algorithm: a change would silently orphan fingerprints stored in model files.
    frame = pd.DataFrame({"x": np.array([1.0]), "c": np.array([1], dtype=np.int8)})
    ds = Dataset("one", frame, label="c")
    assert ds.fingerprint() == "6c0e8887b504c38a8060116268c13e6ad1bb4cc65c804c6931b86615d5bee379"


def test_summary_counts_and_stats():
    summary = _dataset().summary()
    assert summary["rows"] == 4
    assert summary["features"] == 2
    assert summary["anomalies"] == 1
    assert summary["anomaly_share"] == pytest.approx(0.25)
    x = summary["columns"]["x"]
    assert x["mean"] == pytest.approx(3.0)
    assert x["std"] == pytest.approx(np.std([1, 2, 3, 6], ddof=1))
    assert (x["min"], x["max"]) == (1.0, 6.0)
    assert set(summary["columns"]) == {"t", "x"}  # the label is not a feature


def test_summary_of_a_single_row_has_nan_std():
    ds = Dataset("one", pd.DataFrame({"x": [2.0]}))
    assert math.isnan(ds.summary()["columns"]["x"]["std"])
