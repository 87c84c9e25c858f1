"""ONNX export: the graph reproduces score_samples, predict and feature_errors, versions pinned."""

from __future__ import annotations

import json
from dataclasses import replace
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
from aescope.export.recipe import NeighborTerm, Replica, ScoreRecipe, recipe_from_detector
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


def _run(session: ort.InferenceSession, x: np.ndarray, rows: int = 10_000) -> list[np.ndarray]:
    """The graph's outputs in pieces: the neighbour term holds rows x reference distances."""
    parts = [session.run(None, {"input": x[i : i + rows]}) for i in range(0, len(x), rows)]
    return [np.concatenate(column) for column in zip(*parts, strict=True)]


def _close(got: np.ndarray, want: np.ndarray) -> float:
    """Worst difference relative to max(1, |want|): scores are z-scores, often near 0, so a
    bare relative error would measure float noise against nothing."""
    return float((np.abs(got - want) / np.maximum(1.0, np.abs(want))).max())


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_scores_and_flags_match_the_detector_on_real_rows(exported, dtype):
    frame, source = real_rows()
    det = detector()
    score, flag, errors = _run(_session(exported[dtype]), frame.to_numpy(dtype))
    want, want_errors = det.score_with_errors(frame)
    assert len(want) == min(100_000, len(frame)), source
    worst = _close(score, want)
    assert worst <= 1e-5, f"{source}: worst difference {worst:.2e} (relative to max(1, |score|))"
    flagged = det.predict(frame).astype(bool)
    assert 0 < flagged.sum() < len(frame)  # the threshold is inside the data: flags can differ
    near = np.abs(want - det.threshold_) <= 1e-6 * max(1.0, abs(det.threshold_))
    assert np.array_equal(flag[~near], flagged[~near])
    # Per-feature errors: the detector's explanation, in units of each feature's typical error.
    assert _close(errors, want_errors.to_numpy()) <= 1e-5


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
    assert _close(score, det.score_samples(rows)) <= 1e-5
    assert np.array_equal(flag, det.predict(rows).astype(bool))


# 200 reference rows: padded to four groups of 64, searched in two levels; 100 rows: two
# groups, no more than k, searched in one TopK.
@pytest.mark.parametrize(("k", "reference_rows"), [(3, 200), (5, 100)])
def test_every_term_of_the_ensemble_score_is_in_the_graph(k, reference_rows):
    """Two replicas with their feature scales, the calibrated reconstruction term and the
    neighbour term: each part of the graph against the detector's own scorer."""
    det = AutoencoderDetector(
        _tiny(6), epochs=2, batch_size=64, patience=None, n_models=2, neighbors=k,
        reference_rows=reference_rows,
    ).fit(_synthetic(800, 2))  # fmt: skip
    rows = _synthetic(300, 3) * 2
    recipe = recipe_from_detector(det)
    assert len(recipe.replicas) == 2 and recipe.neighbors is not None
    assert recipe.neighbors.k == k and recipe.neighbors.reference.shape == (reference_rows, 6)
    parts = det.scorer_.parts(det.preprocessor_.transform(rows))

    def run(r: ScoreRecipe) -> list[np.ndarray]:
        model = build_model(r).SerializeToString()
        session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
        return session.run(None, {"input": rows.to_numpy()})

    score, flag, errors = run(recipe)
    assert _close(score, parts.score) <= 1e-5
    assert _close(errors, parts.feature_errors) <= 1e-5
    assert np.array_equal(flag, parts.score >= det.threshold_)
    reconstruction_only = run(replace(recipe, neighbors=None))[0]
    assert _close(reconstruction_only, parts.reconstruction) <= 1e-5
    assert np.abs(parts.neighbors).max() > 0.1  # the neighbour term is not a no-op here
    assert recipe.neighbors.scale is not None  # distances in units of reconstruction error
    # a model file from before that scaling searches the inputs as they are, exported too
    det.scorer_.neighbor_scale = None
    plain = det.scorer_.parts(det.preprocessor_.transform(rows))
    assert not np.allclose(plain.neighbors, parts.neighbors)
    assert _close(run(recipe_from_detector(det))[0], plain.score) <= 1e-5


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
    near = NeighborTerm(np.zeros((10, len(recipe.feature_columns)), np.float32), 3, 0.5)
    with pytest.raises(ConfigError, match="neighbour scale"):
        replace(recipe, neighbors=replace(near, scale=np.ones(2, np.float32)))


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


@pytest.mark.parametrize("value", [1e20, 1e300, np.inf, -np.inf, np.nan])
def test_a_row_the_detector_would_refuse_scores_inf_and_is_flagged_never_nan(value):
    """The graph cannot refuse a row as ``score_samples`` does; it scores it as the scorer
    scores a row whose error overflows: +inf, flagged (NaN would pass as normal)."""
    det = detector()
    recipe = recipe_from_detector(det)
    x = np.zeros((3, len(recipe.input_columns)))
    x[1, :] = value  # every column
    x[2, 3] = value  # one column
    for r in (recipe, replace(recipe, neighbors=None)):
        model = build_model(r).SerializeToString()
        session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
        score, flag, errors = session.run(None, {"input": x})
        assert np.isfinite(score[0]) and not flag[0]
        assert np.isposinf(score[1:]).all() and flag[1:].all()
        assert not np.isnan(errors).any()
