"""The detector's estimator contract, thresholds, explanations and model files."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from aescope.detector import AutoencoderDetector
from aescope.engine import reconstruct
from aescope.errors import (
    ConfigError,
    DataValidationError,
    LabelLikeColumnWarning,
    ModelFileError,
)
from aescope.model import Architecture, Layer
from aescope.preprocess import PreprocessSpec

N_FEATURES = 10


def _tiny_arch(n_features: int = N_FEATURES) -> Architecture:
    return Architecture(
        n_features,
        (
            Layer(8, "tanh"),
            Layer(3, "linear", latent=True),
            Layer(8, "tanh"),
            Layer(n_features, "linear"),
        ),
        name="tiny",
    )


def _normal_rows(n: int, seed: int = 0) -> pd.DataFrame:
    """Rows on a 2-D linear manifold in 6-D plus small noise: easy for a 3-unit latent."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    mixing = np.random.default_rng(99).normal(size=(2, N_FEATURES))
    x = z @ mixing + 0.05 * rng.normal(size=(n, N_FEATURES))
    return pd.DataFrame(x, columns=[f"f{i}" for i in range(N_FEATURES)])


def _anomalies(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        rng.normal(0, 3, size=(n, N_FEATURES)), columns=[f"f{i}" for i in range(N_FEATURES)]
    )


@pytest.fixture(scope="module")
def fitted() -> AutoencoderDetector:
    return AutoencoderDetector(_tiny_arch(), epochs=30, batch_size=64, patience=None).fit(
        _normal_rows(2000)
    )


def test_init_only_stores_parameters_and_clone_works():
    detector = AutoencoderDetector("seed-best", epochs=3, threshold="quantile:0.99")
    assert detector.get_params()["epochs"] == 3
    copy = clone(detector.set_params(epochs=5))
    assert copy.get_params()["epochs"] == 5 and copy is not detector
    assert not any(name.endswith("_") and not name.startswith("_") for name in vars(detector))


def test_not_fitted_error():
    with pytest.raises(NotFittedError):
        AutoencoderDetector().score_samples(np.zeros((2, 29)))


def test_fitted_attributes_and_separation(fitted):
    assert fitted.n_features_in_ == N_FEATURES
    assert list(fitted.feature_names_in_) == [f"f{i}" for i in range(N_FEATURES)]
    assert fitted.decision_scores_.shape == (1800,)  # 10 % held out for validation
    assert set(np.unique(fitted.labels_)) <= {0, 1}
    normal, odd = (
        fitted.score_samples(_normal_rows(500, seed=5)),
        fitted.score_samples(_anomalies(50)),
    )
    assert np.median(odd) > 10 * np.median(normal)
    assert fitted.predict(_anomalies(50)).mean() > 0.9
    # default policy: 1 % false positives on validation normals, so about 1 % on fresh normals
    assert fitted.predict(_normal_rows(2000, seed=6)).mean() < 0.05
    np.testing.assert_array_equal(
        fitted.decision_function(_anomalies(5)), fitted.score_samples(_anomalies(5))
    )


def test_history_is_recorded(fitted):
    assert len(fitted.history_["train_loss"]) == 30
    assert fitted.history_["val_loss"][-1] < fitted.history_["val_loss"][0]


def test_accepts_numpy_and_arrow_and_refuses_other_columns(fitted):
    frame = _normal_rows(20, seed=7)
    expected = fitted.score_samples(frame)
    np.testing.assert_allclose(fitted.score_samples(frame.to_numpy()), expected)
    np.testing.assert_allclose(fitted.score_samples(pa.Table.from_pandas(frame)), expected)
    np.testing.assert_allclose(fitted.score_samples(frame[frame.columns[::-1]]), expected)
    with pytest.raises(DataValidationError, match=r"missing columns \['f2'\].*unexpected.*'g2'"):
        fitted.score_samples(frame.rename(columns={"f2": "g2"}))
    with pytest.raises(DataValidationError, match="5 columns"):
        fitted.score_samples(frame.to_numpy()[:, :5])
    bad = frame.copy()
    bad.iloc[3, 1] = np.nan
    with pytest.raises(DataValidationError, match="f1"):
        fitted.score_samples(bad)


