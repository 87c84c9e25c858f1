"""The study's tables: one :class:`Table` per view, rendered to Markdown, HTML and CSV.

A table keeps two forms: formatted cells (``mean ± std``) for people and a
full-precision frame for the CSV, so that nothing is lost by rounding. Every
table that shows an autoencoder shows its baselines in the same columns.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from aescope.study.answer_q6 import collapsed, final
from aescope.study.answers import ci, fmt, signed
from aescope.study.stats import mean_std
from aescope.study.summary import METRICS, SEPARATION_METRICS, metric_value
from aescope.study.sweeps import STUDY_BAD_LATENT

LOSS_DETECTION_COLUMNS = (
    "train_loss",
    "val_loss",
    "test_loss_normal",
    "test_loss_anomaly",
    "auroc",
    "auprc",
    "auprc_natural",
    "auprc_gain",
)
LATENT_COLUMNS = (*SEPARATION_METRICS, "dead_share")


@dataclass
class Table:
    name: str
    caption: str
    header: list[str]
    rows: list[list[str]]
    frame: pd.DataFrame  # what the CSV holds (full precision)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def cell(v: str) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


WORDS = re.compile(r"[^\W\d_]")  # any letter: the cell is text, not a number


def html_table(table: Table) -> str:
    """A table in a scrolling box: cells never wrap, a wide table scrolls instead.

    Numbers are right-aligned so that their digits line up; words are left-aligned.
    """

    def cell(v: object) -> str:
        text = str(v)
        cls = ' class="t"' if WORDS.search(text) and text != "n/a" else ""
        return f"<td{cls}>{html.escape(text)}</td>"

    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.header)
    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in table.rows)
    caption = html.escape(table.caption)
    return (
        f'<div class="scroll"><table id="t-{table.name}"><caption>{caption}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _ms(stat: Mapping[str, float], spec: str) -> str:
    return f"{fmt(stat['mean'], spec)} ± {fmt(stat['std'], spec)}"


def _stat(records: Sequence[Mapping[str, Any]], key: str) -> dict[str, float]:
    return mean_std([metric_value(dict(r), key) for r in records])


def _det(d: Mapping[str, Any], key: str) -> str:
    return f"{fmt(d[key], '.3f')} {ci(d[f'{key}_ci_low'], d[f'{key}_ci_high'])}"


def sweep_tables(name: str, summary: dict[str, Any]) -> list[Table]:
    points = summary["points"]
    frame = pd.DataFrame(
        [
            {
                "value": p["value"],
                "seeds": len(p["seeds"]),
                **{f"{k}_{s}": p[k][s] for k in METRICS for s in ("mean", "std")},
            }
            for p in points
        ]
    )
    tables = []
    for part, cols in (("loss_detection", LOSS_DETECTION_COLUMNS), ("latent", LATENT_COLUMNS)):
        header = [summary["parameter"], *(METRICS[k].label for k in cols)]
        rows = [[f"{p['value']:g}"] + [_ms(p[k], METRICS[k].fmt) for k in cols] for p in points]
        what = "losses and detection" if part == "loss_detection" else "latent separation"
        tables.append(
            Table(
                f"sweep_{name}_{part}",
                f"Sweep over {summary['parameter']}: {what} (mean ± std over "
                f"{len(points[0]['seeds']) if points else 0} seeds)",
                header,
                rows,
                frame,
            )
        )
    return tables


def networks_table(name: str, summary: dict[str, Any], baselines: dict[str, Any]) -> Table:
    """The network of every setting, how its runs ended, and its linear-AE twin's loss."""
    stops = {}
    for p in summary["points"]:
        stops[p["value"]] = p
    rows, frame = [], []
    for net in summary["networks"]:
        p = stops.get(net["value"])
        pca = baselines.get(f"pca_{net['pca_components']}", {})
        epochs = _ms(p["epochs_run"], ".0f") if p else "n/a"
        rows.append(
            [
                net["label"],
                net["network"],
                f"{net['n_params']:,}",
                epochs,
                _ms(p["val_loss"], ".4f") if p else "n/a",
                f"{net['pca_components']}: {fmt(pca.get('val_loss'))}",
            ]
        )
        frame.append({**net, "pca_val_loss": pca.get("val_loss")})
    header = [
        "setting",
        "network (input → layers → output; [latent])",
        "weights",
        "epochs",
        "AE val loss",
        "PCA comps: val loss",
    ]
    return Table(
        f"sweep_{name}_networks",
        f"Networks of the {summary['parameter']} sweep ({summary['training']}); PCA with as "
        "many components as the narrowest layer is the linear autoencoder of that size",
        header,
        rows,
        pd.DataFrame(frame),
    )


