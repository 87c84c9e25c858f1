"""`aescope data info`: summary tables on success, one clean line and exit code on error."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from aescope.cli import app

runner = CliRunner()


def test_info_on_the_bundled_sample():
    result = runner.invoke(app, ["data", "info", "--dataset", "creditcard-sample"])
    assert result.exit_code == 0, result.output
    for needle in ("creditcard-sample", "30,492", "anomalies", "492", "1.6135%", "Amount", "V28"):
        assert needle in result.output
    assert "Class" in result.output  # named as the label


def test_info_help():
    result = runner.invoke(app, ["data", "info", "--help"])
    assert result.exit_code == 0
    assert "--dataset" in result.output and "--data-dir" in result.output


def test_info_on_a_table_file_with_label(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("when,x,target\n0,1.5,0\n1,2.5,1\n2,3.5,0\n3,4.5,0\n")
    result = runner.invoke(
        app, ["data", "info", "-d", str(path), "--label", "target", "--time", "when"]
    )
    assert result.exit_code == 0, result.output
    assert "25.0000%" in result.output and "target" in result.output


def test_info_on_an_adbench_file(tmp_path):
    path = tmp_path / "9_toy.npz"
    np.savez(path, X=np.arange(8.0).reshape(4, 2), y=np.array([0, 0, 0, 1]))
    result = runner.invoke(app, ["data", "info", "--dataset", str(path)])
    assert result.exit_code == 0, result.output
    assert "9_toy" in result.output and "x1" in result.output


def test_bad_file_gives_one_line_and_exit_code_2(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n3,abc\n")
    result = runner.invoke(app, ["data", "info", "--dataset", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [f"error: {path}: column 'b', row 1: non-numeric value 'abc'"]


def test_missing_file_exits_1(tmp_path):
    result = runner.invoke(app, ["data", "info", "--dataset", str(tmp_path / "none.csv")])
    assert result.exit_code == 1
    assert "no such file" in result.output and "Traceback" not in result.output


def test_unavailable_creditcard_exits_1(tmp_path, monkeypatch):
    from aescope.data import creditcard

    monkeypatch.setattr(creditcard, "default_cache_dir", lambda: tmp_path / "cache")
    args = ["data", "info", "-d", "creditcard", "--data-dir", str(tmp_path), "--no-download"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "AESCOPE_DATA_DIR" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("option", ["--label", "--time"])
def test_builtin_sets_refuse_column_options(option):
    result = runner.invoke(app, ["data", "info", "-d", "creditcard-sample", option, "x"])
    assert result.exit_code == 2
