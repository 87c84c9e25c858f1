"""`aescope bench` end to end on tiny ADBench-style files: tables, ranks, plot, resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from aescope.bench.sources import adbench_sources, select_sources
from aescope.bench.tables import markdown_metric_table, markdown_ranks, summarize
from aescope.cli.bench_cmd import ONE_AE, _rank_summaries, bench
from aescope.errors import DataValidationError

DETECTORS = "pca,iforest,lof"


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command()(bench)

    @app.callback()
    def main() -> None:  # keep "bench" as a sub-command, as in the real CLI
        pass

    return app


@pytest.fixture
def adbench_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "adbench"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, shift in (("10_far", 6.0), ("2_near", 1.0)):
        x = np.vstack([rng.normal(0, 1, (300, 4)), rng.normal(shift, 1, (20, 4))])
        y = np.r_[np.zeros(300), np.ones(20)]
        np.savez(folder / f"{name}.npz", X=x, y=y)
    return folder


def _run(app, folder: Path, out: Path, *extra: str):
    args = ["bench", "--adbench-dir", str(folder), "--no-creditcard"]
    args += ["--detectors", DETECTORS, "--seeds", "2", "--out", str(out), *extra]
    return CliRunner().invoke(app, args)


def test_bench_writes_tables_ranks_and_plot(app, adbench_folder, tmp_path):
    out = tmp_path / "out"
    result = _run(app, adbench_folder, out)
    assert result.exit_code == 0, result.output
    raw = pd.read_csv(out / "results.csv")
    assert len(raw) == 2 * 3 * 2  # data sets x detectors x seeds
    assert list(dict.fromkeys(raw["dataset"])) == ["2_near", "10_far"]  # ADBench's number order
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["n_seeds"]) == {2}
    far = raw[(raw["dataset"] == "10_far") & raw["detector"].isin(["iforest", "lof"])]
    assert (far["auroc"] > 0.95).all()  # shifted by 6 sd: trivial for density-type detectors
    ranks = pd.read_csv(out / "ranks.csv")
    assert set(ranks["detector"]) == set(DETECTORS.split(","))
    report = (out / "report.md").read_text()
    assert "aescope bench --adbench-dir" in report and "--seeds 2" in report
    assert "## Average ranks across the ADBench data sets" in report
    assert "| 10_far |" in report and "LOF (novelty)" in report
    assert (out / "ranks.png").read_bytes()[:4] == b"\x89PNG"


def test_resume_keeps_finished_rows(app, adbench_folder, tmp_path):
    out = tmp_path / "out"
    assert _run(app, adbench_folder, out, "--datasets", "far").exit_code == 0
    first = pd.read_csv(out / "results.csv")
    result = _run(app, adbench_folder, out, "--resume")
    assert result.exit_code == 0, result.output
    second = pd.read_csv(out / "results.csv")
    assert len(second) == 12
    kept = second[second["dataset"] == "10_far"].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, first)  # measured once, not again


def test_unknown_data_set_is_a_clear_error(app, adbench_folder, tmp_path):
    result = _run(app, adbench_folder, tmp_path / "out", "--datasets", "nope")
    assert result.exit_code == 2
    assert "no data set named 'nope'" in result.output


def test_list_detectors(app):
    result = CliRunner().invoke(app, ["bench", "--list-detectors"])
    assert result.exit_code == 0
    assert "aescope-auto" in result.output and "ocsvm" in result.output


def test_select_sources_matches_names_without_numbers(adbench_folder):
    sources = adbench_sources(adbench_folder)
    assert [s.name for s in select_sources(sources, ["NEAR"])] == ["2_near"]
    assert len(select_sources(sources, None)) == 2
    with pytest.raises(DataValidationError, match="2_near"):
        select_sources(sources, ["missing"])


def test_markdown_table_bolds_best_and_marks_failures():
    raw = pd.DataFrame(
        {
            "dataset": ["s"] * 4,
            "family": ["adbench"] * 4,
            "detector": ["a", "a", "b", "b"],
            "seed": [0, 1, 0, 1],
            "n_train": 10,
            "n_val": 2,
            "n_test": 5,
            "n_test_anomalies": 1,
            "n_features": 3,
            "auroc": [0.8, 0.6, np.nan, np.nan],
            "auprc": [0.5, 0.3, np.nan, np.nan],
            "recall_at_1pct_fpr": [0.0, 1.0, np.nan, np.nan],
            "fit_seconds": [1.0, 1.0, np.nan, np.nan],
            "score_seconds": [0.1, 0.1, np.nan, np.nan],
            "error": ["", "", "ValueError: x", "ValueError: x"],
        }
    )
    summary = summarize(raw)
    row = summary.set_index("detector").loc["a"]
    assert row["auroc_mean"] == pytest.approx(0.7)
    assert row["auroc_std"] == pytest.approx(np.std([0.8, 0.6], ddof=1))
    assert summary.set_index("detector").loc["b", "error"] == "ValueError: x"
    text = markdown_metric_table(summary, "auroc")
    assert "| s | **0.700 ± 0.141** | failed |" in text


def test_report_tests_the_default_against_each_competitor_without_its_variants():
    rng = np.random.default_rng(0)
    rows = []
    for i in range(8):
        base = rng.uniform(0.3, 0.8)
        for detector, shift in (("aescope-auto", 0.1), ("aescope-single", 0.05), ("lof", 0.0)):
            rows.append(
                {
                    "dataset": f"{i}_set",
                    "family": "adbench",
                    "detector": detector,
                    "auprc_mean": base + shift,
                    "auroc_mean": base + shift + rng.normal(0, 0.01),
                }
            )
    summary = pd.DataFrame(rows)
    groups = _rank_summaries(summary)
    one = groups[f"Average ranks across the ADBench data sets, {ONE_AE}"]
    assert set(one[0].average.index) == {"aescope-auto", "lof"}  # the variant is left out
    assert list(one[0].pairwise["detector"]) == ["lof"]
    text = markdown_ranks(one)
    assert "against each competitor" in text
    assert "| LOF (novelty) | +1.00 (" in text and "| 8/0/0 |" in text
