"""`aescope train` → `score` → `evaluate` end to end on the bundled real sample."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from aescope.cli import app
from aescope.data import load_creditcard
from aescope.detector import AutoencoderDetector
from aescope.model import default_architecture, default_training

runner = CliRunner()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def model_path(workdir: Path) -> Path:
    path = workdir / "model.aescope"
    result = runner.invoke(
        app,
        [
            "train",
            "--data",
            "creditcard-sample",
            "--arch",
            "seed-best",
            "--epochs",
            "2",
            "--bootstrap",
            "50",
            "--out",
            str(path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "9,589" in result.output  # the summary is printed
    assert "auroc" in result.output
    assert "natural prevalence (0.173%)" in result.output  # the full file's, not the sample's
    assert "only 5 anomalies in the natural-prevalence view" in " ".join(result.output.split())
    return path


@pytest.fixture(scope="module")
def sample_csv(workdir: Path) -> Path:
    """Transactions to score: an id and the model's columns, no label."""
    frame = load_creditcard(sample=True).frame.head(3000).drop(columns="Class")
    frame.insert(0, "tx_id", np.arange(len(frame)) + 1000)
    path = workdir / "rows.csv"
    frame.to_csv(path, index=False)
    return path


def test_train_saves_a_loadable_model(model_path: Path):
    detector = AutoencoderDetector.load(model_path)
    assert detector.architecture_.n_params == 9589
    assert "Time" not in detector.preprocessor_.output_columns
    assert len(detector.history_["train_loss"]) == 2
    defaults = AutoencoderDetector().get_params()
    assert len(detector.replicas_) == defaults["n_models"]  # the default ensemble
    assert detector.scorer_.k == defaults["neighbors"]
    assert detector.config_.input_noise == defaults["input_noise"]  # denoising by default


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_score_streams_in_chunks_and_keeps_ids(model_path, sample_csv, workdir, suffix):
    out = workdir / f"scored{suffix}"
    result = runner.invoke(
        app,
        [
            "score",
            str(model_path),
            str(sample_csv),
            "-o",
            str(out),
            "--id",
            "tx_id",
            "--chunk-rows",
            "700",
        ],
    )
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out) if suffix == ".csv" else pq.read_table(out).to_pandas()
    assert list(scored.columns) == ["tx_id", "score", "flag", "top_features"]
    # ids are carried verbatim, as text (no type guessing: "000123" stays "000123")
    assert len(scored) == 3000 and str(scored["tx_id"].iloc[0]) == "1000"
    detector = AutoencoderDetector.load(model_path)
    rows = pd.read_csv(sample_csv)
    np.testing.assert_allclose(
        scored["score"], detector.score_samples(rows[list(detector.feature_names_in_)]), rtol=1e-6
    )
    assert set(scored["flag"]) <= {0, 1}
    assert scored["top_features"].str.count(",").eq(2).all()


def test_score_refuses_wrong_columns_and_writes_nothing(model_path, sample_csv, workdir):
    bad = pd.read_csv(sample_csv).drop(columns=["V7"])
    bad_path = workdir / "bad.csv"
    bad.to_csv(bad_path, index=False)
    out = workdir / "never.csv"
    result = runner.invoke(app, ["score", str(model_path), str(bad_path), "-o", str(out)])
    assert result.exit_code == 2
    assert "V7" in result.output
    assert not out.exists()
    assert not list(workdir.glob(".never.csv*"))


def test_score_names_the_row_of_a_bad_value(model_path, sample_csv, workdir):
    bad = pd.read_csv(sample_csv)
    bad.loc[1234, "V3"] = np.nan
    bad_path = workdir / "nan.csv"
    bad.to_csv(bad_path, index=False)
    result = runner.invoke(
        app,
        [
            "score",
            str(model_path),
            str(bad_path),
            "-o",
            str(workdir / "x.csv"),
            "--id",
            "tx_id",
            "--chunk-rows",
            "1000",
        ],
    )
    assert result.exit_code == 2
    assert "'V3'" in result.output and "1234" in result.output


def test_evaluate_prints_metrics_with_cis_and_saves_plots(model_path, workdir):
    plots = workdir / "plots"
    metrics_json = workdir / "metrics.json"
    result = runner.invoke(
        app,
        [
            "evaluate",
            str(model_path),
            "creditcard-sample",
            "--label",
            "Class",
            "--amount",
            "Amount",
            "--bootstrap",
            "50",
            "--plots",
            str(plots),
            "--json",
            str(metrics_json),
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(metrics_json.read_text())
    assert 0.5 < metrics["auroc"] <= 1.0
    assert metrics["auroc_ci_low"] <= metrics["auroc"] <= metrics["auroc_ci_high"]
    assert (plots / "roc_pr.png").stat().st_size > 10_000
    assert (plots / "errors.png").stat().st_size > 10_000


def test_version_and_help():
    assert runner.invoke(app, ["--version"]).output.startswith("aescope ")
    for command in ("train", "score", "evaluate", "study", "data", "model"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output


def test_train_defaults_to_the_detectors_auto_sizes(workdir):
    # No label: trains on every row, which keeps this quick.
    rng = np.random.default_rng(0)
    table = workdir / "unlabelled.csv"
    pd.DataFrame(rng.standard_normal((600, 5)), columns=list("abcde")).to_csv(table, index=False)
    path = workdir / "auto.aescope"
    result = runner.invoke(app, ["train", "--data", str(table), "--out", str(path)])
    assert result.exit_code == 0, result.output
    detector = AutoencoderDetector.load(path)
    assert detector.architecture_ == default_architecture(5)
    auto = default_training(len(detector.decision_scores_))
    config = detector.config_
    assert (config.batch_size, config.patience) == (auto["batch_size"], auto["patience"])
    assert config.epochs == auto["epochs"]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--epochs", "ten", "expected a whole number or 'auto', got 'ten'"),
        ("--batch-size", "0", "must be at least 1, got 0"),
        ("--patience", "-3", "must not be negative, got -3"),
    ],
)
def test_train_names_a_bad_count_option(option, value, message, workdir):
    result = runner.invoke(app, ["train", "--data", "no-such-file.csv", option, value])
    assert result.exit_code == 2
    assert option in result.output and message in " ".join(result.output.split())


def test_train_sets_the_ensemble_size_and_the_neighbour_term(workdir):
    rng = np.random.default_rng(1)
    table = workdir / "small.csv"
    pd.DataFrame(rng.standard_normal((300, 4)), columns=list("abcd")).to_csv(table, index=False)
    path = workdir / "two.aescope"
    args = ["train", "--data", str(table), "--out", str(path), "--epochs", "2"]
    result = runner.invoke(app, [*args, "--models", "2", "--neighbors", "0"])
    assert result.exit_code == 0, result.output
    detector = AutoencoderDetector.load(path)
    assert len(detector.replicas_) == 2 and detector.scorer_.k == 0


def test_train_defaults_follow_the_detector():
    """train writes the detector's ensemble defaults out (so --help imports no detector);
    they must stay the detector's."""
    import inspect

    from aescope.cli import train_cmd

    defaults = AutoencoderDetector().get_params()
    for function in (train_cmd.train, train_cmd.run_training):
        parameters = inspect.signature(function).parameters
        name = {"train": ("models", "neighbors")}.get(function.__name__, ("n_models", "neighbors"))
        assert parameters[name[0]].default == defaults["n_models"]
        assert parameters[name[1]].default == defaults["neighbors"]
        assert parameters["input_noise"].default == defaults["input_noise"]
