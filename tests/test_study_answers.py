"""The answers are written from the numbers: change the numbers and the text changes."""

from __future__ import annotations

import numpy as np

from aescope.study.answer_q1 import answer_q1
from aescope.study.answer_q6 import answer_q6, collapsed
from aescope.study.answers import (
    answer_q4_table,
    answer_sweep_loss,
    answer_sweep_separation,
    q4_verdict,
    relationship,
    step_sentence,
    steps,
)
from aescope.study.networks import stopping
from aescope.study.summary import correlations, point_summary

DEPTH_TEXT = {
    "more_x": "Deeper encoders",
    "subject": "encoder depth",
    "name": "depth",
    "unit": "depths",
}
DELTA = {
    "auroc_delta": 0.0,
    "auprc_delta": 0.05,
    "auroc_delta_ci_low": -0.01,
    "auroc_delta_ci_high": 0.01,
    "auprc_delta_ci_low": 0.02,
    "auprc_delta_ci_high": 0.08,
}
BASELINES = {
    "no_model": {
        "label": "no model",
        "train_loss": 1.0,
        "val_loss": 0.99,
        "accuracy_test": 0.1,
        "detection": {"auroc": 0.95, "auprc": 0.6, "auprc_ci_low": 0.55, "auprc_ci_high": 0.65},
        "natural": {"auprc": 0.3},
    },
    "pca_24": {
        "label": "PCA, 24 components (linear AE)",
        "val_loss": 0.1,
        "accuracy_test": 0.5,
        "detection": {"auroc": 0.94, "auprc": 0.7},
    },
    "lof": {
        "label": "LOF (novelty)",
        "kind": "bench",
        "train_rows": 10000,
        "detection": {"auroc": 0.95, "auprc": 0.8, "auprc_ci_low": 0.75, "auprc_ci_high": 0.85},
    },
}


def record(value, seed, *, val_loss, auroc=0.95, probe=0.9, dead=0.0, train_loss=None, **extra):
    rng = np.random.default_rng(seed)
    jitter = 1 + 0.01 * rng.normal()
    train = (train_loss if train_loss is not None else val_loss) * jitter
    return {
        "value": value,
        "label": f"setting {value}",
        "sweep": "test",
        "seed": seed,
        "key": f"k{value}-{seed}",
        "train_loss": train,
        "val_loss": val_loss * jitter,
        "test_loss": val_loss * 2,
        "test_loss_normal": val_loss,
        "test_loss_anomaly": val_loss * 30,
        "accuracy_train": 0.9,
        "accuracy_test": 0.92,
        "explained": 1 - train,
        "rank_corr_no_model": 0.5,
        "epochs_run": 40,
        "early_stopped": True,
        "config": {"epochs": 100, "patience": 10, "batch_size": 64, "learning_rate": 1e-3},
        "detection": {
            "auroc": auroc * jitter,
            "auprc": 0.7,
            "auroc_ci_low": 0.9,
            "auroc_ci_high": 0.97,
            "auprc_ci_low": 0.6,
            "auprc_ci_high": 0.8,
        },
        "natural": {"auroc": auroc, "auprc": 0.5},
        "vs_no_model": dict(DELTA),
        "vs_pca": {**DELTA, "components": 24},
        "best_epoch": 1,
        "history": {
            "val_loss": [9.0, val_loss * 3, val_loss],
            "train_objective": [9.0, val_loss + 0.5],
            "val_objective": [9.0, val_loss + 0.6],
        },
        "latent": {
            "probe_auroc": probe * jitter,
            "fisher_ratio": 1.0 * jitter,
            "mahalanobis": 2.0 * jitter,
            "silhouette": 0.1 * jitter,
            "dead_share": dead,
            "effective_dim": 3.0 * jitter,
        },
        **extra,
    }


def summarise(records):
    return point_summary(records), correlations(records, n_bootstrap=300)


def depth_records(loss_of_depth):
    return [
        record(d, s, val_loss=loss_of_depth(d), probe=0.8 + 0.04 * d)
        for d in (1, 2, 3, 4)
        for s in (0, 1, 2)
    ]


