"""The six answers, written from the measured numbers.

Nothing here is a canned conclusion: every verb ("lower", "higher", "no clear
relationship", "holds up", "collapses") is chosen from the sign of an effect
and whether its interval excludes zero, so the text changes when the numbers do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from aescope.study.summary import METRICS, SEPARATION_METRICS

ANSWER_TITLES = {
    "q1": "1. An autoencoder with loss ≤ 0.01 on training and validation data",
    "q2": "2. Depth and final loss",
    "q3": "3. Depth and latent separation",
    "q4": "4. Latent size and final loss",
    "q5": "5. Latent size and latent separation",
    "q6": "6. A forced bad latent space (strong L1 on the latent layer)",
}


def fmt(value: float, spec: str = ".4f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return format(value, spec).replace("-", "−")


def ms(stat: Mapping[str, float], spec: str = ".4f") -> str:
    """``mean ± std`` of a :func:`aescope.study.stats.mean_std` dict."""
    return f"{fmt(stat['mean'], spec)} ± {fmt(stat['std'], spec)}"


def rho_text(c: Mapping[str, Any]) -> str:
    pct = round(100 * c.get("confidence", 0.95))
    interval = f"[{pct}% CI {fmt(c['ci_low'], '.2f')}, {fmt(c['ci_high'], '.2f')}]"
    return f"Spearman ρ = {fmt(c['rho'], '.2f')} {interval}"


def strength(rho: float) -> str:
    r = abs(rho)
    return "strong" if r >= 0.7 else "moderate" if r >= 0.4 else "weak"


def is_clear(c: Mapping[str, Any]) -> bool:
    """True when the interval excludes zero (and exists)."""
    lo, hi = c["ci_low"], c["ci_high"]
    if any(v is None or math.isnan(v) for v in (c["rho"], lo, hi)):
        return False
    return lo > 0 or hi < 0


def relationship(
    more_x: str,
    subject: str,
    metric: str,
    c: Mapping[str, Any],
    design: str,
) -> str:
    """One sentence: direction + strength if the CI excludes 0, else 'no clear relationship'."""
    m = METRICS[metric]
    label = m.label
    tail = f"{rho_text(c)} over {c['n']} models ({design})"
    if c["rho"] is None or math.isnan(c["rho"]):
        return (
            f"{label} does not vary with {subject}, so no correlation can be measured ({design})."
        )
    if not is_clear(c):
        return (
            f"No clear relationship between {subject} and {label}: {tail}; the interval includes 0."
        )
    up = c["rho"] > 0
    better = up == m.higher_is_better
    return (
        f"{more_x} go with {'higher' if up else 'lower'} {label}, a {strength(c['rho'])} "
        f"{'improvement' if better else 'deterioration'}: {tail}."
    )


def trend(rows: Sequence[Mapping[str, Any]], metric: str, name: str) -> str:
    """'Mean X: a ± s at v0, ..., z ± s at vN.' over the settings in order."""
    spec = METRICS[metric].fmt
    parts = [f"{ms(r[metric], spec)} at {name} {r['value']:g}" for r in rows]
    return f"Mean {METRICS[metric].label} (± std over seeds): " + "; ".join(parts) + "."


def shape(rows: Sequence[Mapping[str, Any]], metric: str, name: str) -> str:
    """'' unless the best mean lies strictly inside the range of settings; then where.

    A rank correlation summarises a trend; a U-shape (e.g. loss falls from depth 1
    to 2 and rises after) would hide behind a modest rho, so it is said outright.
    """
    means = [r[metric]["mean"] for r in rows]
    if len(means) < 3 or any(math.isnan(v) for v in means):
        return ""
    m = METRICS[metric]
    sign = 1 if m.higher_is_better else -1
    i = max(range(len(rows)), key=lambda k: sign * means[k])
    if i in (0, len(rows) - 1):
        return ""
    best = rows[i]
    return (
        f"The trend is not monotone: the best {m.label} is at {name} {best['value']:g} "
        f"({fmt(best[metric]['mean'], m.fmt)}), inside the range tried."
    )


def _design(rows: Sequence[Mapping[str, Any]], unit: str) -> str:
    seeds = {len(r["seeds"]) for r in rows}
    per = f"{seeds.pop()} seeds" if len(seeds) == 1 else "varying seeds"
    return f"{len(rows)} {unit} × {per}"


def answer_q1(records: Sequence[Mapping[str, Any]], bar: float) -> dict[str, Any]:
    """Which trained seed-best replicas met the bar, and the one chosen for the figures."""

    def worst(r: Mapping[str, Any]) -> float:
        return max(r["train_loss"], r["val_loss"])

    met = [r for r in records if worst(r) <= bar]
    pool = met or list(records)
    best = min(pool, key=lambda r: (worst(r), r["val_loss"]))
    tried = list(dict.fromkeys(r["label"] for r in records))  # in the order tried
    det = best["detection"]
    where = (
        f"{best['arch'].get('name') or 'seed-best'} ({best['label']}, seed {best['seed']}, "
        f"{best['epochs_run']} epochs, weights of epoch {best['best_epoch'] + 1})"
    )
    losses = (
        f"train {fmt(best['train_loss'])}, validation {fmt(best['val_loss'])}, "
        f"test {fmt(best['test_loss'])}"
    )
    quality = (
        f"Detection on the test set: AUROC {fmt(det['auroc'], '.3f')} "
        f"[{fmt(det['auroc_ci_low'], '.3f')}, {fmt(det['auroc_ci_high'], '.3f')}], "
        f"AUPRC {fmt(det['auprc'], '.3f')}; at natural prevalence AUPRC "
        f"{fmt(best['natural']['auprc'], '.3f')}."
    )
    if met:
        text = (
            f"Found: {len(met)} of {len(records)} trained replicas reach loss ≤ {bar:g} on both "
            f"training and validation data. Best: {where}: {losses}. {quality}"
        )
    else:
        text = (
            f"Not found within the budget: none of {len(records)} replicas ({', '.join(tried)}) "
            f"reached loss ≤ {bar:g} on both sets. Closest: {where}: {losses}. {quality}"
        )
    return {"text": text, "met": bool(met), "chosen_key": best["key"], "n_met": len(met)}


def answer_loss(
    rows: Sequence[Mapping[str, Any]],
    corr: Mapping[str, Mapping[str, Any]],
    *,
    more_x: str,
    subject: str,
    name: str,
    unit: str,
    budget: str = "",
) -> str:
    design = _design(rows, unit)
    parts = [
        relationship(more_x, subject, "val_loss", corr["val_loss"], design),
        trend(rows, "val_loss", name),
        shape(rows, "val_loss", name),
        relationship(more_x, subject, "train_loss", corr["train_loss"], design),
    ]
    if budget:
        parts.append(
            f"These are losses reached within the budget ({budget}), not converged minima."
        )
    return " ".join(p for p in parts if p)


def answer_separation(
    rows: Sequence[Mapping[str, Any]],
    corr: Mapping[str, Mapping[str, Any]],
    *,
    more_x: str,
    subject: str,
    name: str,
    unit: str,
) -> str:
    design = _design(rows, unit)
    head = relationship(more_x, subject, "probe_auroc", corr["probe_auroc"], design)
    others = "; ".join(
        f"{METRICS[k].label}: ρ = {fmt(corr[k]['rho'], '.2f')} "
        f"[{fmt(corr[k]['ci_low'], '.2f')}, {fmt(corr[k]['ci_high'], '.2f')}]"
        + ("" if is_clear(corr[k]) else " (unclear)")
        for k in SEPARATION_METRICS
        if k != "probe_auroc"
    )
    parts = [head, trend(rows, "probe_auroc", name), shape(rows, "probe_auroc", name)]
    return " ".join(p for p in parts if p) + f" Other measures — {others}."


def answer_q4_table(
    rows: Sequence[Mapping[str, Any]], study: Mapping[int, float]
) -> tuple[list[dict[str, Any]], str]:
    """Our validation loss beside the study's, and whether the ordering agrees."""
    table = []
    for r in rows:
        if r["value"] in study:
            table.append(
                {
                    "latent": int(r["value"]),
                    "study_val_loss": study[r["value"]],
                    "our_val_loss_mean": r["val_loss"]["mean"],
                    "our_val_loss_std": r["val_loss"]["std"],
                    "our_train_loss_mean": r["train_loss"]["mean"],
                }
            )
    if len(table) < 2:
        return table, "Too few of the study's latent widths were trained to compare with its table."
    ours = [t["our_val_loss_mean"] for t in table]
    theirs = [t["study_val_loss"] for t in table]
    agree = all(
        (a2 - a1) * (b2 - b1) > 0
        for (a1, a2, b1, b2) in zip(ours, ours[1:], theirs, theirs[1:], strict=False)
    )
    pairs = "; ".join(
        f"latent {t['latent']}: {fmt(t['our_val_loss_mean'])} vs {fmt(t['study_val_loss'])}"
        for t in table
    )
    ratio = [a / b for a, b in zip(ours, theirs, strict=True)]
    verdict = (
        "the ordering matches the study's" if agree else "the ordering differs from the study's"
    )
    text = (
        f"Study table reproduced on seed-table1 (ours vs study, validation loss): {pairs}; "
        f"{verdict}, with our values {fmt(min(ratio), '.2f')}–{fmt(max(ratio), '.2f')}× the "
        "study's."
    )
    return table, text


