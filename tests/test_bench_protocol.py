"""The benchmark protocol: no anomaly in training, no test row in scaling, one split for all."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from aescope.bench.detectors import DetectorSpec
from aescope.bench.protocol import prepare, preprocess_spec, subsample
from aescope.bench.runner import run_benchmark, run_one
from aescope.bench.sources import Source
from aescope.data import Dataset, validate_frame
from aescope.preprocess import STUDY_PREPROCESSING


def _dataset(n_normal: int = 400, n_anomaly: int = 40, d: int = 5, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    x = np.vstack(
        [rng.normal(0, 1, (n_normal, d)), rng.normal(5, 1, (n_anomaly, d))]
    )  # anomalies far away: any leak into training shows in the scaler's mean
    y = np.r_[np.zeros(n_normal), np.ones(n_anomaly)].astype(np.int8)
    order = rng.permutation(len(y))  # interleave classes so positions carry no label
    frame = pd.DataFrame(x[order], columns=[f"x{i}" for i in range(d)])
    frame["y"] = y[order]
    return Dataset("synthetic", validate_frame(frame, label="y"), "y", None, "test")


def test_training_and_validation_rows_are_normal_and_test_holds_every_anomaly():
    data = _dataset()
    for seed in range(3):
        prep = prepare(data, seed)
        assert (data.y[prep.split.train] == 0).all()
        assert (data.y[prep.split.val] == 0).all()
        assert prep.y_test.sum() == data.y.sum()  # every anomaly is tested
        parts = [prep.split.train, prep.split.val, prep.split.test]
        assert sum(len(p) for p in parts) == len(data.y)
        assert len(np.unique(np.concatenate(parts))) == len(data.y)  # disjoint


def test_scaler_statistics_come_from_the_training_rows_only():
    data = _dataset()
    prep = prepare(data, seed=1)
    train = data.X.iloc[prep.split.train].to_numpy()
    np.testing.assert_allclose(prep.preprocessor.center, train.mean(axis=0))
    np.testing.assert_allclose(prep.preprocessor.scale, train.std(axis=0))

    # Perturb every test and validation row wildly: the scaler and x_train must not move.
    frame = data.frame.copy()
    held_out = np.concatenate([prep.split.test, prep.split.val])
    frame.iloc[held_out, :-1] = frame.iloc[held_out, :-1] * 1000 + 77
    perturbed = Dataset("synthetic", frame, "y", None, "test")
    again = prepare(perturbed, seed=1)
    np.testing.assert_array_equal(again.preprocessor.center, prep.preprocessor.center)
    np.testing.assert_array_equal(again.preprocessor.scale, prep.preprocessor.scale)
    np.testing.assert_array_equal(again.x_train, prep.x_train)
    assert not np.allclose(again.x_test, prep.x_test)  # the perturbation did reach the test rows


def _spy(cls, name, seed):
    return cls(name)


def test_same_seed_same_rows_for_every_detector():
    seen: dict[str, list[np.ndarray]] = {}

    class Spy:
        def __init__(self, name: str) -> None:
            self.name = name

        def fit(self, x_train, x_val):
            seen.setdefault(self.name, []).extend([x_train.copy(), x_val.copy()])

        def score(self, x):
            seen[self.name].append(x.copy())
            return x[:, 0].astype(np.float64)

    specs = [DetectorSpec(n, n, functools.partial(_spy, Spy, n), "test") for n in ("a", "b")]
    data = _dataset()
    records = run_benchmark([Source("synthetic", "test", lambda: data)], specs, seeds=[3])
    assert [r["detector"] for r in records] == ["a", "b"]
    for first, second in zip(seen["a"], seen["b"], strict=True):
        np.testing.assert_array_equal(first, second)
    prep = prepare(data, seed=3)
    np.testing.assert_array_equal(seen["a"][0], prep.x_train)
    np.testing.assert_array_equal(seen["a"][2], prep.x_test)


def test_detector_row_cap_is_a_seeded_subsample_of_the_training_rows():
    got = {}

    class Spy:
        def fit(self, x_train, x_val):
            got["x"] = x_train

        def score(self, x):
            return x[:, 0].astype(np.float64)

    spec = DetectorSpec("spy", "spy", lambda seed: Spy(), "test", max_train_rows=25)
    prep = prepare(_dataset(), seed=0)
    record = run_one(spec, prep)
    assert record["n_train"] == 25 and got["x"].shape == (25, prep.x_train.shape[1])
    train_rows = {row.tobytes() for row in prep.x_train}
    assert all(row.tobytes() in train_rows for row in got["x"])
    first = got["x"]
    run_one(spec, prep)
    np.testing.assert_array_equal(first, got["x"])  # same seed, same subsample


def test_subsample_is_reproducible_and_capped():
    rows = np.arange(100, 200)
    a, b = subsample(rows, 10, seed=4), subsample(rows, 10, seed=4)
    np.testing.assert_array_equal(a, b)
    assert len(a) == 10 and set(a) <= set(rows) and (np.diff(a) > 0).all()
    assert not np.array_equal(a, subsample(rows, 10, seed=5))
    assert subsample(rows, None, 0) is rows and subsample(rows, 500, 0) is rows


def test_protocol_cap_applies_before_scaling():
    data = _dataset()
    prep = prepare(data, seed=0, max_train_rows=50)
    assert prep.x_train.shape[0] == 50
    rows = subsample(prep.split.train, 50, 0)
    np.testing.assert_allclose(prep.preprocessor.center, data.X.iloc[rows].mean().to_numpy())


def test_credit_card_drops_time_like_the_study():
    frame = pd.DataFrame({"Time": [0.0, 1.0, 2.0], "V1": [1.0, 2.0, 3.0], "Class": [0, 0, 1]})
    data = Dataset("creditcard", validate_frame(frame, label="Class"), "Class", "Time", "t")
    assert preprocess_spec(data) == STUDY_PREPROCESSING
    assert preprocess_spec(_dataset()).drop == ()


def test_unlabelled_data_is_refused():
    data = _dataset()
    unlabelled = Dataset("u", data.frame.drop(columns="y"), None, None, "t")
    with pytest.raises(Exception, match="label"):
        prepare(unlabelled, 0)