def test_a_single_step_is_reported_as_a_step_not_a_trend():
    records = depth_records(lambda d: 0.4 if d == 1 else 0.02)
    rows, corr = summarise(records)
    found = steps(rows, "val_loss")
    assert [s["clear"] for s in found] == [True, False, False]
    text = step_sentence(rows, "val_loss", "depth", "depths")
    assert text.startswith("Validation loss (MSE) falls from 0.4")
    assert "at depth 1 to" in text and "the other steps (depth 2→3, 3→4)" in text
    answer = answer_sweep_loss(rows, corr, stopping(records), **DEPTH_TEXT)
    assert answer["summary"].startswith("Validation loss (MSE) falls from")
    assert "no other clear step" in answer["summary"]
    assert "Spearman ρ" in answer["paragraphs"][1]  # the rank summary comes second
    assert "12 of 12 runs stopped by early stopping" in answer["paragraphs"][0]


def test_no_clear_step_when_the_seeds_disagree_more_than_the_settings():
    rng = np.random.default_rng(5)
    records = [
        record(d, s, val_loss=0.1 + 0.05 * rng.random()) for d in (1, 2, 3, 4) for s in (0, 1, 2)
    ]
    rows, corr = summarise(records)
    text = step_sentence(rows, "val_loss", "depth", "depths")
    assert text.startswith("No step between adjacent depths")
    loss = answer_sweep_loss(rows, corr, stopping(records), **DEPTH_TEXT)
    assert (
        "No clear relationship between encoder depth and validation loss" in loss["paragraphs"][1]
    )


def test_answer_quotes_the_measured_means():
    records = depth_records(lambda d: 0.5 / d)
    rows, corr = summarise(records)
    text = " ".join(answer_sweep_loss(rows, corr, stopping(records), **DEPTH_TEXT)["paragraphs"])
    assert f"{rows[0]['val_loss']['mean']:.4f} ± " in text
    assert f"{rows[-1]['val_loss']['mean']:.4f} ± " in text


def test_separation_answer_uses_the_probe_and_its_reference():
    rows, corr = summarise(depth_records(lambda d: 0.1))
    answer = answer_sweep_separation(rows, corr, **DEPTH_TEXT, reference="PCA probe 0.9.")
    assert answer["paragraphs"][0].endswith("PCA probe 0.9.")
    assert "Deeper encoders go with higher linear-probe AUROC" in answer["paragraphs"][1]


def test_relationship_for_a_constant_metric():
    corr = {"rho": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "n": 6}
    text = relationship("Deeper encoders", "encoder depth", "dead_share", corr, "2 × 3")
    assert "does not vary" in text


def q1_records(losses, label="batch 64, lr 0.001, ≤ 100 epochs, patience 15", sweep="q1"):
    out = []
    for seed, (tr, va) in enumerate(losses):
        r = record(0, seed, val_loss=va, train_loss=tr)
        r.update(train_loss=tr, val_loss=va, label=label, sweep=sweep, key=f"{label}-{seed}")
        out.append(r)
    return out


PROTOCOL_DATA = {"split": {"train_rows": 800, "val_rows": 200, "test_rows": 300}, "anomalies": 30}
REFERENCE = {
    "epochs": 100,
    "validation_split": 0.2,
    "train_accuracy": 0.9471,
    "test_accuracy": 0.9616,
}


def q1(protocol, runs):
    return answer_q1(protocol, runs, BASELINES, 0.01, REFERENCE, PROTOCOL_DATA, "lof")


def test_q1_recommends_only_a_setting_where_every_seed_meets_the_bar():
    first = q1_records([(0.02, 0.01), (0.009, 0.008)], label="A")
    second = q1_records([(0.008, 0.007), (0.009, 0.009)], label="B")
    answer = q1([], first + second)
    assert answer["recommended"] == "B" and answer["met"]
    assert answer["paragraphs"][0].startswith("Yes. Recommended: seed-best trained with B")
    assert "The first candidate, A, brought 1 of 2 there." in answer["paragraphs"][0]
    assert "the validation loss still moves between 0.0070 and 9.0000" in answer["paragraphs"][0]
    assert "The margin is thin: the worst seed's loss is 90% of the bar" in answer["paragraphs"][0]
    wide = q1([], q1_records([(0.005, 0.004), (0.006, 0.005)], label="C"))
    assert "margin is thin" not in wide["paragraphs"][0]
    missed = q1([], first)
    assert not missed["met"] and missed["summary"].startswith("Not on every seed: best 1 of 2")
    assert missed["chosen_key"] == "A-1"  # the replica closest to the bar is pictured


