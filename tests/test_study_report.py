"""The whole study on the bundled sample, shrunk to a few epochs and settings.

One study run is shared by the module: it checks every artefact, the
self-contained HTML, and that a second run resumes from the cache without training.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

import aescope.study
from aescope.cli import study_cmd
from aescope.data import load_dataset
from aescope.study import StudyConfig, report, run_study, runs

TINY = StudyConfig(
    seeds=(0, 1),
    epochs=1,
    batch_size=256,
    q1_epochs=1,
    q1_candidates=((256, 1e-3),),
    depths=(1, 2),
    latents=(2, 4),
    l1s=(0.0, 0.1),
    n_bootstrap=10,
    projection_rows=300,
)


@pytest.fixture(scope="module")
def sample():
    return load_dataset("creditcard-sample")


@pytest.fixture(scope="module")
def study(sample, tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    return run_study(sample, out, TINY, progress=False)


def test_every_artefact_is_written(study):
    out = study.out_dir
    for name in ("results.json", "report.md", "report.html", "tables/runs.csv"):
        assert (out / name).is_file(), name
    figures = [p for paths in study.results["figures"].values() for p in paths]
    names = {p.split("/")[-1] for p in figures}
    expected_figures = (
        "q1_loss_curves.png",
        "q1_latent_2d.png",
        "q1_latent_activations.png",
        "q1_errors.png",
        "q1_roc_pr.png",
        "sweep_depth.png",
        "sweep_latent.png",
        "sweep_latent_l1.png",
        "q6_l1_latent_activations.png",
    )
    for expected in expected_figures:
        assert expected in names
    for path in figures:
        assert (out / path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    for table in study.results["tables"]:
        assert (out / table).is_file()
        md = (out / table).with_suffix(".md")
        assert table.endswith("runs.csv") or md.read_text().count("|") > 10


def test_html_is_self_contained_with_every_image(study):
    page = (study.out_dir / "report.html").read_text()
    n_figures = sum(len(v) for v in study.results["figures"].values())
    assert page.count('src="data:image/png;base64,') == n_figures
    assert not re.search(r'(src|href)="(?!data:)', page)  # nothing to fetch
    for q in ("1.", "2.", "3.", "4.", "5.", "6."):
        assert f"<h2>{q}" in page
    assert "<table>" in page and "0.2373" in page  # the study's table beside ours


def test_markdown_links_existing_figures(study):
    text = (study.out_dir / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert links and all((study.out_dir / link).is_file() for link in links)


def test_results_json_has_numbers_configuration_and_provenance(study, sample):
    results = json.loads((study.out_dir / "results.json").read_text())
    assert results["data"]["fingerprint"] == sample.fingerprint()
    assert results["data"]["split"]["seed"] == 0
    assert results["config"]["seeds"] == [0, 1]
    assert {"aescope", "jax", "numpy", "scikit-learn"} <= set(results["versions"])
    assert set(results["answers"]) == {"q1", "q2", "q3", "q4", "q5", "q6"}
    assert all(len(a["text"]) > 40 for a in results["answers"].values())
    for name, n_points in (("depth", 2), ("latent", 2), ("latent_l1", 2)):
        records = results["runs"][name]
        assert len(records) == n_points * 2
        for r in records:
            assert 0 <= r["detection"]["auroc"] <= 1
            assert 0 <= r["latent"]["probe_auroc"] <= 1
            assert r["latent"]["dead_share"] is not None
        corr = results["sweeps"][name]["correlations"]["val_loss"]
        assert corr["n"] == n_points * 2
    sweep = pd.read_csv(study.out_dir / "tables" / "sweep_latent_loss_detection.csv")
    assert sweep["value"].tolist() == [2, 4]
    assert {"val_loss_mean", "val_loss_std", "probe_auroc_mean"} <= set(sweep.columns)


def test_a_second_run_resumes_without_training(study, sample, monkeypatch):
    calls = []
    monkeypatch.setattr(runs, "train", lambda *a, **k: calls.append(a) or None)
    monkeypatch.setattr(report, "write_outputs", lambda *a, **k: None)  # checked above
    again = run_study(sample, study.out_dir, TINY, progress=False)
    assert calls == []
    timing = again.results["timing"]
    assert timing["settings_from_cache"] == timing["settings_total"]
    assert again.results["answers"]["q2"]["text"] == study.results["answers"]["q2"]["text"]


def test_cli_quick_uses_the_sample_and_the_quick_budget(monkeypatch, tmp_path):
    seen = {}

    def fake_run_study(dataset, out_dir, config, **kwargs):
        seen.update(dataset=dataset.name, config=config, out=out_dir)
        raise SystemExit(0)

    monkeypatch.setattr(aescope.study, "run_study", fake_run_study)
    app = typer.Typer()
    app.command()(study_cmd.study)
    result = CliRunner().invoke(app, ["--quick", "--seeds", "3", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert seen["dataset"] == "creditcard-sample"
    assert seen["config"].epochs == aescope.study.QUICK.epochs
    assert seen["config"].seeds == (0, 1, 2)
