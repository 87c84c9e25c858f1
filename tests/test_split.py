import numpy as np
import pytest

from aescope.errors import ConfigError, DataValidationError
from aescope.split import natural_prevalence, novelty_split, temporal_split


def _labels(n_normal: int = 1000, n_anomaly: int = 20, seed: int = 0) -> np.ndarray:
    y = np.r_[np.zeros(n_normal, np.int8), np.ones(n_anomaly, np.int8)]
    return np.random.default_rng(seed).permutation(y)


def test_novelty_split_trains_on_normals_and_tests_every_anomaly():
    y = _labels()
    split = novelty_split(y, train_share=0.8, val_share=0.1, seed=3)
    assert (y[split.train] == 0).all() and (y[split.val] == 0).all()
    assert set(np.flatnonzero(y == 1)) <= set(split.test)
    parts = np.concatenate([split.train, split.val, split.test])
    assert np.array_equal(np.sort(parts), np.arange(y.size))  # disjoint and complete
    assert split.train.size == 800 and split.val.size == 100


def test_novelty_split_is_seeded():
    y = _labels()
    a, b, c = (novelty_split(y, seed=s) for s in (1, 1, 2))
    assert np.array_equal(a.train, b.train)
    assert not np.array_equal(a.train, c.train)


def test_describe_records_recipe_and_counts():
    y = _labels()
    record = novelty_split(y, seed=5).describe(y)
    assert record["kind"] == "novelty" and record["seed"] == 5
    assert record["test_anomalies"] == 20 and record["train_anomalies"] == 0


def test_credit_card_sized_split_gives_the_benchmark_training_size():
    y = np.r_[np.zeros(284_315, np.int8), np.ones(492, np.int8)]
    assert novelty_split(y).train.size == 227_452


@pytest.mark.parametrize(("train", "val"), [(0.0, 0.1), (0.9, 0.1), (1.2, 0.0), (0.5, -0.1)])
def test_bad_shares_are_refused(train, val):
    with pytest.raises(DataValidationError, match="train_share"):
        novelty_split(_labels(), train_share=train, val_share=val)


def test_labels_other_than_0_1_name_the_row():
    y = np.zeros(10)
    y[7] = 2
    with pytest.raises(DataValidationError, match="row 7"):
        novelty_split(y)


def test_temporal_split_trains_on_the_past():
    rng = np.random.default_rng(0)
    time = rng.uniform(0, 100, 2000)
    y = (rng.random(2000) < 0.02).astype(np.int8)
    split = temporal_split(time, y, train_share=0.6, val_share=0.2)
    assert time[split.train].max() <= time[split.val].min()
    assert time[split.val].max() <= time[split.test].min()
    assert (y[split.train] == 0).all() and (y[split.val] == 0).all()
    assert split.params["train_until"] == pytest.approx(time[split.train].max())


def test_natural_prevalence_matches_overall_share():
    y = _labels(n_normal=10_000, n_anomaly=100)
    split = novelty_split(y)
    test = natural_prevalence(split, y, seed=0)
    assert set(test) <= set(split.test)
    assert y[test].mean() == pytest.approx(y.mean(), rel=0.1)
    assert (y[split.test] == 1).sum() > (y[test] == 1).sum()


def test_natural_prevalence_can_follow_a_population_share():
    # A sample that kept every anomaly: 2 % here, 0.5 % in the population.
    y = _labels(n_normal=10_000, n_anomaly=200)
    split = novelty_split(y)
    test = natural_prevalence(split, y, seed=0, prevalence=0.005)
    normals = (y[test] == 0).sum()
    assert (y[test] == 1).sum() == round(0.005 / 0.995 * normals)
    assert (y[test] == 0).sum() == (y[split.test] == 0).sum()  # every test normal is kept


@pytest.mark.parametrize("bad", [0.0, 1.0, 2.0])
def test_natural_prevalence_refuses_a_share_outside_0_1(bad):
    y = _labels(n_normal=1000, n_anomaly=10)
    with pytest.raises(ConfigError, match="prevalence must be between 0 and 1"):
        natural_prevalence(novelty_split(y), y, prevalence=bad)
