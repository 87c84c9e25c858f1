"""Threshold policies on data with known answers, plus parsing and dict round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from aescope.errors import AescopeError, DataValidationError
from aescope.thresholds import (
    DEFAULT_REVIEW_COST,
    Contamination,
    Fixed,
    MaxF1,
    MinCost,
    Quantile,
    TargetFPR,
    ThresholdPolicyError,
    parse_policy,
    policy_from_dict,
)

ONE_TO_100 = np.arange(1, 101, dtype=float)


def test_contamination_matches_pyod_definition():
    t = Contamination(0.05).fit(ONE_TO_100)
    # numpy linear quantile at 0.95 of 1..100: position 94.05 -> 95.05
    assert t == pytest.approx(95.05)
    assert t == pytest.approx(np.percentile(ONE_TO_100, 95))
    assert (t <= ONE_TO_100).sum() == 5
    assert Contamination.fit_on == "train" and not Contamination.requires_labels


def test_quantile():
    assert Quantile(0.5).fit(ONE_TO_100) == pytest.approx(50.5)
    assert Quantile(1.0).fit(ONE_TO_100) == 100.0
    assert Quantile.fit_on == "validation"


def test_target_fpr_exact_without_ties():
    # 1000 normals, fpr 0.001 -> at most 1 flagged: only 1000 itself.
    normals = np.arange(1, 1001, dtype=float)
    t = TargetFPR(0.001).fit(normals)
    assert (normals >= t).sum() == 1
    assert 999.0 < t <= 1000.0
    assert t == np.nextafter(999.0, np.inf)  # smallest float64 that leaves 999 unflagged


def test_target_fpr_exact_with_ties():
    normals = np.array([1, 2, 3, 3, 3, 4], dtype=float)
    # fpr 0.5 -> m = 3 may be flagged; flagging the 3s would flag 4 rows, so only 4.
    t = TargetFPR(0.5).fit(normals)
    assert (normals >= t).sum() == 1
    assert t == np.nextafter(3.0, np.inf)
    # fpr 4/6 permits exactly the four rows >= 3
    t = TargetFPR(4 / 6 + 1e-9).fit(normals)
    assert (normals >= t).sum() == 4
    assert t == np.nextafter(2.0, np.inf)
    # all tied: nothing can be flagged
    t = TargetFPR(0.4).fit(np.ones(10))
    assert (np.ones(10) >= t).sum() == 0


def test_target_fpr_uses_decimal_reading_of_fpr():
    # 0.29 * 100 is 28.999999999999996 in floating point; we must allow 29.
    normals = np.arange(100, dtype=float)
    assert (normals >= TargetFPR(0.29).fit(normals)).sum() == 29


@pytest.mark.parametrize("fpr", [0.001, 0.01, 0.05, 0.2])
def test_target_fpr_never_exceeds_budget_on_random_ties(fpr):
    rng = np.random.default_rng(0)
    normals = rng.integers(0, 50, size=3000).astype(float)  # heavy ties
    t = TargetFPR(fpr).fit(normals)
    assert (normals >= t).mean() <= fpr
    # and it is the smallest: the largest unflagged value would break the budget
    v = normals[normals < t].max()
    assert (normals >= v).mean() > fpr


def test_fixed_ignores_data():
    assert Fixed(3.2).fit() == 3.2
    assert Fixed(3.2).fit(ONE_TO_100) == 3.2


def test_max_f1_on_separable_data_separates():
    rng = np.random.default_rng(1)
    normal = rng.uniform(0, 1, 200)
    anomalous = rng.uniform(2, 3, 20)
    s = np.r_[normal, anomalous]
    y = np.r_[np.zeros(200), np.ones(20)].astype(int)
    t = MaxF1().fit(labelled_scores=s, labels=y)
    assert t == anomalous.min()
    assert ((s >= t) == (y == 1)).all()
    assert MaxF1.requires_labels and MaxF1.fit_on == "labelled"


def test_max_f1_hand_case():
    s = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    y = np.array([0, 1, 0, 1, 1])
    # t=0.4: P=1, R=2/3, F1=0.8; t=0.2: P=3/4, R=1, F1=6/7 ~ 0.857 (best)
    assert MaxF1().fit(labelled_scores=s, labels=y) == 0.2


def test_min_cost_obvious_optimum():
    s = np.array([0.1, 0.2, 0.3, 0.8, 0.9])
    y = np.array([0, 0, 0, 1, 1])
    amount = np.array([10.0, 10.0, 10.0, 100.0, 100.0])
    # Flag >= 0.8: 2 reviews (10), nothing missed -> cost 10; lower thresholds add
    # reviews, higher ones miss 100 of fraud.
    assert MinCost(review_cost=5).fit(labelled_scores=s, labels=y, amount=amount) == 0.8


def test_min_cost_prefers_flagging_nothing_when_reviews_are_dear():
    s = np.array([0.1, 0.2, 0.9])
    y = np.array([0, 0, 1])
    amount = np.array([1.0, 1.0, 3.0])  # missing the fraud costs 3, one review costs 5
    t = MinCost(review_cost=5).fit(labelled_scores=s, labels=y, amount=amount)
    assert (s >= t).sum() == 0
    assert t == np.nextafter(0.9, np.inf)


def test_min_cost_matches_brute_force():
    rng = np.random.default_rng(3)
    s = np.round(rng.normal(size=300), 1)
    y = (rng.random(300) < 0.15).astype(int)
    s = s + y
    amount = rng.exponential(40, 300)
    policy = MinCost(review_cost=7.5, missed_fee=3.0)
    t = policy.fit(labelled_scores=s, labels=y, amount=amount)

    def cost(th):
        missed = (y == 1) & (s < th)
        return (amount[missed] + 3.0).sum() + 7.5 * (s >= th).sum()

    candidates = np.append(np.unique(s), np.inf)
    assert cost(t) == pytest.approx(min(cost(c) for c in candidates))


def test_labelled_policies_need_labels_and_both_classes():
    s = np.array([0.1, 0.5, 0.9])
    with pytest.raises(DataValidationError, match="f1 policy needs a labelled validation set"):
        MaxF1().fit(s)
    with pytest.raises(DataValidationError, match="cost policy needs a labelled"):
        MinCost().fit(s)
    with pytest.raises(DataValidationError, match=r"needs both classes.*only normals"):
        MaxF1().fit(labelled_scores=s, labels=[0, 0, 0])
    with pytest.raises(DataValidationError, match="only anomalies"):
        MinCost().fit(labelled_scores=s, labels=[1, 1, 1], amount=[1, 1, 1])
    with pytest.raises(DataValidationError, match="needs amount="):
        MinCost().fit(labelled_scores=s, labels=[0, 1, 1])
    with pytest.raises(DataValidationError, match="labels must be 0/1; row 2 is 7"):
        MaxF1().fit(labelled_scores=s, labels=[0, 1, 7])


def test_unlabelled_policies_check_scores():
    with pytest.raises(DataValidationError, match=r"normal_scores .*required"):
        Quantile(0.9).fit()
    with pytest.raises(DataValidationError, match="row 1 is nan"):
        TargetFPR(0.1).fit([0.1, np.nan])
    with pytest.raises(DataValidationError, match="empty"):
        Contamination(0.1).fit(np.array([]))


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda: Contamination(0.0), r"share must be in \(0, 1\), got 0.0"),
        (lambda: Contamination(1.5), r"share must be in \(0, 1\), got 1.5"),
        (lambda: Quantile(0.0), r"q must be in \(0, 1\], got 0.0"),
        (lambda: TargetFPR(-0.1), r"fpr must be in \(0, 1\), got -0.1"),
        (lambda: TargetFPR(float("nan")), "fpr must be in"),
        (lambda: Fixed(float("inf")), "value must be finite"),
        (lambda: Contamination("abc"), "share must be a number, got 'abc'"),
        (lambda: MinCost(review_cost=-1), "review_cost must be finite and >= 0, got -1"),
    ],
)
def test_invalid_parameters_raise_at_construction(make, pattern):
    with pytest.raises(ThresholdPolicyError, match=pattern):
        make()


ALL_POLICIES = [
    Contamination(0.01),
    Quantile(0.995),
    TargetFPR(0.001),
    Fixed(3.2),
    MaxF1(),
    MinCost(),
    MinCost(review_cost=2.5, missed_fee=25.0),
]


@pytest.mark.parametrize("policy", ALL_POLICIES, ids=str)
def test_round_trips(policy):
    d = policy.to_dict()
    assert policy_from_dict(json.loads(json.dumps(d))) == policy
    assert parse_policy(policy.spec()) == policy
    assert parse_policy(str(policy)) == policy


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("contamination:0.01", Contamination(0.01)),
        ("quantile:0.995", Quantile(0.995)),
        ("fpr:0.001", TargetFPR(0.001)),
        (" FPR : 0.001 ", TargetFPR(0.001)),
        ("fixed:3.2", Fixed(3.2)),
        ("f1", MaxF1()),
        ("maxf1", MaxF1()),
        ("cost", MinCost(review_cost=DEFAULT_REVIEW_COST)),
        ("cost:review=5", MinCost(review_cost=5.0)),
        ("cost:12", MinCost(review_cost=12.0)),
        ("cost:review=1,missed_fee=20", MinCost(review_cost=1.0, missed_fee=20.0)),
    ],
)
def test_parse_policy(text, expected):
    assert parse_policy(text) == expected


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("median:3", "unknown threshold policy 'median:3'"),
        ("fpr", "policy 'fpr' needs a value, e.g. fpr:0.001"),
        ("fpr:abc", "fpr must be a number in 'fpr:abc', got 'abc'"),
        ("f1:3", "takes no value"),
        ("cost:speed=3", "unknown cost parameter 'speed'"),
        ("contamination:2", r"share must be in \(0, 1\)"),
    ],
)
def test_parse_errors(text, pattern):
    with pytest.raises(ThresholdPolicyError, match=pattern):
        parse_policy(text)


def test_policy_from_dict_errors():
    with pytest.raises(ThresholdPolicyError, match="needs a 'kind' key"):
        policy_from_dict({"share": 0.1})
    with pytest.raises(ThresholdPolicyError, match="unknown threshold policy kind 'magic'"):
        policy_from_dict({"kind": "magic"})
    with pytest.raises(ThresholdPolicyError, match=r"unknown parameter\(s\) \['q'\]"):
        policy_from_dict({"kind": "contamination", "q": 0.5})
    assert issubclass(ThresholdPolicyError, AescopeError)


def test_policies_are_frozen():
    policy = TargetFPR(0.01)
    with pytest.raises(AttributeError):
        policy.fpr = 0.5  # type: ignore[misc]