def test_q1_reports_the_protocol_losses_by_part_and_the_baselines():
    protocol = q1_records([(0.02, 0.05), (0.009, 0.009)], label="study protocol", sweep="p")
    answer = q1(protocol, q1_records([(0.008, 0.007), (0.009, 0.009)]))
    text = " ".join(answer["paragraphs"])
    assert "1 of 2 seeds reach loss ≤ 0.01" in text and "the last 200 of the 1,000" in text
    assert "test normal rows" in text and "test fraud rows" in text
    assert "the study reported 94.71% / 96.16%" in text
    assert "+0.050 [0.020, 0.080] AUPRC" in text and "LOF (novelty)" in text
    assert answer["summary"].endswith("the study's exact protocol: 1 of 2")
    assert answer["key"] == "AUPRC 0.700, +0.050 [0.020, 0.080] over no model"


def test_q4_verdict_per_row_and_ordering():
    study = {4: 0.2373, 8: 0.0981, 16: 0.0205, 32: 0.0088}
    records = [record(n, s, val_loss=1 / n) for n in (4, 8, 16, 32) for s in (0, 1)]
    rows, _ = summarise(records)
    table, text = answer_q4_table(rows, records, study)
    assert [t["latent"] for t in table] == [4, 8, 16, 32]
    assert "the ordering matches" in text and table[0]["verdict"].startswith("ours higher")
    records = [record(n, s, val_loss=n / 100) for n in (4, 8, 16, 32) for s in (0, 1)]
    rows, _ = summarise(records)
    assert "the ordering differs" in answer_q4_table(rows, records, study)[1]
    assert q4_verdict(0.5, [0.4, 0.6]).startswith("matches")
    assert q4_verdict(0.1, [0.3, 0.3]) == "ours higher (3.00× the study's)"


def l1_records(train_at_study_l1):
    out = []
    for v in (0.0, 0.01, 0.1):
        for s in (0, 1):
            train = train_at_study_l1 if v == 0.1 else 0.05
            out.append(record(v, s, val_loss=train, train_loss=train, dead=0.8 * (v > 0)))
    for r in out:
        r["explained"] = 1 - r["train_loss"]  # no model's train loss is 1 here
    return out


def q6(records, protocol=()):
    rows, corr = summarise(records)
    study = {"l1": 0.1, "train_loss": 0.2214, "val_loss": 0.4651}
    return answer_q6(
        rows,
        records,
        corr,
        BASELINES,
        study,
        protocol=protocol,
        stopping=stopping(records),
        sweep_setting="batch 512",
    )


def test_q6_says_plainly_when_the_network_has_collapsed():
    gone = q6(l1_records(1.0))
    assert all(collapsed(r) for r in l1_records(1.0) if r["value"] == 0.1)
    assert (
        gone["summary"] == "At L1 = 0.1 the network collapses to the no-model score (2 of 2 seeds)"
    )
    assert gone["paragraphs"][0].startswith("At the study's L1 = 0.1 the network has collapsed")
    assert "Collapsed: L1 = 0.1 (2 of 2 seeds)." in gone["paragraphs"][1]
    kept = q6(l1_records(0.3))
    summary = "At L1 = 0.1 the network does not collapse (AUPRC +0.050 over no model)"
    assert kept["summary"] == summary
    assert "No L1 setting collapsed." in kept["paragraphs"][1]


def test_q6_discrepancy_uses_the_protocol_runs():
    records = l1_records(1.0)
    protocol = [
        {**r, "epochs_run": 100, "history": {"train_objective": [0.3], "val_objective": [0.6]}}
        for r in l1_records(0.3)
        if r["value"] == 0.1
    ]
    text = q6(records, protocol)["paragraphs"][2]
    assert "0.2214 / validation 0.4651" in text
    assert "2 of 2 seeds collapsed; the same network trained exactly as the study" in text
    assert "0 of 2 seeds collapsed. Collapse here depends on the training setting" in text
    assert "only our sweep collapses" in text
    assert "2.00 ± 0.00× with the latest 20% of rows validating: validating on the latest" in text
    # The study's training loss among ours, its validation loss beyond them:
    records = l1_records(0.2)
    for r, objective in zip(records, (0.20, 0.25) * 3, strict=True):
        r["history"] = {"train_objective": [9, objective], "val_objective": [9, objective]}
    text = q6(records, [])["paragraphs"][2]
    assert "The study's training loss lies within the range of our runs" in text
    assert "its validation loss lies above all our runs" in text
    assert "the gap is in the validation rows, not in the network" in text
