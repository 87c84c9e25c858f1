"""Writing the study folder: tables (Markdown + CSV), results.json, report.md and report.html.

The report is one list of :class:`Section` objects rendered twice, as Markdown
and as HTML, so the two can never disagree. The HTML embeds every image as a
base64 data URI and has no external links: it opens offline, by itself.
"""

from __future__ import annotations

import base64
import html
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

from aescope._atomic import atomic_open
from aescope.model import Architecture
from aescope.study.answers import ANSWER_TITLES, fmt
from aescope.study.gallery import all_figures
from aescope.study.runs import RunCache, StudyData, jsonable
from aescope.study.sweeps import StudyConfig
from aescope.study.tables import (
    Table,
    correlation_table,
    html_table,
    markdown_table,
    q1_table,
    q4_table,
    q6_table,
    runs_frame,
    sweep_tables,
)


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    code: str = ""
    tables: list[Table] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)  # (caption, relative path)


def build_sections(
    results: dict[str, Any], figs: dict[str, list[tuple[str, str]]], tables: dict[str, Table]
) -> list[Section]:
    answers = results["answers"]
    sections = []
    q1 = Section(ANSWER_TITLES["q1"], [answers["q1"]["text"]])
    q1.code = results.get("q1_architecture", "")
    q1.tables = [tables["q1_runs"]]
    q1.figures = figs.get("q1", [])
    sections.append(q1)
    layout = (
        ("q2", "depth", ["sweep_depth_loss_detection"], "sweep_depth"),
        ("q3", "depth", ["sweep_depth_latent", "correlations_depth"], None),
        ("q4", "latent", ["q4_study_table", "sweep_latent_loss_detection"], "sweep_latent"),
        ("q5", "latent", ["sweep_latent_latent", "correlations_latent"], None),
        (
            "q6",
            "latent_l1",
            [
                "q6_comparison",
                "sweep_latent_l1_loss_detection",
                "sweep_latent_l1_latent",
                "correlations_latent_l1",
            ],
            "sweep_latent_l1",
        ),
    )
    for q, _sweep, table_names, fig_key in layout:
        if q not in answers:
            continue
        s = Section(ANSWER_TITLES[q], [answers[q]["text"]])
        s.tables = [tables[t] for t in table_names if t in tables]
        if fig_key:
            s.figures = list(figs.get(fig_key, []))
        if q == "q6":
            s.figures += figs.get("q6", [])
        sections.append(s)
    sections.append(setup_section(results))
    return sections


def setup_section(results: dict[str, Any]) -> Section:
    d = results["data"]
    split = d["split"]
    cfg = results["config"]
    timing = results.get("timing", {})
    shared = ""
    if 3 in cfg["depths"] and cfg["depth_latent"] in cfg["latents"]:
        shared = (
            f" (depth 3 and latent {cfg['depth_latent']} are the same network, trained once "
            "and reused)"
        )
    paragraphs = [
        f"Data: {d['dataset']} ({d['source']}), fingerprint {d['fingerprint'][:16]}…; "
        f"{split['kind']} split with seed {split['seed']}: train {split['train_rows']:,} normal "
        f"rows, validation {split['val_rows']:,} normal rows, test {split['test_rows']:,} rows "
        f"({split['test_anomalies']:,} frauds); natural-prevalence test view "
        f"{d['natural_prevalence_rows']:,} rows ({d['natural_prevalence_anomalies']} frauds"
        f"{natural_share(d)}). "
        f"Preprocessing: {json.dumps(d['preprocessing'])}, fitted on the training normals.",
        f"Training: replica seeds {cfg['seeds']} (trained together as vectorised replicas); "
        f"sweeps {cfg['epochs']} epochs max, batch {cfg['batch_size']}, learning rate "
        f"{cfg['learning_rate']:g}, early stopping patience {cfg['patience']} on validation "
        f"loss (best weights kept); question 1 up to {cfg['q1_epochs']} epochs, patience "
        f"{cfg['q1_patience']}, candidates (batch, lr) {cfg['q1_candidates']} tried in order "
        "until one reaches the bar. Threshold for precision/recall and the error figures: "
        "1% of validation normals flagged. Bootstrap: "
        f"{cfg['n_bootstrap']} resamples per model for AUROC/AUPRC intervals; 2,000 stratified "
        "(within-setting) resamples for the Spearman intervals.",
        "Latent measures (test rows): linear-probe AUROC = 5-fold cross-validated logistic "
        "regression on standardised codes (a fixed stratified subsample of ≤ 8,000 rows, "
        "all frauds kept); Fisher ratio = max over units of "
        "(μ₁−μ₀)²/(σ₀²+σ₁²); Mahalanobis = distance between class means under the pooled "
        "within-class covariance (pseudo-inverse); silhouette on a fixed stratified "
        "subsample of 2,000 rows; dead units = never above 1e-6 in absolute value; effective "
        "dimension = participation ratio of the code covariance's eigenvalues.",
        f"Wall time: {fmt(timing.get('wall_seconds', float('nan')), '.0f')} s; settings loaded "
        f"from the cache: {timing.get('settings_from_cache', 0)} of "
        f"{timing.get('settings_total', 0)}{shared}. Versions: "
        + ", ".join(f"{k} {v}" for k, v in results["versions"].items())
        + ".",
    ]
    return Section("Configuration and provenance", paragraphs)


