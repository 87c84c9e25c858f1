"""Baselines: the no-model score, the linear autoencoder, the bench's classic detectors."""

from __future__ import annotations

import numpy as np
import pytest

from aescope.model import get_preset
from aescope.study.baselines import bench_specs, best_bench, compute_baselines
from aescope.study.linear import LinearAE, narrowest, no_model_score, pca_size
from aescope.study.runs import accuracy


def test_no_model_score_is_the_error_of_reconstructing_the_mean():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4))
    assert np.allclose(no_model_score(x), np.mean((np.zeros_like(x) - x) ** 2, axis=1))


def test_linear_ae_is_pca():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6))
    ours = LinearAE(x).reconstruct(x, 3)
    theirs = PCA(3).fit(x)
    assert np.allclose(ours, theirs.inverse_transform(theirs.transform(x)))
    assert LinearAE(x).errors(x, 6) == pytest.approx(np.zeros(400), abs=1e-18)


def test_pca_size_is_the_bottleneck_below_the_feature_count():
    assert narrowest(get_preset("seed-bad-latent")) == 24  # 32-24-[32]-24-32
    assert pca_size(get_preset("seed-table1", latent=4), 29) == 4
    assert pca_size(get_preset("seed-table1", latent=32), 29) == 28  # 29 would be exact


def test_accuracy_is_the_share_of_matching_argmax():
    x = np.array([[3.0, 1.0, 0.0], [0.0, 2.0, 1.0]])
    assert accuracy(x, x) == 1.0
    assert accuracy(np.zeros_like(x), x) == 0.5  # argmax of zeros is the first feature


def test_bench_detectors_exclude_what_the_study_computes_itself():
    names = [s.name for s in bench_specs()]
    assert "pca" not in names and "lof" in names
    assert all(s.family == "classic" for s in bench_specs())


def test_baselines_on_the_study_split(small_data):
    out = compute_baselines(small_data, [2, 4], detectors=["lof"], n_bootstrap=20)
    assert set(out) == {"no_model", "pca_2", "pca_4", "lof"}
    none = out["no_model"]
    assert none["train_loss"] == pytest.approx(1.0, abs=1e-6)  # standardised on these rows
    assert out["pca_4"]["val_loss"] < out["pca_2"]["val_loss"] < none["val_loss"]
    for b in out.values():
        assert 0.5 < b["detection"]["auroc"] <= 1
    assert out["lof"]["train_rows"] == len(small_data.x_train)  # under the 10,000-row cap
    assert best_bench(out) == "lof"
    assert 0.5 <= none["latent"]["probe_auroc"] <= 1  # the input itself, as a latent space
