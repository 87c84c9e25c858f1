"""Question 6: a strong L1 on the latent layer, and whether the network has collapsed.

A network that outputs the training mean has errors equal to the no-model
score, which already separates fraud (AUROC ≈ 0.95 on credit cards). So
"the errors still separate the classes" says nothing about the latent space
unless the network does better than no model. A setting counts as *collapsed*
when the network removes less than :data:`COLLAPSE_SHARE` of no model's
training loss; the answer then says so, with the rank correlation of its
errors with the no-model score and its AUPRC beside no model's.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from aescope.study.answers import ci, fmt, ms, relationship, signed, stopping_sentence
from aescope.study.stats import mean_std

COLLAPSE_SHARE = 0.01
"""A run is collapsed when 1 − train loss / no model's train loss is below this."""

Record = Mapping[str, Any]


def collapsed(r: Record) -> bool:
    return r["explained"] is not None and r["explained"] < COLLAPSE_SHARE


def final(r: Record, key: str) -> float:
    """A history value at the last epoch (the weights a run without early stopping keeps)."""
    values = r["history"][key]
    return float(values[-1]) if values else float("nan")


def _ms(values: Sequence[float], spec: str = ".4f") -> str:
    s = mean_std(values)
    return f"{fmt(s['mean'], spec)} ± {fmt(s['std'], spec)}"


def collapse_paragraph(
    row: Mapping[str, Any], records: Sequence[Record], baselines: Mapping[str, Any], l1: float
) -> str:
    """The study's L1: collapsed or not, in numbers against no model."""
    none = baselines["no_model"]
    k = sum(collapsed(r) for r in records)
    gain = row["auprc_gain"]
    lows = [r["vs_no_model"]["auprc_delta_ci_low"] for r in records]
    highs = [r["vs_no_model"]["auprc_delta_ci_high"] for r in records]
    evidence = (
        f"train loss {ms(row['train_loss'])} against no model's {fmt(none['train_loss'])} "
        f"(it removes {ms(row['explained'], '.3f')} of that loss), its test errors rank the "
        f"rows as the no-model score does (Spearman {ms(row['rank_corr_no_model'], '.3f')}), "
        f"and its AUPRC {ms(row['auprc'], '.3f')} against no model's "
        f"{fmt(none['detection']['auprc'], '.3f')}: a gain of {signed(gain['mean'])} ± "
        f"{fmt(gain['std'], '.3f')} (seeds' paired 95% CIs within {ci(min(lows), max(highs))})"
    )
    if k == len(records):
        return (
            f"At the study's L1 = {l1:g} the network has collapsed to the no-model score in all "
            f"{k} seeds: {evidence}. Its errors separate frauds only as well as no model does — "
            "the latent space carries nothing."
        )
    if k:
        return (
            f"At the study's L1 = {l1:g}, {k} of {len(records)} seeds collapsed to the no-model "
            f"score; over all seeds: {evidence}."
        )
    return f"At the study's L1 = {l1:g} the network has not collapsed: {evidence}."


def sweep_paragraph(
    rows: Sequence[Mapping[str, Any]],
    records: Sequence[Record],
    corr: Mapping[str, Mapping[str, Any]],
    stopping: Mapping[str, Any],
    l1: float,
) -> str:
    """Which L1 values collapse, and what the penalty does to the latent layer."""
    by = {r["value"]: r for r in rows}
    counts = {v: sum(collapsed(r) for r in records if r["value"] == v) for v in by}
    seeds = {v: sum(1 for r in records if r["value"] == v) for v in by}
    down = [f"{v:g} ({counts[v]} of {seeds[v]} seeds)" for v in by if counts[v]]
    text = (
        "Collapsed: L1 = " + ", ".join(down) + "." if down else "No L1 setting collapsed."
    ) + " "
    bad, base = by.get(l1), by.get(0.0)
    if bad is not None and base is not None:
        text += (
            f"At L1 = {l1:g} {ms(bad['dead_share'], '.0%')} of latent units are dead "
            f"(without L1: {ms(base['dead_share'], '.0%')}), the effective latent dimension is "
            f"{ms(bad['effective_dim'], '.2f')} (without: {ms(base['effective_dim'], '.2f')}) and "
            f"the latent linear-probe AUROC {ms(bad['probe_auroc'], '.3f')} (without: "
            f"{ms(base['probe_auroc'], '.3f')}). "
        )
    n = len(rows)
    design = f"{n} L1 strengths × {len(records) // max(n, 1)} seeds"
    more = "Stronger latent L1 penalties"
    text += (
        "Across the sweep: "
        + relationship(more, "latent L1", "val_loss", corr["val_loss"], design)
        + " "
        + relationship(more, "latent L1", "auprc_gain", corr["auprc_gain"], design)
        + " "
        + stopping_sentence(stopping)
    )
    return text


def bracket(rows: Sequence[Mapping[str, Any]], target: float, key: str) -> tuple[str, float]:
    """Between which adjacent L1 values our ``key`` crosses ``target`` (text, upper L1)."""
    for a, b in itertools.pairwise(rows):
        lo, hi = sorted((a[key]["mean"], b[key]["mean"]))
        if lo <= target <= hi:
            text = (
                f"between L1 = {a['value']:g} ({fmt(a[key]['mean'])}) and {b['value']:g} "
                f"({fmt(b[key]['mean'])})"
            )
            return text, b["value"]
    return "", float("nan")


def _where(value: float, runs: Sequence[float]) -> str:
    lo, hi = min(runs), max(runs)
    if lo <= value <= hi:
        return f"within the range of our runs ({fmt(lo)}–{fmt(hi)})"
    return f"{'above' if value > hi else 'below'} all our runs ({fmt(lo)}–{fmt(hi)})"


