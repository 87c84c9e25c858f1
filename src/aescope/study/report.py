"""Writing the study folder: tables (Markdown + CSV), results.json, report.md and report.html.

The report is one list of :class:`Section` objects rendered twice, as Markdown
and as HTML, so the two can never disagree. It opens with what a reader needs
at a glance: a banner when the data is a sample, a summary table (question,
one-line answer, key number with its interval, link) and the contents. The
HTML embeds every image as a base64 data URI and has no external links or
scripts: it opens offline, by itself.
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

import pandas as pd

from aescope._atomic import atomic_open
from aescope.model import Architecture
from aescope.study.answers import ANSWER_TITLES, fmt
from aescope.study.gallery import all_figures
from aescope.study.runs import RunCache, StudyData, jsonable
from aescope.study.sweeps import StudyConfig
from aescope.study.tables import (
    Table,
    baselines_table,
    correlation_table,
    html_table,
    markdown_table,
    networks_table,
    q1_tables,
    q4_table,
    q5_table,
    q6_tables,
    runs_frame,
    sweep_tables,
)


@dataclass
class Section:
    key: str  # the HTML anchor
    title: str
    paragraphs: list[str] = field(default_factory=list)
    code: str = ""
    tables: list[Table] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)  # (caption, relative path)
    answer: bool = True  # styled as an answer (the setup sections are not)


LAYOUT = (
    ("q2", ["sweep_depth_networks", "sweep_depth_loss_detection"], "sweep_depth"),
    ("q3", ["sweep_depth_latent", "correlations_depth"], None),
    (
        "q4",
        ["q4_study_table", "sweep_latent_networks", "sweep_latent_loss_detection"],
        "sweep_latent",
    ),
    ("q5", ["q5_vs_pca", "sweep_latent_latent", "correlations_latent"], None),
    (
        "q6",
        [
            "q6_collapse",
            "q6_comparison",
            "sweep_latent_l1_networks",
            "sweep_latent_l1_loss_detection",
            "sweep_latent_l1_latent",
            "correlations_latent_l1",
        ],
        "sweep_latent_l1",
    ),
)
"""Which tables and sweep figure each of questions 2-6 shows, in order."""


def banner(results: dict[str, Any]) -> str:
    """A warning line when the rows are a sample whose fraud share is not the population's."""
    d = results["data"]
    if not d.get("is_sample"):
        return ""
    share = d["anomalies"] / max(d["rows"], 1)
    return (
        f"Built on {d['dataset']}, a sample: {d['rows']:,} rows of which {d['anomalies']:,} are "
        f"frauds ({share:.1%}), while the full data has {d['natural_prevalence']:.2%} frauds. "
        "Precision-type numbers (AUPRC) are inflated and training sees a tenth of the rows; "
        "read this report as a demonstration. Run `aescope study` on the full data for the "
        "study's answers."
    )


def summary_table(results: dict[str, Any]) -> Table:
    """Question, one-line answer, key number with its interval, link: the report at a glance."""
    rows, frame = [], []
    for q, a in results["answers"].items():
        note = f" ({a['key_note']})" if a.get("key_note") else ""
        rows.append([a["title"], a["summary"], a["key"] + note, f"#{q}"])
        frame.append({"question": q, "answer": a["summary"], "key": a["key"], "note": note})
    return Table(
        "summary",
        "Summary: the six questions (details and baselines in each section)",
        ["question", "answer", "key number", ""],
        rows,
        pd.DataFrame(frame),
    )


def build_sections(
    results: dict[str, Any], figs: dict[str, list[tuple[str, str]]], tables: dict[str, Table]
) -> list[Section]:
    answers = results["answers"]
    sections = []
    q1 = Section("q1", ANSWER_TITLES["q1"], list(answers["q1"]["paragraphs"]))
    q1.code = results.get("q1_architecture", "")
    q1.tables = [tables[t] for t in ("q1_losses", "q1_detection") if t in tables]
    q1.figures = figs.get("q1", [])
    sections.append(q1)
    for q, table_names, fig_key in LAYOUT:
        if q not in answers:
            continue
        s = Section(q, ANSWER_TITLES[q], list(answers[q]["paragraphs"]))
        s.tables = [tables[t] for t in table_names if t in tables]
        if fig_key:
            s.figures = list(figs.get(fig_key, []))
        if q == "q6":
            s.figures += figs.get("q6", [])
        sections.append(s)
    sections.append(baselines_section(results, tables))
    sections.append(setup_section(results))
    return sections