def answer_q6(
    rows: Sequence[Mapping[str, Any]],
    corr: Mapping[str, Mapping[str, Any]],
    study: Mapping[str, float],
) -> str:
    """The study's L1 against no L1: loss, dead units, and whether errors still separate."""
    by_value = {r["value"]: r for r in rows}
    target = study["l1"]
    bad = by_value.get(target)
    base = by_value.get(0.0)
    if bad is None or base is None:
        return (
            f"The L1 sweep did not include both 0 and the study's {target:g}; "
            "no comparison is possible."
        )
    design = _design(rows, "L1 strengths")
    auc_bad, auc_base = bad["auroc"]["mean"], base["auroc"]["mean"]
    if auc_bad < 0.6:
        verdict = "collapses to near chance"
    elif auc_bad < auc_base - 0.02:
        verdict = "degrades but the errors remain separable"
    else:
        verdict = "holds up: the errors still separate the classes"
    agree = "consistent with" if auc_bad >= 0.8 else "unlike"
    return (
        f"With activity L1 = {target:g} on the latent layer the losses are train "
        f"{ms(bad['train_loss'])} / validation {ms(bad['val_loss'])} against "
        f"{ms(base['train_loss'])} / {ms(base['val_loss'])} without L1; with the penalty "
        f"included, as Keras reports loss, train {ms(bad['train_objective'])} / validation "
        f"{ms(bad['val_objective'])} (the study reported {study['train_loss']:g} / "
        f"{study['val_loss']:g}). "
        f"The penalty leaves {ms(bad['dead_share'], '.0%')} of latent units dead "
        f"(without L1: {ms(base['dead_share'], '.0%')}) and an effective latent dimension of "
        f"{ms(bad['effective_dim'], '.2f')} (without: {ms(base['effective_dim'], '.2f')}); "
        f"the latent linear-probe AUROC is {ms(bad['probe_auroc'], '.3f')} "
        f"(without: {ms(base['probe_auroc'], '.3f')}). "
        f"Anomaly discrimination by reconstruction error {verdict}: test AUROC "
        f"{ms(bad['auroc'], '.3f')} vs {ms(base['auroc'], '.3f')}, AUPRC "
        f"{ms(bad['auprc'], '.3f')} vs {ms(base['auprc'], '.3f')} — {agree} the study's "
        "observation that the errors stayed separable. Across the whole sweep: "
        + relationship(
            "Stronger latent L1 penalties", "latent L1", "val_loss", corr["val_loss"], design
        )
        + " "
        + relationship("Stronger latent L1 penalties", "latent L1", "auroc", corr["auroc"], design)
    )
