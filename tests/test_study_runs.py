"""Run records and the resumable cache: keys, skipping finished runs, damaged entries."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from _study_helpers import tiny_dataset

from aescope.engine import TrainConfig
from aescope.model import Architecture, Layer
from aescope.study import runs
from aescope.study.runs import RunCache, RunPoint, prepare_data, run_key, run_point


def tiny_point(name: str = "tiny", epochs: int = 1) -> RunPoint:
    arch = Architecture.from_hidden(29, (Layer(8), Layer(3, latent=True), Layer(8)), name=name)
    return RunPoint("test", "tiny", 1, arch, TrainConfig(epochs=epochs, batch_size=256))


@pytest.fixture
def train_calls(monkeypatch):
    """Seeds passed to each ``train`` call the study makes."""
    calls: list[list[int]] = []
    real = runs.train

    def counting(arch, x_train, x_val, config, seeds, on_epoch=None, replica_groups=None):
        calls.append(list(seeds))
        return real(arch, x_train, x_val, config, seeds, on_epoch, replica_groups)

    monkeypatch.setattr(runs, "train", counting)
    return calls


def test_prepared_data_follows_the_study_protocol(small_data):
    assert small_data.x_train.shape[1] == 29  # Time dropped
    assert small_data.y_test.sum() == 60  # every fraud is in the test set
    assert abs(small_data.x_train.mean()) < 1e-3  # scaler fitted on the training rows
    assert small_data.split_record["seed"] == 0


def test_key_covers_seed_config_and_data_but_not_the_display_name(small_data):
    point = tiny_point()
    base = run_key(point, small_data, 0)
    assert run_key(tiny_point(name="renamed"), small_data, 0) == base
    assert run_key(point, small_data, 1) != base
    assert run_key(tiny_point(epochs=2), small_data, 0) != base
    other = runs.StudyData(**{**small_data.__dict__, "fingerprint": "0" * 64})
    assert run_key(point, other, 0) != base
    thinner = runs.StudyData(**{**small_data.__dict__, "prevalence": 0.001})
    assert run_key(point, thinner, 0) != base  # natural-prevalence metrics differ


def test_natural_view_follows_the_population_prevalence():
    small = tiny_dataset()
    own = prepare_data(small, split_seed=0)
    thinned = prepare_data(dataclasses.replace(small, prevalence=0.002), split_seed=0)
    assert own.prevalence == pytest.approx(60 / 2060)
    assert thinned.describe()["natural_prevalence"] == 0.002
    normals = int((thinned.y_test[thinned.natural_rows] == 0).sum())
    assert thinned.describe()["natural_prevalence_anomalies"] == max(
        1, round(0.002 / 0.998 * normals)
    )
    assert own.describe()["natural_prevalence_anomalies"] > 1


# Every test trains two replicas at a time: equal shapes reuse one compilation.


def test_resume_skips_finished_runs(small_data, tmp_path, train_calls):
    cache = RunCache(tmp_path)
    first = run_point(tiny_point(), [0, 1], small_data, cache, n_bootstrap=0)
    assert train_calls == [[0, 1]]  # both seeds as replicas of one call
    again = run_point(tiny_point(), [0, 1], small_data, cache, n_bootstrap=0)
    assert train_calls == [[0, 1]]  # nothing retrained
    assert [r["cached"] for r in again] == [True, True]
    assert [r["val_loss"] for r in again] == [r["val_loss"] for r in first]
    run_point(tiny_point(), [0, 1, 2, 3], small_data, cache, n_bootstrap=0)
    assert train_calls == [[0, 1], [2, 3]]  # only the new seeds


def test_record_holds_every_measured_number(small_data, tmp_path):
    rec = run_point(tiny_point(), [0, 1], small_data, RunCache(tmp_path), n_bootstrap=0)[0]
    for key in ("train_loss", "val_loss", "test_loss", "threshold", "history", "config"):
        assert key in rec
    y = small_data.y_test
    n_fraud = int(y.sum())
    mixed = rec["test_loss_normal"] * (len(y) - n_fraud) + rec["test_loss_anomaly"] * n_fraud
    assert rec["test_loss"] == pytest.approx(mixed / len(y))  # the two classes, apart
    assert 0 <= rec["accuracy_train"] <= 1 and 0 <= rec["accuracy_test"] <= 1
    assert rec["explained"] < 1 and -1 <= rec["rank_corr_no_model"] <= 1
    for versus in ("vs_no_model", "vs_pca"):
        d = rec[versus]
        assert d["auprc_delta_ci_low"] is None or d["auprc_delta_ci_low"] <= d["auprc_delta"]
    assert rec["vs_pca"]["components"] == 3  # the tiny network's bottleneck
    assert 0 <= rec["detection"]["auroc"] <= 1 and 0 <= rec["natural"]["auprc"] <= 1
    assert rec["natural"]["n"] < rec["detection"]["n"]
    latent = rec["latent"]
    assert latent["latent_units"] == 3
    for key in ("probe_auroc", "fisher_ratio", "mahalanobis", "silhouette", "dead_share"):
        assert np.isfinite(latent[key])


def test_damaged_entries_are_recomputed(small_data, tmp_path, train_calls):
    cache = RunCache(tmp_path)
    run_point(tiny_point(), [0, 1], small_data, cache, n_bootstrap=0)
    run_point(tiny_point(), [2, 3], small_data, cache, n_bootstrap=0)
    keys = [run_key(tiny_point(), small_data, s) for s in (0, 1, 2, 3)]
    record0, weights1 = cache.paths(keys[0])[0], cache.paths(keys[1])[1]
    record0.write_text(record0.read_text()[:50])  # truncated JSON
    data = bytearray(weights1.read_bytes())
    data[-3] ^= 0xFF  # flipped bits in the weights
    weights1.write_bytes(bytes(data))
    assert cache.load(keys[0]) is None and cache.load(keys[1]) is None
    assert cache.load(keys[2]) is not None
    run_point(tiny_point(), [0, 1, 2, 3], small_data, cache, n_bootstrap=0)
    assert train_calls[-1] == [0, 1]


def test_an_interrupted_run_leaves_no_entry(small_data, tmp_path, monkeypatch):
    cache = RunCache(tmp_path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(json, "dump", interrupted)  # dies while writing the record
    with pytest.raises(KeyboardInterrupt):
        run_point(tiny_point(), [0, 1], small_data, cache, n_bootstrap=0)
    monkeypatch.undo()
    key = run_key(tiny_point(), small_data, 0)
    assert not cache.paths(key)[0].exists()  # no record, so no entry
    assert not [p for p in tmp_path.iterdir() if "tmp" in p.name]  # no temp files left
    assert cache.load(key) is None


def test_protocol_data_holds_out_the_last_rows_in_file_order(small_data):
    own = runs.protocol_data(small_data, 0.2)
    n = len(small_data.x_train) + len(small_data.x_val)
    assert len(own.x_train) + len(own.x_val) == n
    assert len(own.x_val) == n - int(n * 0.8)
    rows = np.sort(np.concatenate([small_data.split.train, small_data.split.val]))
    last = rows[-1]  # the file's last normal row outside the test set validates
    where = "train" if last in small_data.split.train else "val"
    part = small_data.x_train if where == "train" else small_data.x_val
    row = part[np.searchsorted(getattr(small_data.split, where), last)]
    assert np.array_equal(own.x_val[-1], row)
    assert own.x_test is small_data.x_test and "protocol" in own.split_record
    assert run_key(tiny_point(), own, 0) != run_key(tiny_point(), small_data, 0)


def test_replica_groups_never_pad():
    assert runs.padding_free_groups(3, cores=2) == 3  # not 2 + 2 with a padding replica
    assert runs.padding_free_groups(4, cores=2) == 2
    assert runs.padding_free_groups(5, cores=2) == 5
    assert runs.padding_free_groups(6, cores=4) == 6
    assert runs.padding_free_groups(1, cores=2) == 1
    assert runs.padding_free_groups(8, cores=16) == 8