def baselines_section(results: dict[str, Any], tables: dict[str, Table]) -> Section:
    best = results.get("best_bench")
    text = (
        "No model: a row's mean squared standardised feature, the error of a network that "
        "outputs the training mean. PCA with k components: the linear autoencoder with a "
        "k-unit bottleneck (k = the network's narrowest layer, below the 29 features); its "
        "error is the row's mean squared residual. Bench detectors: the classic detectors of "
        "aescope bench at their defaults and row caps, fitted on the study's training rows."
    )
    if best:
        text += (
            f" The best of them on this split is {results['baselines'][best]['label']}, chosen "
            "by test AUPRC, which flatters it."
        )
    return Section("baselines", "Baselines", [text], tables=[tables["baselines"]], answer=False)


def setup_section(results: dict[str, Any]) -> Section:
    d = results["data"]
    split = d["split"]
    cfg = results["config"]
    timing = results.get("timing", {})
    settings = timing.get("settings", {})
    ran = timing.get("settings_ran", "one at a time")
    overlapped = ran != "one at a time"
    shared = "; ".join(f"{s['setting']} is {s['same_as']}" for s in settings.get("shared", []))
    paragraphs = [
        f"Data: {d['dataset']} ({d['source']}), fingerprint {d['fingerprint'][:16]}…; "
        f"{split['kind']} split with seed {split['seed']}: train {split['train_rows']:,} normal "
        f"rows, validation {split['val_rows']:,} normal rows, test {split['test_rows']:,} rows "
        f"({split['test_anomalies']:,} frauds); natural-prevalence test view "
        f"{d['natural_prevalence_rows']:,} rows ({d['natural_prevalence_anomalies']} frauds"
        f"{natural_share(d)}). "
        f"Preprocessing: {json.dumps(d['preprocessing'])}, fitted on the training normals.",
        f"Training: replica seeds {cfg['seeds']}. "
        f"Sweeps: at most {cfg['epochs']} epochs (the study's count), early stopping on "
        f"validation loss with patience {cfg['patience']} (best weights kept), batch "
        f"{cfg['batch_size']}, Adam learning rate {cfg['sweep_learning_rate']:.3g} "
        "(0.001 × √(batch / 64), the square-root rule for Adam, when the batch is not the "
        "study's 64). The seeds of a setting train as replica groups side by side, sized so "
        "that no padding replica is trained. Question 1: the study's protocol, "
        f"then the candidates (batch, lr, epochs, patience) {cfg['q1_candidates']} in order "
        "until one brings every seed to the bar. Threshold for precision/recall and the error "
        "figures: 1% of validation normals flagged. Bootstrap: "
        f"{cfg['n_bootstrap']} resamples per model for AUROC/AUPRC intervals and the paired "
        "gains over baselines; 2,000 stratified (within-setting) resamples for the Spearman "
        "intervals. A step between adjacent settings is called clear when the difference of "
        "means exceeds twice sqrt(s₁² + s₂²) of the seeds' standard deviations.",
        "Latent measures (test rows): linear-probe AUROC = 5-fold cross-validated logistic "
        "regression on standardised codes (a fixed stratified subsample of ≤ 8,000 rows, "
        "all frauds kept); Fisher ratio = max over units of "
        "(μ₁−μ₀)²/(σ₀²+σ₁²); Mahalanobis = distance between class means under the pooled "
        "within-class covariance (pseudo-inverse); silhouette on a fixed stratified "
        "subsample of 2,000 rows; dead units = never above 1e-6 in absolute value; effective "
        "dimension = participation ratio of the code covariance's eigenvalues.",
        f"Wall time of this run: {fmt(timing.get('wall_seconds', float('nan')), '.0f')} s; "
        f"training the results shown took {recorded_training_seconds(results):,.0f} s of wall "
        "time when they were trained (recorded with each run"
        + (f"; the sweeps' settings ran {ran}, so their times overlap" if overlapped else "")
        + "). Settings: "
        f"{settings.get('trained', 0)} trained in this run, {len(settings.get('shared', []))} "
        "shared with another setting of this run (same network and training, trained once"
        + (f": {shared}" if shared else "")
        + f"), {settings.get('resumed', 0)} loaded from an earlier run's cache. Versions: "
        + ", ".join(f"{k} {v}" for k, v in results["versions"].items())
        + ".",
    ]
    return Section("setup", "Configuration and provenance", paragraphs, answer=False)