def discrepancy_paragraph(
    rows: Sequence[Mapping[str, Any]],
    records: Sequence[Record],
    protocol: Sequence[Record],
    study: Mapping[str, float],
    sweep_setting: str,
) -> str:
    """Why our L1 = 0.1 losses differ from the study's, answered by the runs that test it.

    Three measurements, each a possible cause: the penalty in the loss (Keras
    reports loss + penalty; so do we here), the training setting (the same
    network trained exactly as the study did), and the validation rows (the
    study's validation/training ratio against ours, with the latest rows
    validating as in the study). Each verdict follows from where the study's
    number falls among ours.
    """
    l1 = study["l1"]
    T, V = study["train_loss"], study["val_loss"]
    mine = [r for r in records if r["value"] == l1]
    if not mine:
        return ""
    tr = [metric_at_best(r, "train_objective") for r in mine]
    va = [metric_at_best(r, "val_objective") for r in mine]
    k = sum(collapsed(r) for r in mine)
    text = (
        f"The study reported train {T:g} / validation {V:g} at L1 = {l1:g}, as Keras reports "
        f"loss: reconstruction plus penalty. Ours, measured the same way: our sweep "
        f"({sweep_setting}) train {_ms(tr)} / validation {_ms(va)}, {k} of {len(mine)} seeds "
        "collapsed"
    )
    ratios = {"on our split": [v / t for v, t in zip(va, tr, strict=True) if t > 0]}
    if protocol:
        ptr = [final(r, "train_objective") for r in protocol]
        pva = [final(r, "val_objective") for r in protocol]
        kp = sum(collapsed(r) for r in protocol)
        text += (
            f"; the same network trained exactly as the study trained it (batch 64, lr 0.001, "
            f"{protocol[0]['epochs_run']} epochs, the last 20% of rows validating, the last "
            f"epoch's weights) train {_ms(ptr)} / validation {_ms(pva)}, {kp} of "
            f"{len(protocol)} seeds collapsed"
        )
        tr, va = tr + ptr, va + pva
        ratios["with the latest 20% of rows validating"] = [
            v / t for v, t in zip(pva, ptr, strict=True) if t > 0
        ]
        if bool(k) != bool(kp):
            setting = "our sweep" if k else "the study's protocol"
            text += f". Collapse here depends on the training setting: only {setting} collapses"
    text += f". The study's training loss lies {_where(T, tr)}"
    text += f"; its validation loss lies {_where(V, va)}. "
    parts = "; ".join(f"{_ms(v, '.2f')}× {where}" for where, v in ratios.items() if v)
    text += f"Its validation loss is {V / T:.2f}× its training loss; ours {parts}"
    study_ratio = V / T
    best_ratio = max((sum(v) / len(v) for v in ratios.values() if v), default=float("nan"))
    if best_ratio >= 0.8 * study_ratio:
        text += ": validating on the latest rows accounts for the gap."
    else:
        text += (
            ": the gap is in the validation rows, not in the network, and time order alone "
            "does not explain it."
        )
    where, upper = bracket(rows, V, "val_objective")
    if where:
        stronger = upper > l1
        text += (
            f" In our sweep, the study's validation loss {V:g} lies {where}, as a "
            f"{'stronger' if stronger else 'weaker'} penalty than L1 = {l1:g} would give."
        )
    return text


def metric_at_best(r: Record, key: str) -> float:
    """A history value at the kept (best) epoch."""
    values, best = r["history"][key], r.get("best_epoch", -1)
    return float(values[best]) if 0 <= best < len(values) else float("nan")


def answer_q6(
    rows: Sequence[Mapping[str, Any]],
    records: Sequence[Record],
    corr: Mapping[str, Mapping[str, Any]],
    baselines: Mapping[str, Any],
    study: Mapping[str, float],
    *,
    protocol: Sequence[Record] = (),
    stopping: Mapping[str, Any],
    sweep_setting: str = "",
) -> dict[str, Any]:
    by = {r["value"]: r for r in rows}
    l1 = study["l1"]
    bad = by.get(l1)
    if bad is None:
        text = f"The L1 sweep did not include the study's {l1:g}; no comparison is possible."
        return {"summary": text, "key": "n/a", "key_note": "", "paragraphs": [text]}
    mine = [r for r in records if r["value"] == l1]
    k = sum(collapsed(r) for r in mine)
    paragraphs = [
        collapse_paragraph(bad, mine, baselines, l1),
        sweep_paragraph(rows, records, corr, stopping, l1),
        discrepancy_paragraph(rows, records, protocol, study, sweep_setting),
    ]
    gain = bad["auprc_gain"]
    if k == len(mine):
        summary = f"At L1 = {l1:g} the network collapses to the no-model score ({k} of {k} seeds)"
    elif k:
        summary = f"At L1 = {l1:g}, {k} of {len(mine)} seeds collapse to the no-model score"
    else:
        summary = (
            f"At L1 = {l1:g} the network does not collapse (AUPRC {signed(gain['mean'])} over "
            "no model)"
        )
    others = [
        f"{v:g}" for v in by if v != l1 and any(collapsed(r) for r in records if r["value"] == v)
    ]
    if others:
        summary += f"; it collapses at L1 = {', '.join(others)}"
    return {
        "summary": summary,
        "key": f"AUPRC gain over no model at L1 = {l1:g}: {signed(gain['mean'])} ± "
        f"{fmt(gain['std'], '.3f')}",
        "key_note": "mean ± std over seeds",
        "paragraphs": paragraphs,
        "collapsed": {f"{v:g}": sum(collapsed(r) for r in records if r["value"] == v) for v in by},
    }