def correlation_table(name: str, summary: dict[str, Any]) -> Table:
    corr = summary["correlations"]
    frame = pd.DataFrame(
        [
            {"sweep": name, "metric": k, **{f: c[f] for f in ("rho", "ci_low", "ci_high", "n")}}
            for k, c in corr.items()
        ]
    )
    rows = [
        [
            METRICS[k].label,
            fmt(c["rho"], ".2f"),
            f"[{fmt(c['ci_low'], '.2f')}, {fmt(c['ci_high'], '.2f')}]",
            str(c["n"]),
        ]
        for k, c in corr.items()
    ]
    return Table(
        f"correlations_{name}",
        f"Spearman ρ against {summary['parameter']} (95% stratified bootstrap CI)",
        ["metric", "ρ", "95% CI", "models"],
        rows,
        frame,
    )


def runs_frame(results: dict[str, Any]) -> pd.DataFrame:
    rows = []
    groups = (
        results["q1"].get("protocol", []),
        results["q1"]["runs"],
        *results["runs"].values(),
        results.get("q6_protocol", []),
    )
    for records in groups:
        for r in records:
            rows.append(
                {
                    "sweep": r["sweep"],
                    "setting": r["label"],
                    "value": r["value"],
                    "seed": r["seed"],
                    "epochs_run": r["epochs_run"],
                    "best_epoch": r["best_epoch"] + 1,
                    "early_stopped": r["early_stopped"],
                    "train_seconds": r["train_seconds"],
                    "n_params": r["n_params"],
                    **{k: metric_value(r, k) for k in METRICS},
                    "key": r["key"],
                }
            )
    return pd.DataFrame(rows)


def _loss_row(name: str, seed: str, epochs: str, r: Mapping[str, Any], bar: float) -> list[str]:
    return [
        name,
        seed,
        epochs,
        fmt(r["train_loss"]),
        fmt(r["val_loss"]),
        fmt(r["test_loss_normal"]),
        fmt(r["test_loss_anomaly"]),
        ("yes" if max(r["train_loss"], r["val_loss"]) <= bar else "no") if seed else "",
        fmt(r["accuracy_train"], ".2%"),
        fmt(r["accuracy_test"], ".2%"),
    ]


def q1_tables(results: dict[str, Any]) -> list[Table]:
    """Losses of every question-1 run (and of no model / PCA), then detection with baselines."""
    bar = results["loss_bar"]
    q1 = results["q1"]
    answer = results["answers"]["q1"]
    base = results["baselines"]
    recs = [*q1.get("protocol", []), *q1["runs"]]
    rows = []
    for r in recs:
        name = "study protocol" if r["sweep"] == "q1_protocol" else r["label"]
        kept = r["best_epoch"] + 1 if r["config"].get("restore_best", True) else r["epochs_run"]
        epochs = f"{r['epochs_run']} ({kept})"
        rows.append(_loss_row(name, str(r["seed"]), epochs, r, bar))
    k = recs[0]["vs_pca"]["components"] if recs else None
    for key in ("no_model", f"pca_{k}"):
        if key in base:
            rows.append(_loss_row(base[key]["label"], "", "", base[key], bar))
    header = [
        "setting",
        "seed",
        "epochs (kept)",
        "train loss",
        "val loss",
        "test loss, normal",
        "test loss, fraud",
        f"≤ {bar:g}",
        "accuracy, train",
        "accuracy, test",
    ]
    losses = Table(
        "q1_losses",
        "Question 1: seed-best runs, losses by part and the study's accuracy (the study's "
        "protocol first, then the candidates on the study's split in the order tried)",
        header,
        rows,
        runs_frame({"q1": q1, "runs": {}}),
    )
    shown = [r for r in q1["runs"] if r["label"] == answer["setting"]] + list(
        q1.get("protocol", [])
    )
    det_rows, frame = [], []
    for r in shown:
        name = "AE, study protocol" if r["sweep"] == "q1_protocol" else "AE, " + r["label"]
        g = r["vs_no_model"]
        gain = ci(g["auprc_delta_ci_low"], g["auprc_delta_ci_high"])
        det_rows.append(
            [
                f"{name}, seed {r['seed']}",
                _det(r["detection"], "auroc"),
                _det(r["detection"], "auprc"),
                fmt(r["natural"]["auprc"], ".3f"),
                f"{signed(g['auprc_delta'])} {gain}",
            ]
        )
        frame.append({"model": name, "seed": r["seed"], **r["detection"]})
    for key in ("no_model", f"pca_{k}", results.get("best_bench")):
        if key and key in base:
            b = base[key]
            label = b["label"] + (" (best of aescope bench)" if b.get("kind") == "bench" else "")
            det_rows.append(
                [
                    label,
                    _det(b["detection"], "auroc"),
                    _det(b["detection"], "auprc"),
                    fmt(b["natural"]["auprc"], ".3f"),
                    "0" if key == "no_model" else "",
                ]
            )
            frame.append({"model": b["label"], **b["detection"]})
    detection = Table(
        "q1_detection",
        "Question 1: detection on the test set beside no model, the linear AE and the best "
        "bench detector (95% bootstrap CIs; gain: paired bootstrap)",
        ["model", "AUROC", "AUPRC", "AUPRC natural", "AUPRC gain over no model"],
        det_rows,
        pd.DataFrame(frame),
    )
    return [losses, detection]