def recorded_training_seconds(results: dict[str, Any]) -> float:
    """Wall seconds of the training calls behind these results, as recorded when they ran.

    A resumed study loads its runs from the cache in seconds; this is what
    training them took. One call trains a setting's seeds together, so a setting
    counts its longest seed (epochs plus compilation), and a setting shared by
    two sweeps counts once.
    """
    groups: dict[frozenset[str], float] = {}
    settings: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for records in (
        results["q1"].get("protocol", []),
        results["q1"]["runs"],
        *results["runs"].values(),
        results.get("q6_protocol", []),
    ):
        for r in records:
            settings.setdefault((r["sweep"], r["label"]), []).append(r)
    for recs in settings.values():
        keys = frozenset(r["key"] for r in recs)
        groups[keys] = max(r["train_seconds"] + r["compile_seconds"] for r in recs)
    return float(sum(groups.values()))


def natural_share(data: dict[str, Any]) -> str:
    """The share the natural view was thinned to; older results did not record it."""
    share = data.get("natural_prevalence")
    return "" if share is None else f", the population's fraud share of {share:.3%}"


def render_markdown(
    title: str, results: dict[str, Any], summary: Table, sections: Sequence[Section]
) -> str:
    parts = [f"# {title}", ""]
    warn = banner(results)
    if warn:
        parts += [f"> **{warn}**", ""]
    rows = [[r[0], r[1], r[2], f"[§](#{r[3][1:]})"] for r in summary.rows]
    parts += [f"**{summary.caption}**", "", markdown_table(summary.header, rows), ""]
    for s in sections:
        parts += [f'<a id="{s.key}"></a>', "", f"## {s.title}", ""]
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
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1200px;margin:1.5em auto;padding:0 1em;
  color:#222;line-height:1.45}
