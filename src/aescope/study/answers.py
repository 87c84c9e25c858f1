"""The answers to questions 2-5, written from the measured numbers; shared wording helpers.

Nothing here is a canned conclusion: every verb ("falls", "rises", "no clear
relationship") is chosen from the sign of an effect and whether it exceeds
the seeds' spread, so the text changes when the numbers do. An answer is a
dict: ``summary`` (one line for the table at the top), ``key`` (the number
that carries it, with its interval), ``paragraphs`` (the section's text).

A sweep's answer leads with its *steps*: each change between adjacent
settings, called clear when it exceeds twice the seeds' spread of the
difference, 2·sqrt(s₁² + s₂²). A rank correlation over a whole sweep would
report a single step (depth 1 to 2, say) as a trend; the steps say where the
change is. Spearman's ρ follows as a summary.
"""

from __future__ import annotations

import itertools
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

STEP_FACTOR = 2.0
"""A step is clear when |difference of means| > this × sqrt(s₁² + s₂²) (seeds' std)."""


def fmt(value: float | None, spec: str = ".4f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return format(value, spec).replace("-", "−")


def signed(value: float | None, spec: str = ".3f") -> str:
    """``+0.123`` / ``−0.045``: a difference, with its sign always shown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return ("+" if value >= 0 else "") + fmt(value, spec)


def ms(stat: Mapping[str, float], spec: str = ".4f") -> str:
    """``mean ± std`` of a :func:`aescope.study.stats.mean_std` dict."""
    return f"{fmt(stat['mean'], spec)} ± {fmt(stat['std'], spec)}"


def ci(low: float | None, high: float | None, spec: str = ".3f") -> str:
    return f"[{fmt(low, spec)}, {fmt(high, spec)}]"


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


def relationship(more_x: str, subject: str, metric: str, c: Mapping[str, Any], design: str) -> str:
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


def steps(rows: Sequence[Mapping[str, Any]], metric: str) -> list[dict[str, Any]]:
    """Each change between adjacent settings, and whether it exceeds the seeds' spread."""
    out = []
    for a, b in itertools.pairwise(rows):
        delta = b[metric]["mean"] - a[metric]["mean"]
        noise = STEP_FACTOR * math.hypot(a[metric]["std"], b[metric]["std"])
        out.append(
            {
                "from": a["value"],
                "to": b["value"],
                "from_mean": a[metric]["mean"],
                "to_mean": b[metric]["mean"],
                "delta": delta,
                "clear": bool(abs(delta) > noise),
            }
        )
    return out


def step_sentence(rows: Sequence[Mapping[str, Any]], metric: str, name: str, unit: str) -> str:
    """'X falls from a at depth 1 to b at depth 2; the other steps ... are within the spread.'"""
    m = METRICS[metric]
    found = steps(rows, metric)
    if not found:
        return ""
    clear = [s for s in found if s["clear"]]
    lo = min(r[metric]["mean"] for r in rows)
    hi = max(r[metric]["mean"] for r in rows)
    if not clear:
        return (
            f"No step between adjacent {unit} changes {m.label} by more than twice the seeds' "
            f"spread: the means stay between {fmt(lo, m.fmt)} and {fmt(hi, m.fmt)}."
        )
    parts = [
        f"{'rises' if s['delta'] > 0 else 'falls'} from {fmt(s['from_mean'], m.fmt)} at {name} "
        f"{s['from']:g} to {fmt(s['to_mean'], m.fmt)} at {name} {s['to']:g}"
        for s in clear
    ]
    text = f"{m.label[:1].upper()}{m.label[1:]} " + "; ".join(parts)
    rest = [s for s in found if not s["clear"]]
    if rest:
        pairs = ", ".join(f"{s['from']:g}→{s['to']:g}" for s in rest)
        text += f"; the other steps ({name} {pairs}) are within twice the seeds' spread"
    return text + "."


def step_summary(rows: Sequence[Mapping[str, Any]], metric: str, name: str) -> str:
    """The one-line form of :func:`step_sentence` for the summary table."""
    m = METRICS[metric]
    found = steps(rows, metric)
    clear = [s for s in found if s["clear"]]
    if not found:
        return "one setting only"
    if not clear:
        return f"no clear change in {m.label} across the {name} values tried"
    label = f"{m.label[:1].upper()}{m.label[1:]}"
    if len(clear) > 1 and len({s["delta"] > 0 for s in clear}) == 1:  # one direction
        first, last = clear[0], clear[-1]
        verb = "rises" if first["delta"] > 0 else "falls"
        return (
            f"{label} {verb} from {fmt(first['from_mean'], m.fmt)} ({name} {first['from']:g}) "
            f"to {fmt(last['to_mean'], m.fmt)} ({name} {last['to']:g}); {len(clear)} of "
            f"{len(found)} steps clear"
        )
    biggest = max(clear, key=lambda s: abs(s["delta"]))
    verb = "rises" if biggest["delta"] > 0 else "falls"
    text = (
        f"{label} {verb} from {fmt(biggest['from_mean'], m.fmt)} "
        f"({name} {biggest['from']:g}) to {fmt(biggest['to_mean'], m.fmt)} "
        f"({name} {biggest['to']:g})"
    )
    others = len(clear) - 1
    if others:
        return text + f"; {others} other clear step{'s' if others > 1 else ''}"
    return text + ("; no other clear step" if len(found) > 1 else "")


def trend(rows: Sequence[Mapping[str, Any]], metric: str, name: str) -> str:
    """'Mean X: a ± s at v0, ..., z ± s at vN.' over the settings in order."""
    spec = METRICS[metric].fmt
    parts = [f"{ms(r[metric], spec)} at {name} {r['value']:g}" for r in rows]
    return f"Mean {METRICS[metric].label} (± std over seeds): " + "; ".join(parts) + "."


def best_row(rows: Sequence[Mapping[str, Any]], metric: str) -> Mapping[str, Any]:
    sign = 1 if METRICS[metric].higher_is_better else -1
    return max(rows, key=lambda r: sign * r[metric]["mean"])


def design(rows: Sequence[Mapping[str, Any]], unit: str) -> str:
    seeds = {len(r["seeds"]) for r in rows}
    per = f"{seeds.pop()} seeds" if len(seeds) == 1 else "varying seeds"
    return f"{len(rows)} {unit} × {per}"


def stopping_sentence(stopping: Mapping[str, Any]) -> str:
    """How the sweep's runs ended: early stopping or the epoch ceiling."""
    early, ceiling, total = stopping["early_stopped"], stopping["ceiling"], stopping["runs"]
    lo, hi = stopping["epochs_min"], stopping["epochs_max"]
    text = (
        f"{early} of {total} runs stopped by early stopping on validation loss "
        f"(patience {stopping['patience']}), {ceiling} reached the {stopping['max_epochs']}-"
        f"epoch ceiling; runs lasted {lo}–{hi} epochs."
    )
    if ceiling:
        text += " Runs at the ceiling were still improving: their losses are not converged minima."
    return text


def baseline_sentence(row: Mapping[str, Any], baselines: Mapping[str, Any], pca: str) -> str:
    """'The AE adds X AUPRC over no model and Y over PCA-k (paired bootstrap, mean over seeds).'"""
    no_model = baselines["no_model"]["detection"]["auprc"]
    lin = baselines.get(pca, {}).get("detection", {}).get("auprc")
    gain, gain_pca = row["auprc_gain"], row["auprc_gain_pca"]
    text = (
        f"Test AUPRC {ms(row['auprc'], '.3f')}: the AE adds {signed(gain['mean'])} ± "
        f"{fmt(gain['std'], '.3f')} AUPRC over no model ({fmt(no_model, '.3f')})"
    )
    if lin is not None:
        text += (
            f" and {signed(gain_pca['mean'])} ± {fmt(gain_pca['std'], '.3f')} over "
            f"{baselines[pca]['label']} ({fmt(lin, '.3f')})"
        )
    return text + " (mean ± std over seeds of the paired differences)."


def answer_sweep_loss(
    rows: Sequence[Mapping[str, Any]],
    corr: Mapping[str, Mapping[str, Any]],
    stopping: Mapping[str, Any],
    *,
    more_x: str,
    subject: str,
    name: str,
    unit: str,
) -> dict[str, Any]:
    """Questions 2 and 4: where the validation loss changes, then the rank summary."""
    best = best_row(rows, "val_loss")
    paragraphs = [
        step_sentence(rows, "val_loss", name, unit) + " " + stopping_sentence(stopping),
        trend(rows, "val_loss", name)
        + " Over the whole sweep: "
        + relationship(more_x, subject, "val_loss", corr["val_loss"], design(rows, unit))
        + " "
        + relationship(more_x, subject, "train_loss", corr["train_loss"], design(rows, unit)),
    ]
    return {
        "summary": step_summary(rows, "val_loss", name),
        "key": f"best: {name} {best['value']:g}, validation loss {ms(best['val_loss'])}",
        "key_note": "mean ± std over seeds",
        "paragraphs": [p for p in paragraphs if p.strip()],
    }


def answer_sweep_separation(
    rows: Sequence[Mapping[str, Any]],
    corr: Mapping[str, Mapping[str, Any]],
    *,
    more_x: str,
    subject: str,
    name: str,
    unit: str,
    reference: str = "",
) -> dict[str, Any]:
    """Questions 3 and 5: the linear probe's steps, then every separation measure's ρ."""
    others = "; ".join(
        f"{METRICS[k].label}: ρ = {fmt(corr[k]['rho'], '.2f')} "
        f"[{fmt(corr[k]['ci_low'], '.2f')}, {fmt(corr[k]['ci_high'], '.2f')}]"
        + ("" if is_clear(corr[k]) else " (unclear)")
        for k in SEPARATION_METRICS
        if k != "probe_auroc"
    )
    best = best_row(rows, "probe_auroc")
    paragraphs = [
        step_sentence(rows, "probe_auroc", name, unit) + (" " + reference if reference else ""),
        trend(rows, "probe_auroc", name)
        + " "
        + relationship(more_x, subject, "probe_auroc", corr["probe_auroc"], design(rows, unit))
        + f" Other measures — {others}.",
    ]
    return {
        "summary": step_summary(rows, "probe_auroc", name),
        "key": f"best: {name} {best['value']:g}, linear-probe AUROC "
        f"{ms(best['probe_auroc'], '.3f')}",
        "key_note": "mean ± std over seeds",
        "paragraphs": [p for p in paragraphs if p.strip()],
    }


def q4_verdict(study: float, ours: Sequence[float]) -> str:
    """Where the study's value lies against our seeds: inside their range, or how far off."""
    lo, hi = min(ours), max(ours)
    mean = sum(ours) / len(ours)
    if lo <= study <= hi:
        return "matches (inside our seeds' range)"
    ratio = mean / study
    return f"ours {'higher' if ratio > 1 else 'lower'} ({fmt(ratio, '.2f')}× the study's)"


def answer_q4_table(
    rows: Sequence[Mapping[str, Any]],
    records: Sequence[Mapping[str, Any]],
    study: Mapping[int, float],
) -> tuple[list[dict[str, Any]], str]:
    """Our validation loss beside the study's Table 1, a verdict per row, and the ordering."""
    table = []
    for r in rows:
        if r["value"] not in study:
            continue
        ours = [x["val_loss"] for x in records if x["value"] == r["value"]]
        table.append(
            {
                "latent": int(r["value"]),
                "study_val_loss": study[r["value"]],
                "our_val_loss_mean": r["val_loss"]["mean"],
                "our_val_loss_std": r["val_loss"]["std"],
                "our_val_loss_min": min(ours),
                "our_val_loss_max": max(ours),
                "our_train_loss_mean": r["train_loss"]["mean"],
                "verdict": q4_verdict(study[r["value"]], ours),
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
    matches = sum(t["verdict"].startswith("matches") for t in table)
    verdict = "the ordering matches" if agree else "the ordering differs from"
    text = (
        f"Beside the study's Table 1 (same network, its fully trained values): {matches} of "
        f"{len(table)} widths match within our seeds' range; {verdict} the study's. "
        + "; ".join(
            f"latent {t['latent']}: {fmt(t['our_val_loss_mean'])} vs {fmt(t['study_val_loss'])}, "
            f"{t['verdict']}"
            for t in table
        )
        + "."
    )
    return table, text