def q4_table(results: dict[str, Any]) -> Table | None:
    table = results["answers"].get("q4", {}).get("study_table")
    if not table:
        return None
    base = results["baselines"]
    points = {p["value"]: p for p in results["sweeps"]["latent"]["points"]}
    nets = {n["value"]: n for n in results["sweeps"]["latent"]["networks"]}
    rows, frame = [], []
    for t in table:
        pca = base.get(f"pca_{nets[t['latent']]['pca_components']}", {})
        p = points[t["latent"]]
        rows.append(
            [
                str(t["latent"]),
                f"{t['study_val_loss']:.4f}",
                f"{fmt(t['our_val_loss_mean'])} ± {fmt(t['our_val_loss_std'])}",
                t["verdict"],
                fmt(pca.get("val_loss")),
                _ms(p["auprc"], ".3f"),
                fmt(pca.get("detection", {}).get("auprc"), ".3f"),
            ]
        )
        frame.append({**t, "pca_val_loss": pca.get("val_loss"), "auprc_mean": p["auprc"]["mean"]})
    none = base["no_model"]
    rows.append(
        ["no model", "", fmt(none["val_loss"]), "", "", "", fmt(none["detection"]["auprc"], ".3f")]
    )
    header = [
        "latent",
        "study: val loss",
        "ours: val loss",
        "verdict",
        "PCA: val loss",
        "ours: AUPRC",
        "PCA / no model: AUPRC",
    ]
    return Table(
        "q4_study_table",
        "The study's Table 1 (seed-table1, trained fully) beside ours (converged runs) and "
        "the linear AE of each width",
        header,
        rows,
        pd.DataFrame(frame),
    )


def q5_table(results: dict[str, Any]) -> Table | None:
    """Latent separation of each width beside PCA codes of that width."""
    sweep = results["sweeps"].get("latent")
    if not sweep:
        return None
    base = results["baselines"]
    nets = {n["value"]: n for n in sweep["networks"]}
    rows, frame = [], []
    keys = ("probe_auroc", "mahalanobis", "silhouette")
    for p in sweep["points"]:
        pca = base.get(f"pca_{nets[p['value']]['pca_components']}", {}).get("latent", {})
        row = [f"{p['value']:g}"]
        for k in keys:
            row += [_ms(p[k], METRICS[k].fmt), fmt(pca.get(k), METRICS[k].fmt)]
        rows.append(row)
        frame.append({"latent": p["value"], **{f"pca_{k}": pca.get(k) for k in keys}})
    raw = base["no_model"].get("latent", {})
    rows.append(
        ["input features"] + [v for k in keys for v in ("", fmt(raw.get(k), METRICS[k].fmt))]
    )
    header = ["latent"]
    for k in keys:
        header += [f"AE: {METRICS[k].label}", "PCA"]
    return Table(
        "q5_vs_pca",
        "Latent separation of the autoencoder's codes beside PCA codes of the same width "
        "(last row: the 29 input features, no encoder)",
        header,
        rows,
        pd.DataFrame(frame),
    )