h1{border-bottom:2px solid #4477AA;margin-bottom:.3em}h2{margin-top:2em;color:#4477AA}
.meta{color:#555;font-size:.9em;margin:.2em 0 1em}
.banner{background:#fff4e5;border:2px solid #EE7733;padding:.6em 1em;font-weight:600}
.scroll{overflow-x:auto;margin:1em 0}
table{border-collapse:collapse;font-size:.85em}
caption{text-align:left;font-weight:600;padding:.3em 0;white-space:normal}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:right;white-space:nowrap}
th{background:#f3f3f3}td:first-child,th:first-child,td.t{text-align:left}
table.prose{width:100%;table-layout:fixed}
table.prose td,table.prose th{text-align:left;vertical-align:top;white-space:normal}
table.prose col.q{width:26%}table.prose col.a{width:40%}table.prose col.k{width:30%}
table.prose col.l{width:4%}
nav ul{columns:2;margin:.3em 0}
figure{margin:1em 0}img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85em;color:#555}
pre{background:#f6f6f6;padding:.7em;overflow-x:auto;font-size:.8em}
.answer{background:#f4f8fc;border-left:4px solid #4477AA;padding:.6em 1em}
p.detail{margin:.6em 0}
</style></head><body>
<h1>$title</h1>
$body
</body></html>
"""
)


def summary_html(summary: Table) -> str:
    """The summary table: prose in a fixed layout, the one table whose cells may wrap."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in summary.header)
    body = ""
    for question, answer, key, link in summary.rows:
        body += (
            f'<tr><td><a href="{link}">{html.escape(question)}</a></td>'
            f"<td>{html.escape(answer)}</td><td>{html.escape(key)}</td>"
            f'<td><a href="{link}">§</a></td></tr>'
        )
    cols = '<colgroup><col class="q"><col class="a"><col class="k"><col class="l"></colgroup>'
    return (
        f'<table id="t-summary" class="prose"><caption>{html.escape(summary.caption)}'
        f"</caption>{cols}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def contents_html(sections: Sequence[Section]) -> str:
    items = "".join(f'<li><a href="#{s.key}">{html.escape(s.title)}</a></li>' for s in sections)
    return f'<nav><h2 id="contents">Contents</h2><ul>{items}</ul></nav>'


def render_html(
    title: str,
    results: dict[str, Any],
    summary: Table,
    sections: Sequence[Section],
    out_dir: Path,
) -> str:
    body = []
    warn = banner(results)
    if warn:
        body.append(f'<p class="banner">{html.escape(warn)}</p>')
    body.append(f'<p class="meta">{html.escape(meta_line(results))}</p>')
    body.append(summary_html(summary))
    body.append(contents_html(sections))
    for s in sections:
        body.append(f'<h2 id="{s.key}">{html.escape(s.title)}</h2>')
        for i, p in enumerate(s.paragraphs):
            cls = "answer" if s.answer and i == 0 else "detail"
            body.append(f'<p class="{cls}">{html.escape(p)}</p>')
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


def meta_line(results: dict[str, Any]) -> str:
    d = results["data"]
    timing = results.get("timing", {})
    settings = timing.get("settings", {})
    loaded = settings.get("resumed", 0)
    cache = (
        f" ({loaded} of {settings['total']} settings loaded from an earlier run)" if loaded else ""
    )
    ran = timing.get("settings_ran", "one at a time")
    overlap = "" if ran == "one at a time" else f" (settings ran {ran}: their times overlap)"
    return (
        f"{d['rows']:,} rows, {d['anomalies']:,} frauds; {len(results['config']['seeds'])} seeds "
        f"per setting; created {results['created']}; wall time "
        f"{fmt(timing.get('wall_seconds', float('nan')), '.0f')} s{cache}, training "
        f"{recorded_training_seconds(results):,.0f} s as recorded with the runs{overlap}; aescope "
        f"{results['versions']['aescope']}."
    )


def write_text(path: Path, text: str) -> None:
    with atomic_open(path) as handle:
        handle.write(text)


def all_tables(results: dict[str, Any]) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    for t in q1_tables(results):
        tables[t.name] = t
    for name, summary in results["sweeps"].items():
        for t in [
            networks_table(name, summary, results["baselines"]),
            *sweep_tables(name, summary),
            correlation_table(name, summary),
        ]:
            tables[t.name] = t
    for t in (q4_table(results), q5_table(results), *q6_tables(results)):
        if t is not None:
            tables[t.name] = t
    tables["baselines"] = baselines_table(results)
    return tables


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
    tables = all_tables(results)
    summary = summary_table(results)
    table_dir = out_dir / "tables"
    for t in [*tables.values(), summary]:
        with atomic_open(table_dir / f"{t.name}.csv") as handle:
            t.frame.to_csv(handle, index=False)
        write_text(
            table_dir / f"{t.name}.md", f"**{t.caption}**\n\n{markdown_table(t.header, t.rows)}\n"
        )
    with atomic_open(table_dir / "runs.csv") as handle:
        runs_frame(results).to_csv(handle, index=False)
    results["figures"] = {k: [p for _, p in v] for k, v in figs.items()}
    names = [*tables, summary.name]
    results["tables"] = sorted([f"tables/{n}.csv" for n in names] + ["tables/runs.csv"])
    results.setdefault("timing", {})["wall_seconds"] = time.perf_counter() - started
    with atomic_open(out_dir / "results.json") as handle:
        json.dump(jsonable(results), handle, indent=1)
    title = f"aescope study on {results['data']['dataset']}"
    sections = build_sections(results, figs, tables)
    write_text(out_dir / "report.md", render_markdown(title, results, summary, sections))
    write_text(out_dir / "report.html", render_html(title, results, summary, sections, out_dir))


def summary_lines(results: dict[str, Any]) -> list[str]:
    """The six answers as plain text, for the terminal: the one-liner and the key number."""
    lines = []
    warn = banner(results)
    if warn:
        lines.append("NOTE: " + warn)
    for a in results["answers"].values():
        lines.append(f"{a['title']}\n  {a['summary']}\n  key: {a['key']}")
    return lines
