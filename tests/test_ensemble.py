"""The ensemble scorer: calibration, determinism, files, and what the neighbour term adds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aescope import modelfile
from aescope.detector import AutoencoderDetector
from aescope.engine import reconstruct
from aescope.ensemble import Calibration, error_spread
from aescope.errors import ConfigError, ModelFileError
from aescope.metrics import roc_auc
from aescope.model import Architecture, Layer
from aescope.modelfile import inspect_model_file, load_model_file, save_model_file
from aescope.neighbors import mean_distance

D = 6


def _arch() -> Architecture:
    layers = (Layer(8, "tanh"), Layer(2, "linear", latent=True), Layer(8, "tanh"))
    return Architecture.from_hidden(D, layers, name="tiny")


def _rows(n: int, seed: int, centers=(-3.0, 3.0)) -> pd.DataFrame:
    """Two clusters on a 2-D plane in 6-D: normal rows, or (centre 0) rows between them."""
    rng = np.random.default_rng(seed)
    t = rng.choice(np.asarray(centers), size=n) + rng.normal(0, 0.5, n)
    z = np.c_[t, rng.normal(0, 1.0, n)]
    mixing = np.random.default_rng(42).normal(size=(2, D))
    x = z @ mixing + 0.02 * rng.normal(size=(n, D))
    return pd.DataFrame(x, columns=[f"f{i}" for i in range(D)])


def _detector(**options) -> AutoencoderDetector:
    base = {"epochs": 15, "batch_size": 64, "patience": None, "reference_rows": 256}
    return AutoencoderDetector(_arch(), **(base | options))


@pytest.fixture(scope="module")
def ensemble() -> AutoencoderDetector:
    return _detector(n_models=3, neighbors=5).fit(_rows(1200, seed=0))


def test_calibration_is_a_z_score_on_the_values_it_was_fitted_on():
    values = np.random.default_rng(0).lognormal(size=700)
    cal = Calibration.fit(values)
    z = cal(values)
    assert abs(z.mean()) < 1e-9 and abs(z.std() - 1) < 1e-9
    assert Calibration.from_list(cal.to_list()) == cal
    assert np.all(np.diff(cal(np.linspace(0, 10, 50))) > 0)  # order kept: ranks unchanged
    assert Calibration.fit(np.ones(5)).spread == 1.0  # constant values: no division by 0
    assert Calibration.fit(np.ones(1)).spread == 1.0


def test_fixed_seed_gives_identical_scores_and_another_seed_does_not(ensemble):
    rows = _rows(200, seed=3)
    again = _detector(n_models=3, neighbors=5).fit(_rows(1200, seed=0))
    np.testing.assert_array_equal(again.score_samples(rows), ensemble.score_samples(rows))
    other = _detector(n_models=3, neighbors=5, random_state=1).fit(_rows(1200, seed=0))
    assert not np.allclose(other.score_samples(rows), ensemble.score_samples(rows))


def test_replicas_are_distinct_networks(ensemble):
    assert len(ensemble.replicas_) == 3 and len(ensemble.histories_) == 3
    kernels = [r[0]["kernel"] for r in ensemble.replicas_]
    assert not np.allclose(kernels[0], kernels[1])
    assert ensemble.scorer_.reference.shape == (256, D)


@pytest.mark.parametrize("neighbors", [5, 0])
def test_save_load_round_trip(neighbors, ensemble, tmp_path):
    model = ensemble if neighbors else _detector(n_models=2, neighbors=0).fit(_rows(600, seed=0))
    model.save(tmp_path / "m.aescope")
    loaded = AutoencoderDetector.load(tmp_path / "m.aescope")
    rows = _rows(100, seed=4)
    np.testing.assert_array_equal(loaded.score_samples(rows), model.score_samples(rows))
    pd.testing.assert_frame_equal(loaded.feature_errors(rows), model.feature_errors(rows))
    assert loaded.get_params() == model.get_params() | {"architecture": loaded.architecture}
    assert len(loaded.replicas_) == len(model.replicas_)
    if neighbors:
        np.testing.assert_array_equal(loaded.scorer_.reference, model.scorer_.reference)
    else:
        assert loaded.scorer_.reference is None


def test_feature_errors_are_in_units_of_each_features_validation_error(ensemble):
    """Per feature, the mean over validation-like rows is about 1, whatever the feature's
    raw error level: that is what makes features comparable in an explanation."""
    errors = ensemble.feature_errors(_rows(3000, seed=9)).mean(axis=0)
    assert np.all((errors > 0.7) & (errors < 1.4)), errors


def test_one_model_without_neighbours_orders_rows_by_scaled_reconstruction_error():
    single = _detector(n_models=1, neighbors=0).fit(_rows(600, seed=0))
    rows = _rows(300, seed=5)
    x = single.preprocessor_.transform(rows)
    squared = (reconstruct(single.architecture_, single.params_, x) - x) ** 2
    plain = (squared / single.scorer_.feature_scales[0]).mean(axis=1)
    scores = single.score_samples(rows)
    np.testing.assert_array_equal(
        np.argsort(scores, kind="stable"), np.argsort(plain, kind="stable")
    )
    assert single.scorer_.reference is None


def test_a_file_from_before_ensembles_scores_by_its_plain_error(tmp_path):
    single = _detector(n_models=1, neighbors=0).fit(_rows(600, seed=0))
    single.save(tmp_path / "new")
    meta, arrays = load_model_file(tmp_path / "new")
    del meta["scorer"], arrays["feature_scales"]
    for name in list(arrays):
        if name.startswith("layer"):
            arrays[name] = arrays[name][0]  # the one-model layout: no replica axis
    del meta["params"]["n_models"], meta["params"]["neighbors"]
    save_model_file(tmp_path / "old", meta, arrays)
    old = AutoencoderDetector.load(tmp_path / "old")
    rows = _rows(50, seed=6)
    x = old.preprocessor_.transform(rows)
    plain = ((reconstruct(old.architecture_, old.params_, x) - x) ** 2).mean(axis=1)
    np.testing.assert_allclose(old.score_samples(rows), plain, rtol=1e-6)
    assert old.get_params()["n_models"] == 1 and old.get_params()["neighbors"] == 0


def test_neighbour_term_sees_anomalies_inside_the_normal_manifold(ensemble):
    """Rows between the two clusters lie on the plane (easy to reconstruct) but far from
    every normal row: the neighbour term must rank them above fresh normals."""
    normal, between = _rows(300, seed=7), _rows(30, seed=8, centers=(0.0,))
    y = np.r_[np.zeros(300), np.ones(30)]
    rows = pd.concat([normal, between], ignore_index=True)
    parts = ensemble.scorer_.parts(ensemble.preprocessor_.transform(rows))
    assert roc_auc(y, parts.neighbors) > 0.95
    assert roc_auc(y, parts.score) > roc_auc(y, parts.reconstruction)


def test_neighbour_distances_are_measured_in_units_of_each_features_error(ensemble):
    """Each feature is divided by the replicas' typical error on it (the root of the mean
    squared error on validation normals) before the search, reference and queries alike."""
    scorer = ensemble.scorer_
    spread = np.sqrt(scorer.feature_scales.mean(axis=0))
    np.testing.assert_allclose(scorer.neighbor_scale, spread, rtol=1e-6)
    assert scorer.neighbor_scale.dtype == np.float32 and scorer.neighbor_scale.std() > 0
    x = ensemble.preprocessor_.transform(_rows(64, seed=9))
    s = scorer.neighbor_scale
    np.testing.assert_array_equal(
        scorer._distances(x), mean_distance(scorer.reference / s, x.astype(np.float32) / s, 5)
    )
    assert not np.allclose(scorer._distances(x), mean_distance(scorer.reference, x, 5))
    absolute = np.array([[1.0, 4.0], [3.0, 2.0]])  # MAE scales are spreads already
    np.testing.assert_array_equal(error_spread(absolute, "mae"), [2.0, 3.0])


def test_a_file_from_before_error_units_searches_the_inputs_as_they_are(
    ensemble, tmp_path, monkeypatch
):
    """Such files are format version 1: still read; a version-1 reader refuses new files,
    which it would otherwise score without their scale (no error, different scores)."""
    ensemble.save(tmp_path / "new.aescope")
    assert inspect_model_file(tmp_path / "new.aescope")["format_version"] == 2
    meta, arrays = load_model_file(tmp_path / "new.aescope")
    assert arrays["neighbor_scale"].shape == (D,)
    del arrays["neighbor_scale"]
    monkeypatch.setattr(modelfile, "FORMAT_VERSION", 1)
    save_model_file(tmp_path / "old.aescope", meta, arrays)
    monkeypatch.undo()
    with pytest.raises(ModelFileError, match="version 2, but this aescope reads version 1"):
        load_model_file(tmp_path / "new.aescope", expected_format=1)
    old = AutoencoderDetector.load(tmp_path / "old.aescope")
    assert old.scorer_.neighbor_scale is None
    x = old.preprocessor_.transform(_rows(64, seed=9))
    np.testing.assert_array_equal(
        old.scorer_._distances(x), mean_distance(old.scorer_.reference, x, 5)
    )


@pytest.mark.parametrize(
    "bad",
    [np.ones(D - 1, np.float32), np.zeros(D, np.float32), np.full(D, 1e-50), np.full(D, 1e300)],
)
def test_a_malformed_neighbour_scale_in_a_file_is_refused(bad, ensemble, tmp_path):
    ensemble.save(tmp_path / "m.aescope")
    meta, arrays = load_model_file(tmp_path / "m.aescope")
    save_model_file(tmp_path / "bad.aescope", meta, arrays | {"neighbor_scale": bad})
    with pytest.raises(ModelFileError, match="must hold 6 positive finite float32"):
        AutoencoderDetector.load(tmp_path / "bad.aescope")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_models": 0}, "n_models must be an integer >= 1"),
        ({"neighbors": -1}, "neighbors must be an integer >= 0"),
        ({"reference_rows": 0}, "reference_rows must be an integer >= 1"),
        ({"neighbor_weight": -1.0}, "neighbor_weight must be a number >= 0"),
        ({"input_noise": -0.1}, "input_noise must be a number >= 0"),
        ({"input_noise": float("nan")}, "input_noise must be a number >= 0"),
        ({"input_noise": "0.1"}, "input_noise must be a number >= 0"),
    ],
)
def test_bad_ensemble_options_are_refused(options, message):
    with pytest.raises(ConfigError, match=message):
        _detector(**options).fit(_rows(100, seed=0))


def test_a_denoising_ensemble_is_seeded_and_keeps_its_setting_in_the_file(tmp_path):
    rows, fresh = _rows(600, seed=0), _rows(100, seed=5)
    noisy = _detector(n_models=2, neighbors=3, input_noise=0.2).fit(rows)
    assert noisy.config_.input_noise == 0.2
    again = _detector(n_models=2, neighbors=3, input_noise=0.2).fit(rows)
    np.testing.assert_array_equal(noisy.score_samples(fresh), again.score_samples(fresh))
    plain = _detector(n_models=2, neighbors=3).fit(rows)
    assert not np.array_equal(noisy.score_samples(fresh), plain.score_samples(fresh))
    noisy.save(tmp_path / "noisy.aescope")
    loaded = AutoencoderDetector.load(tmp_path / "noisy.aescope")
    assert loaded.get_params()["input_noise"] == 0.2 and loaded.config_.input_noise == 0.2
    np.testing.assert_array_equal(loaded.score_samples(fresh), noisy.score_samples(fresh))


def test_a_file_from_before_denoising_loads_as_trained_without_noise(ensemble, tmp_path):
    path = tmp_path / "old.aescope"
    ensemble.save(path)
    meta, arrays = load_model_file(path)
    del meta["params"]["input_noise"], meta["train_config"]["input_noise"]
    save_model_file(tmp_path / "older.aescope", meta, arrays)
    old = AutoencoderDetector.load(tmp_path / "older.aescope")
    assert old.get_params()["input_noise"] == 0.0 and old.config_.input_noise == 0.0