def q6_tables(results: dict[str, Any]) -> list[Table]:
    sweep = results["sweeps"].get("latent_l1")
    if not sweep:
        return []
    records = results["runs"]["latent_l1"]
    base = results["baselines"]
    rows, frame = [], []
    for p in sweep["points"]:
        mine = [r for r in records if r["value"] == p["value"]]
        k = sum(collapsed(r) for r in mine)
        rows.append(
            [
                f"{p['value']:g}",
                _ms(p["train_loss"], ".4f"),
                _ms(p["explained"], ".3f"),
                _ms(p["rank_corr_no_model"], ".3f"),
                _ms(p["auprc"], ".3f"),
                _ms(p["auprc_gain"], ".3f"),
                _ms(p["dead_share"], ".2f"),
                f"{k} of {len(mine)}",
            ]
        )
        frame.append({"l1": p["value"], "collapsed": k, "seeds": len(mine)})
    none = base["no_model"]
    rows.append(
        [
            "no model",
            fmt(none["train_loss"]),
            "0",
            "1",
            fmt(none["detection"]["auprc"], ".3f"),
            "0",
            "",
            "",
        ]
    )
    header = [
        "L1",
        "train loss",
        "share of no model's loss removed",
        "rank corr. with no model",
        "AUPRC",
        "AUPRC gain over no model",
        "dead latent units",
        "collapsed",
    ]
    sweep_table = Table(
        "q6_collapse",
        "Question 6: each L1 strength against no model (collapsed: removes < 1% of no "
        "model's training loss)",
        header,
        rows,
        pd.DataFrame(frame),
    )
    comparison = q6_comparison(results)
    return [sweep_table] + ([comparison] if comparison else [])


def q6_comparison(results: dict[str, Any]) -> Table | None:
    points = {p["value"]: p for p in results["sweeps"]["latent_l1"]["points"]}
    l1 = STUDY_BAD_LATENT["l1"]
    if l1 not in points:
        return None
    ours = points[l1]
    rows = [
        [
            "study (reported; Keras loss = MSE + penalty)",
            f"{STUDY_BAD_LATENT['train_loss']:.4f}",
            f"{STUDY_BAD_LATENT['val_loss']:.4f}",
            "–",
        ],
        [
            f"ours, sweep, MSE + penalty (L1 = {l1:g})",
            _ms(ours["train_objective"], ".4f"),
            _ms(ours["val_objective"], ".4f"),
            _ms(ours["auroc"], ".3f"),
        ],
        [
            f"ours, sweep, MSE only (L1 = {l1:g})",
            _ms(ours["train_loss"], ".4f"),
            _ms(ours["val_loss"], ".4f"),
            "",
        ],
    ]
    protocol = results.get("q6_protocol", [])
    if protocol:
        tr = mean_std([final(r, "train_objective") for r in protocol])
        va = mean_std([final(r, "val_objective") for r in protocol])
        rows.append(
            [
                f"ours, the study's protocol, MSE + penalty (L1 = {l1:g})",
                _ms(tr, ".4f"),
                _ms(va, ".4f"),
                _ms(_stat(protocol, "auroc"), ".3f"),
            ]
        )
    if 0.0 in points:
        base = points[0.0]
        rows.append(
            [
                "ours, sweep, no L1",
                _ms(base["train_loss"], ".4f"),
                _ms(base["val_loss"], ".4f"),
                _ms(base["auroc"], ".3f"),
            ]
        )
    frame = pd.DataFrame(rows, columns=["source", "train", "val", "auroc"])
    header = ["", "train loss", "val loss", "test AUROC"]
    return Table("q6_comparison", "Question 6 beside the study's numbers", header, rows, frame)


def baselines_table(results: dict[str, Any]) -> Table:
    """Every baseline's detection on the test set."""
    rows, frame = [], []
    for name, b in results["baselines"].items():
        d = b["detection"]
        rows.append(
            [
                b["label"] + (" ★" if name == results.get("best_bench") else ""),
                f"{b['train_rows']:,}" if "train_rows" in b else "all",
                _det(d, "auroc"),
                _det(d, "auprc"),
                fmt(b["natural"]["auprc"], ".3f"),
                fmt(d["recall_at_fpr_0.01"], ".3f"),
            ]
        )
        frame.append({"baseline": name, "label": b["label"], **d})
    return Table(
        "baselines",
        "Baselines on the study's test set (95% bootstrap CIs; ★ the best bench detector by "
        "test AUPRC, picked on the test set and so flattered by the pick)",
        ["baseline", "training rows", "AUROC", "AUPRC", "AUPRC natural", "recall at 1% FPR"],
        rows,
        pd.DataFrame(frame),
    )