def test_explanations_point_at_the_broken_feature(fitted):
    clean = _normal_rows(200, seed=8)
    rows = clean.assign(f4=clean["f4"] + 8.0)
    top = fitted.top_features(rows, k=2)
    # A shift projects partly onto the learnt manifold, so other features share the
    # error; still the shifted feature must lead far more often than any other.
    leaders = top["feature_1"].value_counts(normalize=True)
    assert leaders.index[0] == "f4" and leaders["f4"] > 0.5
    before = fitted.top_features(clean, k=2)
    assert (before["feature_1"] == "f4").mean() < 0.5 * leaders["f4"]
    assert ((top["share_1"] > 0) & (top["share_1"] <= 1)).all()
    assert (top["share_1"] >= top["share_2"]).all()
    errors = fitted.feature_errors(rows)
    scores, same_errors = fitted.score_with_errors(rows)  # one pass for both
    np.testing.assert_allclose(scores, fitted.score_samples(rows))
    pd.testing.assert_frame_equal(same_errors, errors)
    # Each replica's squared errors, in units of its mean validation error per feature,
    # averaged over the replicas.
    x = fitted.preprocessor_.transform(rows)
    by_replica = [
        (reconstruct(fitted.architecture_, p, x) - x) ** 2 / scale
        for p, scale in zip(fitted.replicas_, fitted.scorer_.feature_scales, strict=True)
    ]
    np.testing.assert_allclose(errors.to_numpy(), np.mean(by_replica, axis=0), rtol=1e-4)
    shifted = rows.set_index(rows.index + 100)
    assert list(fitted.feature_errors(shifted).index[:2]) == [100, 101]
    assert list(fitted.top_features(shifted).index[:2]) == [100, 101]


def test_encode_and_reconstruct_in_original_units(fitted):
    rows = _normal_rows(40, seed=9)
    assert fitted.encode(rows).shape == (40, 3)
    recon = fitted.reconstruct(rows)
    assert list(recon.columns) == list(rows.columns)
    assert np.abs(recon.to_numpy() - rows.to_numpy()).mean() < 0.5 * rows.abs().to_numpy().mean()


def test_works_as_last_pipeline_step():
    pipe = make_pipeline(
        FunctionTransformer(lambda x: x * 2.0),
        AutoencoderDetector(_tiny_arch(), epochs=2, patience=None),
    )
    pipe.fit(_normal_rows(300))
    assert pipe.predict(_normal_rows(10)).shape == (10,)
    assert pipe.score_samples(_normal_rows(10)).shape == (10,)


def _labelled_validation(seed: int = 3):
    x = pd.concat([_normal_rows(400, seed=seed), _anomalies(40, seed=seed)], ignore_index=True)
    y = np.r_[np.zeros(400, np.int8), np.ones(40, np.int8)]
    amount = np.r_[np.full(400, 10.0), np.full(40, 500.0)]
    return x, y, amount


@pytest.mark.parametrize(
    "policy", ["contamination:0.05", "quantile:0.9", "fpr:0.02", "fixed:0.5", "f1", "cost:review=5"]
)
def test_every_threshold_policy(fitted, policy):
    x, y, amount = _labelled_validation()
    detector = copy.deepcopy(fitted)
    detector.fit_threshold(x, y, amount, policy=policy)
    normal_scores = detector.score_samples(x)[y == 0]
    if policy == "fixed:0.5":
        assert detector.threshold_ == 0.5
    elif policy == "contamination:0.05":
        assert detector.labels_.mean() == pytest.approx(0.05, abs=0.01)
    elif policy == "quantile:0.9":
        assert detector.threshold_ == pytest.approx(np.quantile(normal_scores, 0.9), rel=1e-6)
    elif policy == "fpr:0.02":
        assert (normal_scores >= detector.threshold_).mean() <= 0.02
    else:  # label-based: the anomalies are easy, so the chosen threshold separates well
        flags = detector.predict(x)
        assert flags[y == 1].mean() > 0.9 and flags[y == 0].mean() < 0.1


def test_label_policy_without_labels_is_a_clear_error():
    with pytest.raises(DataValidationError, match="labelled validation data"):
        AutoencoderDetector(_tiny_arch(), epochs=1, threshold="f1").fit(_normal_rows(200))


def test_fit_with_labelled_validation_data_uses_its_normals():
    x, y, amount = _labelled_validation()
    detector = AutoencoderDetector(_tiny_arch(), epochs=3, threshold="f1", patience=None)
    detector.fit(_normal_rows(500), validation_data=(x, y, amount))
    assert detector.decision_scores_.shape == (500,)
    assert np.isfinite(detector.threshold_)


