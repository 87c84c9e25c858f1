"""The answers are written from the numbers: change the numbers and the text changes."""

from __future__ import annotations

import numpy as np

from aescope.study.answers import (
    answer_loss,
    answer_q1,
    answer_q4_table,
    answer_q6,
    answer_separation,
    relationship,
)
from aescope.study.summary import correlations, point_summary

DEPTH_TEXT = {
    "more_x": "Deeper encoders",
    "subject": "encoder depth",
    "name": "depth",
    "unit": "depths",
}


def record(value, seed, *, val_loss, auroc=0.95, probe=0.9, dead=0.0, train_loss=None):
    rng = np.random.default_rng(seed)
    jitter = 1 + 0.01 * rng.normal()
    return {
        "value": value,
        "label": f"setting {value}",
        "seed": seed,
        "key": f"k{value}-{seed}",
        "train_loss": (train_loss if train_loss is not None else val_loss) * jitter,
        "val_loss": val_loss * jitter,
        "test_loss": val_loss * 2,
        "detection": {
            "auroc": auroc * jitter,
            "auprc": 0.7,
            "auroc_ci_low": 0.9,
            "auroc_ci_high": 0.97,
        },
        "natural": {"auroc": auroc, "auprc": 0.5},
        "best_epoch": 1,
        "history": {
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
    }


def summarise(records):
    return point_summary(records), correlations(records, n_bootstrap=300)


def depth_records(loss_of_depth):
    return [
        record(d, s, val_loss=loss_of_depth(d), probe=0.8 + 0.04 * d)
        for d in (1, 2, 3, 4)
        for s in (0, 1, 2)
    ]


def test_loss_answer_follows_the_direction_of_the_numbers():
    rows, corr = summarise(depth_records(lambda d: 0.5 / d))
    down = answer_loss(rows, corr, **DEPTH_TEXT)
    assert down.startswith("Deeper encoders go with lower validation loss")
    assert "Spearman ρ = −" in down and "over 12 models (4 depths × 3 seeds)" in down

    rows, corr = summarise(depth_records(lambda d: 0.1 * d))
    up = answer_loss(rows, corr, **DEPTH_TEXT)
    assert up.startswith("Deeper encoders go with higher validation loss")
    assert "deterioration" in up and "improvement" in down


def test_loss_answer_says_no_clear_relationship_when_the_interval_includes_zero():
    rng = np.random.default_rng(5)
    records = [
        record(d, s, val_loss=0.1 + 0.05 * rng.random()) for d in (1, 2, 3, 4) for s in (0, 1, 2)
    ]
    rows, corr = summarise(records)
    text = answer_loss(rows, corr, **DEPTH_TEXT)
    assert text.startswith("No clear relationship between encoder depth and validation loss")


def test_answer_quotes_the_measured_means():
    rows, corr = summarise(depth_records(lambda d: 0.5 / d))
    text = answer_loss(rows, corr, **DEPTH_TEXT)
    assert f"{rows[0]['val_loss']['mean']:.4f} ± " in text
    assert f"{rows[-1]['val_loss']['mean']:.4f} ± " in text


def test_separation_answer_uses_the_probe_direction():
    rows, corr = summarise(depth_records(lambda d: 0.1))
    text = answer_separation(rows, corr, **DEPTH_TEXT)
    assert text.startswith("Deeper encoders go with higher linear-probe AUROC")
    assert "improvement" in text


def test_relationship_for_a_constant_metric():
    corr = {"rho": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "n": 6}
    text = relationship("Deeper encoders", "encoder depth", "dead_share", corr, "2 × 3")
    assert "does not vary" in text


def q1_records(losses):
    out = []
    for seed, (tr, va) in enumerate(losses):
        r = record(0, seed, val_loss=va, train_loss=tr)
        r.update(train_loss=tr, val_loss=va, label="batch 64, lr 0.001")
        r.update(epochs_run=50, best_epoch=40, arch={"name": "seed-best"})
        out.append(r)
    return out


def test_q1_reports_found_or_not_found_from_the_losses():
    found = answer_q1(q1_records([(0.02, 0.01), (0.009, 0.008)]), 0.01)
    assert found["met"] and found["text"].startswith("Found: 1 of 2")
    assert found["chosen_key"] == "k0-1"
    missed = answer_q1(q1_records([(0.02, 0.01), (0.012, 0.008)]), 0.01)
    assert not missed["met"] and missed["text"].startswith("Not found")
    assert missed["chosen_key"] == "k0-1"  # closest: max(train, val) smallest


def test_q4_compares_with_the_study_table_and_checks_the_ordering():
    study = {4: 0.2373, 8: 0.0981, 16: 0.0205, 32: 0.0088}
    rows, _ = summarise([record(n, s, val_loss=1 / n) for n in (4, 8, 16, 32) for s in (0, 1)])
    table, text = answer_q4_table(rows, study)
    assert [t["latent"] for t in table] == [4, 8, 16, 32]
    assert "ordering matches" in text and "latent 4: " in text
    rows, _ = summarise([record(n, s, val_loss=n / 100) for n in (4, 8, 16, 32) for s in (0, 1)])
    assert "ordering differs" in answer_q4_table(rows, study)[1]


def test_q6_verdict_depends_on_the_measured_auroc():
    study = {"l1": 0.1, "train_loss": 0.2214, "val_loss": 0.4651}

    def text(auroc_bad):
        records = [
            record(v, s, val_loss=0.02 + v, auroc=0.95 if v == 0 else auroc_bad, dead=0.8 * (v > 0))
            for v in (0.0, 0.01, 0.1)
            for s in (0, 1)
        ]
        rows, corr = summarise(records)
        return answer_q6(rows, corr, study)

    holds, collapses = text(0.95), text(0.5)
    assert "holds up" in holds and "consistent with the study" in holds
    assert "collapses to near chance" in collapses and "unlike the study" in collapses
    assert "0.2214 / 0.4651" in holds and "80% ± 0%" in holds
    assert "as Keras reports loss, train 0.6200 ± 0.0000 / validation 0.7200" in holds


def test_a_u_shaped_trend_is_called_out():
    rows, corr = summarise(depth_records(lambda d: {1: 0.4, 2: 0.02, 3: 0.03, 4: 0.05}[d]))
    text = answer_loss(rows, corr, **DEPTH_TEXT)
    assert "not monotone: the best validation loss (MSE) is at depth 2" in text
    rows, corr = summarise(depth_records(lambda d: 0.5 / d))
    assert "not monotone" not in answer_loss(rows, corr, **DEPTH_TEXT)
    # A wobble that leaves the best at the end of the range is not a U-shape.
    rows, corr = summarise(depth_records(lambda d: {1: 0.4, 2: 0.1, 3: 0.12, 4: 0.05}[d]))
    assert "not monotone" not in answer_loss(rows, corr, **DEPTH_TEXT)
