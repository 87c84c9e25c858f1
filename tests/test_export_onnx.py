"""ONNX export: the graph reproduces score_samples, predict and feature_errors, versions pinned."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest
from _serve_helpers import detector, model_path, real_rows
from typer.testing import CliRunner

from aescope.cli import app
from aescope.detector import AutoencoderDetector
from aescope.errors import ConfigError
from aescope.export.onnx import IR_VERSION, OPSET, build_model
from aescope.export.recipe import Replica, ScoreRecipe, recipe_from_detector
from aescope.model import Architecture, Layer

runner = CliRunner()


def _session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("onnx")
    return {
        dtype: detector().to_onnx(folder / f"model-{dtype}.onnx", input_dtype=dtype)
        for dtype in ("float64", "float32")
    }


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_scores_and_flags_match_the_detector_on_real_rows(exported, dtype):
    frame, source = real_rows()
    det = detector()
    score, flag, errors = _session(exported[dtype]).run(None, {"input": frame.to_numpy(dtype)})
    want = det.score_samples(frame)
    assert len(want) == min(100_000, len(frame)), source
    relative = np.abs(score - want) / np.abs(want)
    assert relative.max() <= 1e-5, f"{source}: worst relative difference {relative.max():.2e}"
    flagged = det.predict(frame).astype(bool)
    assert 0 < flagged.sum() < len(frame)  # the threshold is inside the data: flags can differ
    near = np.abs(want - det.threshold_) <= 1e-6
    assert np.array_equal(flag[~near], flagged[~near])
    # Per-feature errors: the detector's, and their row mean is the score.
    head = frame.iloc[:2000]
    want_errors = det.feature_errors(head).to_numpy()
    scale = want[:2000, None]
    assert np.abs(errors[:2000] - want_errors).max(axis=None) <= 1e-5 * scale.max()
    assert np.allclose(errors.mean(axis=1, dtype=np.float64), score, rtol=1e-6)


def test_versions_are_pinned_and_metadata_describes_the_model(exported):
    det = detector()
    model = onnx.load(str(exported["float64"]))
    assert model.ir_version == IR_VERSION == 9
    assert [(o.domain, o.version) for o in model.opset_import] == [("", OPSET)]
    assert OPSET == 17
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["feature_names"]) == list(det.feature_names_in_)
    assert json.loads(meta["feature_error_names"]) == [f"V{i}" for i in range(1, 29)] + ["Amount"]
    assert float(meta["threshold"]) == det.threshold_
    assert meta["threshold_policy"] == "fpr:0.01"
    assert meta["data_fingerprint"] == det.data_fingerprint_
    assert meta["aescope_version"] and meta["loss"] == "mse" and meta["input_dtype"] == "float64"
    session = _session(exported["float64"])
    (graph_input,) = session.get_inputs()
    assert graph_input.name == "input" and graph_input.shape[1] == 30
    assert isinstance(graph_input.shape[0], str)  # dynamic batch dimension
    assert [o.name for o in session.get_outputs()] == ["score", "flag", "feature_errors"]
    assert session.get_modelmeta().custom_metadata_map["threshold"] == meta["threshold"]


def _tiny(n_features: int) -> Architecture:
    hidden = [
        Layer(8, "relu"),
        Layer(8, "tanh"),
        Layer(6, "sigmoid"),
        Layer(3, "elu", latent=True),
        Layer(6, "gelu"),
        Layer(8, "leaky_relu"),
    ]
    return Architecture.from_hidden(n_features, hidden, name="every-activation")


def _synthetic(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)) @ rng.normal(size=(2, 6)) + 0.1 * rng.normal(size=(n, 6))
    return pd.DataFrame(x, columns=[f"c{i}" for i in range(6)])


@pytest.mark.parametrize("loss", ["mse", "mae"])
def test_every_activation_and_both_losses_translate(tmp_path, loss):
    det = AutoencoderDetector(
        _tiny(6), epochs=3, batch_size=64, patience=None, loss=loss, threshold="quantile:0.9"
    ).fit(_synthetic(600, 0))
    rows = _synthetic(300, 1) * 3
    score, flag, _ = _session(det.to_onnx(tmp_path / "m.onnx")).run(
        None, {"input": rows.to_numpy()}
    )
    np.testing.assert_allclose(score, det.score_samples(rows), rtol=1e-5)
    assert np.array_equal(flag, det.predict(rows).astype(bool))


def test_an_ensemble_recipe_with_normalised_errors_and_standardised_scores():
    """Two replicas, per-feature error scales and per-replica score standardisation."""
    train, rows = _synthetic(800, 2), _synthetic(200, 3) * 2
    replicas, expected = [], []
    for seed in (0, 1):
        det = AutoencoderDetector(
            _tiny(6), epochs=2, batch_size=64, patience=None, random_state=seed
        ).fit(train, validation_data=train.iloc[:100])
        errors = det.feature_errors(rows).to_numpy()
        scale = np.linspace(0.5, 2.0, 6).astype(np.float32) * (seed + 1)
        centre, spread = 0.1 * (seed + 1), 2.0 + seed
        replicas.append(Replica(det.architecture_, det.params_, scale, centre, spread))
        normalised = errors / scale
        expected.append((normalised, (normalised.mean(axis=1, dtype=np.float64) - centre) / spread))
    recipe = ScoreRecipe(det.preprocessor_, tuple(replicas), "mse", threshold=0.0)
    model = build_model(recipe)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    score, flag, errors = session.run(None, {"input": rows.to_numpy()})
    want_score = (expected[0][1] + expected[1][1]) / 2
    np.testing.assert_allclose(score, want_score, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(errors, (expected[0][0] + expected[1][0]) / 2, rtol=1e-4, atol=1e-6)
    assert np.array_equal(flag, score >= 0.0)


def test_recipe_refuses_inconsistent_parts():
    det = detector()
    recipe = recipe_from_detector(det)
    with pytest.raises(ConfigError, match="loss"):
        ScoreRecipe(recipe.preprocessor, recipe.replicas, "huber", 1.0)
    with pytest.raises(ConfigError, match="feature_scale"):
        bad = Replica(det.architecture_, det.params_, feature_scale=np.ones(3))
        ScoreRecipe(recipe.preprocessor, (bad,), "mse", 1.0)
    with pytest.raises(ConfigError, match="input_dtype"):
        build_model(recipe, "int8")


def test_cli_export_writes_a_model_and_never_overwrites_the_input(tmp_path):
    out = tmp_path / "out" / "model.onnx"
    result = runner.invoke(app, ["export", str(model_path()), "--onnx", str(out)])
    assert result.exit_code == 0, result.output
    assert "opset 17" in result.output and out.is_file()
    assert not list(out.parent.glob("*.tmp*"))  # written atomically, nothing left over
    copy = tmp_path / "copy.onnx"  # a model file whose name looks like an output
    copy.write_bytes(model_path().read_bytes())
    before = copy.read_bytes()
    refused = runner.invoke(app, ["export", str(copy), "--onnx", str(copy)])
    assert refused.exit_code == 2 and "is the model" in refused.output
    assert copy.read_bytes() == before
    wrong = runner.invoke(app, ["export", str(model_path()), "--onnx", str(tmp_path / "m.txt")])
    assert wrong.exit_code == 2 and "name the file .onnx" in wrong.output
    missing = runner.invoke(app, ["export", str(tmp_path / "nope.aescope"), "--onnx", str(out)])
    assert missing.exit_code == 2 and "not found" in missing.output
    assert "Traceback" not in missing.output