def natural_share(data: dict[str, Any]) -> str:
    """The share the natural view was thinned to; older results did not record it."""
    share = data.get("natural_prevalence")
    return "" if share is None else f", the population's fraud share of {share:.3%}"


def render_markdown(title: str, sections: Sequence[Section]) -> str:
    parts = [f"# {title}", ""]
    for s in sections:
        parts += [f"## {s.title}", ""]
        for p in s.paragraphs:
            parts += [p, ""]
        if s.code:
            parts += ["```", s.code, "```", ""]
        for t in s.tables:
            parts += [
                f"**{t.caption}** ([CSV](tables/{t.name}.csv))",
                "",
                markdown_table(t.header, t.rows),
                "",
            ]
        for caption, path in s.figures:
            parts += [f"![{caption}]({path})", "", f"*{caption}*", ""]
    return "\n".join(parts)


HTML_PAGE = Template(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>$title</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
  color:#222;line-height:1.45}
h1{border-bottom:2px solid #4477AA}h2{margin-top:2em;color:#4477AA}
table{border-collapse:collapse;margin:1em 0;font-size:.85em}
caption{text-align:left;font-weight:600;padding:.3em 0}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}img{max-width:100%;border:1px solid #eee}figcaption{font-size:.85em;color:#555}
pre{background:#f6f6f6;padding:.7em;overflow-x:auto;font-size:.8em}
.answer{background:#f4f8fc;border-left:4px solid #4477AA;padding:.6em 1em}
</style></head><body>
<h1>$title</h1>
$body
</body></html>
"""
)


def render_html(title: str, sections: Sequence[Section], out_dir: Path) -> str:
    body = []
    for i, s in enumerate(sections):
        body.append(f"<h2>{html.escape(s.title)}</h2>")
        cls = ' class="answer"' if i < len(sections) - 1 else ""
        body += [f"<p{cls}>{html.escape(p)}</p>" for p in s.paragraphs]
        if s.code:
            body.append(f"<pre>{html.escape(s.code)}</pre>")
        body += [html_table(t) for t in s.tables]
        for caption, path in s.figures:
            data = base64.b64encode((out_dir / path).read_bytes()).decode("ascii")
            body.append(
                f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
    return HTML_PAGE.substitute(title=html.escape(title), body="\n".join(body))


def write_text(path: Path, text: str) -> None:
    with atomic_open(path) as handle:
        handle.write(text)


def write_outputs(
    results: dict[str, Any],
    out_dir: Path,
    data: StudyData,
    cache: RunCache,
    config: StudyConfig,
    *,
    started: float,
) -> None:
    """Every artefact of the study folder, each file written atomically."""
    q1_runs = results["q1"]["runs"]
    if q1_runs:
        results["q1_architecture"] = Architecture.from_dict(q1_runs[0]["arch"]).summary()
    figs = all_figures(results, data, cache, out_dir, config)
    tables: dict[str, Table] = {"q1_runs": q1_table(results)}
    for name, summary in results["sweeps"].items():
        for t in [*sweep_tables(name, summary), correlation_table(name, summary)]:
            tables[t.name] = t
    for t in (q4_table(results), q6_table(results)):
        if t is not None:
            tables[t.name] = t
    table_dir = out_dir / "tables"
    for t in tables.values():
        with atomic_open(table_dir / f"{t.name}.csv") as handle:
            t.frame.to_csv(handle, index=False)
        write_text(
            table_dir / f"{t.name}.md", f"**{t.caption}**\n\n{markdown_table(t.header, t.rows)}\n"
        )
    with atomic_open(table_dir / "runs.csv") as handle:
        runs_frame(results).to_csv(handle, index=False)
    results["figures"] = {k: [p for _, p in v] for k, v in figs.items()}
    results["tables"] = sorted([f"tables/{n}.csv" for n in tables] + ["tables/runs.csv"])
    results.setdefault("timing", {})["wall_seconds"] = time.perf_counter() - started
    with atomic_open(out_dir / "results.json") as handle:
        json.dump(jsonable(results), handle, indent=1)
    title = f"aescope study on {results['data']['dataset']}"
    sections = build_sections(results, figs, tables)
    write_text(out_dir / "report.md", render_markdown(title, sections))
    write_text(out_dir / "report.html", render_html(title, sections, out_dir))


def summary_lines(results: dict[str, Any]) -> list[str]:
    """The six answers as plain text, for the terminal."""
    return [f"{ANSWER_TITLES[q]}\n{a['text']}" for q, a in results["answers"].items()]
