"""The study's tables: one :class:`Table` per view, rendered to Markdown, HTML and CSV.

A table keeps two forms: formatted cells (``mean ± std``) for people and a
full-precision frame for the CSV, so that nothing is lost by rounding.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from aescope.study.answers import fmt
from aescope.study.summary import METRICS, SEPARATION_METRICS, metric_value
from aescope.study.sweeps import STUDY_BAD_LATENT

LOSS_DETECTION_COLUMNS = ("train_loss", "val_loss", "test_loss", "auroc", "auprc", "auprc_natural")
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


def html_table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in table.rows
    )
    caption = html.escape(table.caption)
    return (
        f"<table><caption>{caption}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def _ms(stat: dict[str, float], spec: str) -> str:
    return f"{fmt(stat['mean'], spec)} ± {fmt(stat['std'], spec)}"


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
        header = [summary["parameter"], "seeds", *(METRICS[k].label for k in cols)]
        rows = [
            [f"{p['value']:g}", str(len(p["seeds"]))] + [_ms(p[k], METRICS[k].fmt) for k in cols]
            for p in points
        ]
        what = "losses and detection" if part == "loss_detection" else "latent separation"
        tables.append(
            Table(
                f"sweep_{name}_{part}",
                f"Sweep over {summary['parameter']}: {what} (mean ± std over seeds)",
                header,
                rows,
                frame,
            )
        )
    return tables


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
    for records in ([*results["q1"]["runs"]], *results["runs"].values()):
        for r in records:
            rows.append(
                {
                    "sweep": r["sweep"],
                    "setting": r["label"],
                    "value": r["value"],
                    "seed": r["seed"],
                    "epochs_run": r["epochs_run"],
                    "best_epoch": r["best_epoch"] + 1,
                    "train_seconds": r["train_seconds"],
                    "n_params": r["n_params"],
                    **{k: metric_value(r, k) for k in METRICS},
                    "key": r["key"],
                }
            )
    return pd.DataFrame(rows)


def q1_table(results: dict[str, Any]) -> Table:
    recs = results["q1"]["runs"]
    frame = runs_frame({"q1": {"runs": recs}, "runs": {}})
    rows = [
        [
            r["label"],
            str(r["seed"]),
            f"{r['epochs_run']} ({r['best_epoch'] + 1})",
            fmt(r["train_loss"]),
            fmt(r["val_loss"]),
            fmt(r["test_loss"]),
            "yes" if max(r["train_loss"], r["val_loss"]) <= results["loss_bar"] else "no",
            fmt(r["detection"]["auroc"], ".3f"),
            fmt(r["detection"]["auprc"], ".3f"),
            fmt(r["natural"]["auprc"], ".3f"),
        ]
        for r in recs
    ]
    header = [
        "config",
        "seed",
        "epochs (kept)",
        "train loss",
        "val loss",
        "test loss",
        f"≤ {results['loss_bar']:g}",
        "AUROC",
        "AUPRC",
        "AUPRC natural",
    ]
    return Table("q1_runs", "Question 1: seed-best replicas trained", header, rows, frame)


def q4_table(results: dict[str, Any]) -> Table | None:
    table = results["answers"].get("q4", {}).get("study_table")
    if not table:
        return None
    rows = [
        [
            str(t["latent"]),
            f"{t['study_val_loss']:.4f}",
            f"{fmt(t['our_val_loss_mean'])} ± {fmt(t['our_val_loss_std'])}",
            fmt(t["our_train_loss_mean"]),
        ]
        for t in table
    ]
    header = ["latent", "study: val loss", "ours: val loss (mean ± std)", "ours: train loss"]
    return Table(
        "q4_study_table",
        "Study's Table 1 (seed-table1) beside ours",
        header,
        rows,
        pd.DataFrame(table),
    )


def q6_table(results: dict[str, Any]) -> Table | None:
    points = {p["value"]: p for p in results["sweeps"].get("latent_l1", {}).get("points", [])}
    l1 = STUDY_BAD_LATENT["l1"]
    if l1 not in points:
        return None
    ours = points[l1]
    rows = [
        [
            "study (reported)",
            f"{STUDY_BAD_LATENT['train_loss']:.4f}",
            f"{STUDY_BAD_LATENT['val_loss']:.4f}",
            "separable (figure)",
            "–",
        ],
        [
            f"ours, L1 = {l1:g}",
            _ms(ours["train_loss"], ".4f"),
            _ms(ours["val_loss"], ".4f"),
            _ms(ours["auroc"], ".3f"),
            _ms(ours["dead_share"], ".2f"),
        ],
        [
            f"ours, L1 = {l1:g}, loss + penalty (as Keras reports it)",
            _ms(ours["train_objective"], ".4f"),
            _ms(ours["val_objective"], ".4f"),
            "",
            "",
        ],
    ]
    if 0.0 in points:
        base = points[0.0]
        rows.append(
            [
                "ours, no L1",
                _ms(base["train_loss"], ".4f"),
                _ms(base["val_loss"], ".4f"),
                _ms(base["auroc"], ".3f"),
                _ms(base["dead_share"], ".2f"),
            ]
        )
    frame = pd.DataFrame(rows, columns=["source", "train", "val", "auroc", "dead_share"])
    header = ["", "train loss", "val loss", "test AUROC", "dead latent units"]
    return Table("q6_comparison", "Question 6 beside the study's numbers", header, rows, frame)
