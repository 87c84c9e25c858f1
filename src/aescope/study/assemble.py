"""All numbers, summaries, baselines and answer texts of a study in one JSON-ready dict.

The report, the tables and the terminal summary are all written from this
dict, never from the trained models directly, so that what they say is what
``results.json`` records.
"""

from __future__ import annotations

import platform
import sys
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from aescope import __version__
from aescope.study import answers as A
from aescope.study.answer_q1 import answer_q1
from aescope.study.answer_q6 import answer_q6
from aescope.study.baselines import best_bench
from aescope.study.linear import pca_size
from aescope.study.networks import network_text, stopping
from aescope.study.runs import StudyData
from aescope.study.summary import METRICS, correlations, point_summary
from aescope.study.sweeps import (
    LOSS_BAR,
    STUDY_BAD_LATENT,
    STUDY_PROTOCOL,
    STUDY_Q1,
    STUDY_TABLE1_VAL_LOSS,
    StudyConfig,
    Sweep,
    train_label,
)

SWEEP_TEXT = {
    "depth": {
        "more_x": "Deeper encoders",
        "subject": "encoder depth",
        "name": "depth",
        "unit": "depths",
    },
    "latent": {
        "more_x": "Wider latent layers",
        "subject": "latent width",
        "name": "latent",
        "unit": "latent widths",
    },
    "latent_l1": {
        "more_x": "Stronger latent L1 penalties",
        "subject": "latent L1",
        "name": "L1",
        "unit": "L1 strengths",
    },
}


def versions() -> dict[str, str]:
    out = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "aescope": __version__,
    }
    for name in ("jax", "jaxlib", "optax", "numpy", "pandas", "scikit-learn", "matplotlib"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def sweep_summary(sweep: Sweep, records: list[dict[str, Any]], n_features: int, seed: int):
    """Per-setting means, rank correlations, the networks and how the runs ended."""
    return {
        "parameter": sweep.parameter,
        "points": point_summary(records),
        "correlations": correlations(records, seed=seed),
        "networks": [
            {
                "value": p.value,
                "label": p.label,
                "network": network_text(p.arch),
                "n_params": p.arch.n_params,
                "pca_components": pca_size(p.arch, n_features),
            }
            for p in sweep.points
        ],
        "stopping": stopping(records),
        "training": train_label(sweep.points[0].config) if sweep.points else "",
    }


def separation_reference(summary: dict[str, Any], baselines: dict[str, Any]) -> str:
    """The linear probe on PCA codes of the same size and on the raw features, for comparison."""
    parts = []
    for net in summary["networks"]:
        b = baselines.get(f"pca_{net['pca_components']}")
        if b and "latent" in b:
            k = net["pca_components"]
            parts.append(f"{b['latent']['probe_auroc']:.3f} on {k} PCA components")
    parts = list(dict.fromkeys(parts))
    raw = baselines["no_model"].get("latent", {}).get("probe_auroc")
    if raw is not None:
        parts.append(f"{raw:.3f} on the input features themselves (no encoder)")
    if not parts:
        return ""
    return "For comparison, the same linear probe scores " + ", ".join(parts) + "."


def assemble(
    config: StudyConfig,
    data: StudyData,
    baselines: dict[str, Any],
    *,
    q1: dict[str, Any],
    plan: list[Sweep],
    sweep_records: dict[str, list[dict[str, Any]]],
    q6_protocol: list[dict[str, Any]],
) -> dict[str, Any]:
    """The results dict: data, configuration, baselines, every run, summaries and answers."""
    summaries = {
        sweep.name: sweep_summary(
            sweep, sweep_records[sweep.name], data.n_features, config.split_seed
        )
        for sweep in plan
    }
    top = best_bench(baselines)
    answers: dict[str, Any] = {
        "q1": answer_q1(
            q1["protocol"],
            q1["runs"],
            baselines,
            LOSS_BAR,
            {**STUDY_PROTOCOL, **STUDY_Q1},
            q1["data"],
            top,
        )
    }
    for q_loss, q_sep, name in (("q2", "q3", "depth"), ("q4", "q5", "latent")):
        if name not in summaries:
            continue
        s = summaries[name]
        text = SWEEP_TEXT[name]
        answers[q_loss] = A.answer_sweep_loss(s["points"], s["correlations"], s["stopping"], **text)
        answers[q_sep] = A.answer_sweep_separation(
            s["points"],
            s["correlations"],
            **text,
            reference=separation_reference(s, baselines),
        )
    if "latent" in summaries:
        table, text = A.answer_q4_table(
            summaries["latent"]["points"], sweep_records["latent"], STUDY_TABLE1_VAL_LOSS
        )
        answers["q4"]["study_table"] = table
        answers["q4"]["paragraphs"].insert(1, text)
        matches = sum(t["verdict"].startswith("matches") for t in table)
        if table:
            answers["q4"]["summary"] += f"; {matches} of {len(table)} rows match the study's table"
    if "latent_l1" in summaries:
        s = summaries["latent_l1"]
        answers["q6"] = answer_q6(
            s["points"],
            sweep_records["latent_l1"],
            s["correlations"],
            baselines,
            STUDY_BAD_LATENT,
            protocol=q6_protocol,
            stopping=s["stopping"],
            sweep_setting=s["training"],
        )
    for q, a in answers.items():
        a["title"] = A.ANSWER_TITLES[q]
        a["text"] = " ".join(a["paragraphs"])
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": versions(),
        "config": config.to_dict(),
        "data": data.describe(),
        "metrics": {
            k: {"label": m.label, "higher_is_better": m.higher_is_better}
            for k, m in METRICS.items()
        },
        "study_reference": {
            "table1_val_loss": STUDY_TABLE1_VAL_LOSS,
            "bad_latent": STUDY_BAD_LATENT,
            "protocol": STUDY_PROTOCOL,
            "q1": STUDY_Q1,
        },
        "loss_bar": LOSS_BAR,
        "baselines": baselines,
        "best_bench": top,
        "answers": answers,
        "q1": q1,
        "q6_protocol": q6_protocol,
        "sweeps": summaries,
        "runs": sweep_records,
    }
