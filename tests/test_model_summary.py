"""The Keras-style summary table and the `aescope model` commands."""

from __future__ import annotations

from typer.testing import CliRunner

from aescope.cli import app
from aescope.model import get_preset, save_architecture


def test_summary_of_seed_best_has_keras_totals():
    text = get_preset("seed-best").summary()
    assert "Total params: 9,589" in text
    assert "Trainable params: 9,589" in text
    lines = text.splitlines()
    assert lines[0] == 'Model: "seed-best"'
    dense = [line for line in lines if "(Dense)" in line]
    assert len(dense) == 6
    assert "(None, 64)" in dense[0] and "1,920" in dense[0]
    assert "[latent]" in dense[2] and "(None, 24)" in dense[2]
    assert "activity L1 0.0001" in dense[1]


def test_summary_of_table1_and_dropout_rows():
    assert "Total params: 28,349" in get_preset("seed-table1", latent=32).summary()
    arch = get_preset("seed-best")
    layers = list(arch.layers)
    layers[0] = type(layers[0])(64, "relu", dropout=0.1)
    with_dropout = type(arch)(arch.n_features, tuple(layers), "d")
    text = with_dropout.summary()
    assert "(Dropout)" in text and "Total params: 9,589" in text


def test_cli_model_summary(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["model", "summary", "seed-best"])
    assert result.exit_code == 0, result.output
    assert "9,589" in result.output
    result = runner.invoke(app, ["model", "summary", "seed-table1", "--latent", "32"])
    assert result.exit_code == 0 and "28,349" in result.output
    result = runner.invoke(app, ["model", "summary", "seed-best", "--features", "10"])
    assert "(None, 10)" in result.output
    path = save_architecture(get_preset("seed-bad-latent", n_features=12), tmp_path / "a.toml")
    result = runner.invoke(app, ["model", "summary", str(path)])
    assert result.exit_code == 0 and "(None, 12)" in result.output


def test_cli_model_summary_rejects_unknown_names():
    result = CliRunner().invoke(app, ["model", "summary", "no-such-model"])
    assert result.exit_code == 2
    assert "no-such-model" in result.output and "seed-best" in result.output


def test_cli_model_presets_lists_counts():
    result = CliRunner().invoke(app, ["model", "presets"])
    assert result.exit_code == 0 and "seed-best" in result.output and "9,589" in result.output
