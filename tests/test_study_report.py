"""The whole study on a tiny slice of the real data, shrunk to a few epochs and settings.

One study run is shared by the module: it checks every artefact, the
self-contained HTML (and, where Chromium is installed, the page as a browser
shows it), and that a second run resumes from the cache without training.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
import typer
from _study_helpers import tiny_dataset
from typer.testing import CliRunner

import aescope.study
from aescope.cli import study_cmd
from aescope.errors import OutputError
from aescope.study import StudyConfig, report, run_study, runs
from aescope.study.browser import find_chromium, inspect_page

TINY = StudyConfig(
    seeds=(0, 1),
    epochs=2,
    batch_size=256,
    patience=1,
    q1_candidates=((256, 1e-3, 1, None), (256, 1e-3, 2, None)),
    protocol_epochs=1,
    depths=(1, 3),
    depth_latent=4,  # depth 3 is then the latent-4 network: one setting shared
    latents=(2, 4),
    l1s=(0.0, 0.1),
    n_bootstrap=10,
    projection_rows=300,
    baselines=("lof",),
)


@pytest.fixture(scope="module")
def tiny():
    return tiny_dataset(prevalence=0.00173)  # stands for the full data, as the sample does


@pytest.fixture(scope="module")
def study(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    return run_study(tiny, out, TINY, progress=False)


def test_every_artefact_is_written(study):
    out = study.out_dir
    for name in ("results.json", "report.md", "report.html", "tables/runs.csv"):
        assert (out / name).is_file(), name
    figures = [p for paths in study.results["figures"].values() for p in paths]
    names = {p.split("/")[-1] for p in figures}
    expected_figures = (
        "q1_loss_curves.png",
        "q1_protocol_loss_curves.png",
        "q1_latent_2d.png",
        "q1_latent_activations.png",
        "q1_errors.png",
        "q1_roc_pr.png",
        "sweep_depth.png",
        "sweep_latent.png",
        "sweep_latent_l1.png",
        "q6_l1_latent_activations.png",
        "q6_l1_roc_pr.png",
    )
    for expected in expected_figures:
        assert expected in names
    for path in figures:
        assert (out / path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    for table in study.results["tables"]:
        assert (out / table).is_file()
        md = (out / table).with_suffix(".md")
        assert table.endswith("runs.csv") or md.read_text().count("|") > 10


def test_html_opens_with_banner_summary_and_contents(study):
    page = (study.out_dir / "report.html").read_text()
    n_figures = sum(len(v) for v in study.results["figures"].values())
    assert page.count('src="data:image/png;base64,') == n_figures
    assert not re.search(r'(src|href)="(?!data:|#)', page)  # nothing to fetch
    assert "<script" not in page
    top = page[: page.index('<h2 id="q1">')]
    assert 'class="banner"' in top and "a sample" in top  # the tiny set stands for a population
    assert 'id="t-summary"' in top and 'id="contents"' in top
    for q in ("q1", "q2", "q3", "q4", "q5", "q6", "baselines", "setup"):
        assert f'href="#{q}"' in top and f'<h2 id="{q}">' in page
    assert "0.2373" in page  # the study's table beside ours
    assert "no model (mean squared standardised feature)" in page  # baselines in the tables


def test_answers_name_the_baselines(study):
    answers = study.results["answers"]
    assert "over no model" in answers["q1"]["text"] and "over PCA" in answers["q1"]["text"]
    assert "no model" in answers["q6"]["text"]
    for a in answers.values():
        assert a["summary"] and a["key"] and a["title"]
    assert study.results["best_bench"] == "lof"


def test_markdown_links_existing_figures(study):
    text = (study.out_dir / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert links and all((study.out_dir / link).is_file() for link in links)
    assert text.index("> **Built on tiny, a sample") < text.index("## 1.")


def test_results_json_has_numbers_configuration_and_provenance(study, tiny):
    results = json.loads((study.out_dir / "results.json").read_text())
    assert results["data"]["fingerprint"] == tiny.fingerprint()
    assert results["data"]["is_sample"] is True
    assert results["config"]["seeds"] == [0, 1]
    assert {"aescope", "jax", "numpy", "scikit-learn"} <= set(results["versions"])
    assert set(results["answers"]) == {"q1", "q2", "q3", "q4", "q5", "q6"}
    assert len(results["q1"]["protocol"]) == 2 and len(results["q6_protocol"]) == 2
    assert results["q1"]["data"]["split"]["protocol"].startswith("keras validation_split=0.2")
    for name, n_points in (("depth", 2), ("latent", 2), ("latent_l1", 2)):
        records = results["runs"][name]
        assert len(records) == n_points * 2
        for r in records:
            assert 0 <= r["detection"]["auroc"] <= 1
            assert 0 <= r["latent"]["probe_auroc"] <= 1
        stop = results["sweeps"][name]["stopping"]
        assert stop["early_stopped"] + stop["ceiling"] == stop["runs"] == n_points * 2
        assert results["sweeps"][name]["networks"][0]["network"].startswith("29 → ")
    settings = results["timing"]["settings"]
    assert settings["shared"] == [{"setting": "latent: latent 4", "same_as": "depth: depth 3"}]
    sweep = pd.read_csv(study.out_dir / "tables" / "sweep_latent_loss_detection.csv")
    assert sweep["value"].tolist() == [2, 4]
    assert {"val_loss_mean", "auprc_gain_mean", "probe_auroc_mean"} <= set(sweep.columns)


def test_a_second_run_resumes_without_training(study, tiny, monkeypatch):
    calls = []
    monkeypatch.setattr(runs, "train", lambda *a, **k: calls.append(a) or None)
    monkeypatch.setattr(report, "write_outputs", lambda *a, **k: None)  # checked above
    again = run_study(tiny, study.out_dir, TINY, progress=False)
    assert calls == []
    settings = again.results["timing"]["settings"]
    assert settings["trained"] == 0 and len(settings["shared"]) == 1
    assert settings["resumed"] == settings["total"] - 1
    assert again.results["answers"]["q2"]["text"] == study.results["answers"]["q2"]["text"]


def test_a_study_of_another_configuration_is_not_replaced(study, tiny):
    other = TINY.scaled(epochs=3)
    with pytest.raises(OutputError, match=r"another configuration \(epochs 2 there, 3 here\)"):
        run_study(tiny, study.out_dir, other, progress=False)


@pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed")
@pytest.mark.parametrize("width", [900, 1400])
def test_the_report_as_a_browser_shows_it(study, tmp_path, width):
    shot = tmp_path / f"report-top-{width}.png"
    seen = inspect_page(study.out_dir / "report.html", shot, width=width, height=1000)
    assert len(seen.images) == sum(len(v) for v in study.results["figures"].values())
    assert seen.broken_images == []
    assert seen.console_errors == []
    assert seen.wrapped_cells == 0  # tables scroll sideways instead of wrapping their cells
    assert seen.width <= seen.viewport  # the page itself never scrolls sideways
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def cli_app() -> typer.Typer:
    app = typer.Typer()
    app.command()(study_cmd.study)
    return app


def test_cli_quick_uses_the_sample_its_own_folder_and_the_quick_budget(monkeypatch, tmp_path):
    seen = {}

    def fake_run_study(dataset, out_dir, config, **kwargs):
        seen.update(dataset=dataset.name, config=config, out=out_dir, force=kwargs["force"])
        raise SystemExit(0)

    monkeypatch.setattr(aescope.study, "run_study", fake_run_study)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli_app(), ["--quick", "--seeds", "3"])
    assert result.exit_code == 0, result.output
    assert seen["dataset"] == "creditcard-sample"
    assert str(seen["out"]) == "out/study-quick"  # never the full study's out/study
    assert seen["config"].epochs == aescope.study.QUICK.epochs
    assert seen["config"].seeds == (0, 1, 2) and seen["force"] is False


def test_done_line_names_shared_and_resumed_settings():
    timing = {
        "wall_seconds": 12.0,
        "settings": {
            "trained": 15,
            "shared": [{"setting": "latent: latent 16", "same_as": "depth: depth 3"}],
            "resumed": 0,
            "total": 16,
        },
    }
    line = study_cmd.done_line(study_cmd.FULL_OUT, timing)
    assert "15 of 16 settings trained" in line
    assert "1 shared within this run (same network and training: latent: latent 16 = " in line
    assert "earlier run" not in line


def test_the_top_line_says_when_recorded_training_times_overlap(study):
    results = json.loads((study.out_dir / "results.json").read_text())
    assert "their times overlap" not in report.meta_line(results)  # one at a time
    results["timing"]["settings_ran"] = "up to 2 at a time in threads of one process"
    line = report.meta_line(results)
    assert "(settings ran up to 2 at a time in threads of one process: their times overlap)" in line
    setup = " ".join(report.setup_section(results).paragraphs)
    assert "their times overlap" in setup