def test_save_load_round_trip_gives_identical_scores(fitted, tmp_path):
    path = tmp_path / "model.aescope"
    fitted.save(path)
    loaded = AutoencoderDetector.load(path)
    rows = _normal_rows(100, seed=11)
    np.testing.assert_array_equal(loaded.score_samples(rows), fitted.score_samples(rows))
    assert loaded.threshold_ == fitted.threshold_
    assert loaded.get_params()["epochs"] == fitted.get_params()["epochs"]
    assert loaded.history_ == fitted.history_
    np.testing.assert_array_equal(loaded.labels_, fitted.labels_)


def test_preprocessing_is_saved_with_the_model(tmp_path):
    rows = _normal_rows(300).assign(when=np.arange(300.0))
    spec = PreprocessSpec(drop=("when",), scaling="robust")
    detector = AutoencoderDetector(_tiny_arch(), preprocessing=spec, epochs=2).fit(rows)
    detector.save(tmp_path / "m")
    loaded = AutoencoderDetector.load(tmp_path / "m")
    assert loaded.preprocessor_.spec == spec
    np.testing.assert_array_equal(loaded.score_samples(rows), detector.score_samples(rows))


def test_damaged_model_files_are_refused(fitted, tmp_path):
    path = tmp_path / "model.aescope"
    fitted.save(path)
    blob = path.read_bytes()
    (tmp_path / "cut").write_bytes(blob[: len(blob) // 2])
    flipped = bytearray(blob)
    flipped[-20] ^= 0x01
    (tmp_path / "flip").write_bytes(bytes(flipped))
    for name in ("cut", "flip"):
        with pytest.raises(ModelFileError):
            AutoencoderDetector.load(tmp_path / name)


def test_a_pickle_is_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "evil.aescope").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ModelFileError):
        AutoencoderDetector.load(tmp_path / "evil.aescope")
    assert not marker.exists()


def test_auto_defaults_are_sized_from_the_data():
    detector = AutoencoderDetector(threshold="quantile:0.99")
    assert detector.get_params()["architecture"] == "auto"
    detector.set_params(epochs=3).fit(_normal_rows(400))
    assert detector.architecture_.n_features == N_FEATURES
    assert detector.config_.batch_size == 64 and detector.config_.patience == 20
    assert len(detector.history_["train_loss"]) == 3
    with pytest.raises(ConfigError, match="epochs must be a whole number or 'auto'"):
        AutoencoderDetector(epochs="lots").fit(_normal_rows(50))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"epochs": 0}, "epochs must be at least 1"),
        ({"batch_size": 0}, "batch_size must be at least 1"),
        ({"patience": -1}, "patience must be at least 0"),
        ({"epochs": 2.5}, "epochs must be a whole number"),
        ({"random_state": -1}, "random_state must be a whole number >= 0"),
        ({"threshold": 5}, "threshold must be a policy"),
        ({"threshold": "fpr:2"}, "fpr"),
        ({"architecture": None}, "architecture must be"),
        ({"validation_share": 1.5}, "validation_share must be between 0 and 1"),
    ],
)
def test_settings_are_refused_before_the_data_is_touched(params, message):
    never_read = object()  # fit must fail on the settings before looking at X
    with pytest.raises(ConfigError, match=message):
        AutoencoderDetector(**params).fit(never_read)


def test_an_overflowing_row_scores_inf_and_is_flagged():
    detector = AutoencoderDetector(epochs=1).fit(_normal_rows(300))
    rows = _normal_rows(4).copy()
    rows.iloc[1, 0] = 1e30  # finite in float32 once scaled, but its squared error is not
    scores = detector.score_samples(rows)
    assert np.isinf(scores[1]) and np.isfinite(np.delete(scores, 1)).all()
    assert detector.predict(rows)[1] == 1
    assert detector.top_features(rows, k=1).iloc[1]["share_1"] == 1.0
    rows.iloc[2, 0] = 1e39  # beyond float32 once scaled: refused, naming the cell
    with pytest.raises(DataValidationError, match=r"row 2: value 1e\+39 is too large"):
        detector.score_samples(rows)


def test_fitting_on_a_label_like_column_warns_unless_it_is_dropped():
    """The CLI refuses a column named like the answer; the API warns (filterable)."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.standard_normal((300, 3)), columns=["a", "b", "c"])
    frame["Is Fraud"] = 0.0
    small = {"epochs": 1, "n_models": 1, "neighbors": 0}
    with pytest.warns(LabelLikeColumnWarning, match="column 'Is Fraud' looks like a label"):
        AutoencoderDetector(**small).fit(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LabelLikeColumnWarning)
        AutoencoderDetector(**small).fit(frame.drop(columns="Is Fraud"))
        AutoencoderDetector(preprocessing=PreprocessSpec(drop=("Is Fraud",)), **small).fit(frame)
