"""Latent separation metrics against synthetic data whose answer is known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aescope.errors import DataValidationError
from aescope.study.separation import (
    dead_unit_share,
    dead_units,
    fisher_ratio,
    fisher_ratios,
    latent_separation,
    linear_probe_auroc,
    mahalanobis_distance,
    participation_ratio,
    silhouette,
    stratified_subsample,
)


def two_gaussians(delta, n=20000, scale1=1.0, seed=0):
    """Class 0 ~ N(0, I), class 1 ~ N(delta, scale1^2 I)."""
    rng = np.random.default_rng(seed)
    delta = np.asarray(delta, float)
    a = rng.normal(size=(n, delta.size))
    b = delta + scale1 * rng.normal(size=(n, delta.size))
    return np.vstack([a, b]), np.repeat([0, 1], n)


def normal_cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def test_fisher_ratio_of_two_gaussians_matches_closed_form():
    # Unit variances, mean shift 2 on unit 0: (2^2) / (1 + 1) = 2; other units 0.
    z, y = two_gaussians([2.0, 0.0, 0.0])
    ratios = fisher_ratios(z, y)
    assert ratios[0] == pytest.approx(2.0, rel=0.05)
    assert np.all(ratios[1:] < 0.01)
    assert fisher_ratio(z, y) == pytest.approx(2.0, rel=0.05)


def test_fisher_ratio_uses_both_class_variances():
    # Shift 2, variances 1 and 3: 4 / (1 + 3) = 1.
    z, y = two_gaussians([2.0], scale1=math.sqrt(3))
    assert fisher_ratio(z, y) == pytest.approx(1.0, rel=0.05)


def test_mahalanobis_distance_is_the_norm_of_the_shift_under_unit_covariance():
    z, y = two_gaussians([3.0, 4.0])  # |delta| = 5
    assert mahalanobis_distance(z, y) == pytest.approx(5.0, rel=0.03)


def test_linear_probe_auroc_matches_the_bayes_optimal_value():
    # Equal covariances: the best linear rule has AUROC = Phi(D / sqrt 2), D = Mahalanobis.
    z, y = two_gaussians([1.0, 1.0], n=4000)
    expected = normal_cdf(math.sqrt(2) / math.sqrt(2))
    assert linear_probe_auroc(z, y) == pytest.approx(expected, abs=0.015)


def test_identical_classes_give_chance_separation():
    z, y = two_gaussians([0.0, 0.0], n=3000)
    assert linear_probe_auroc(z, y) == pytest.approx(0.5, abs=0.04)
    assert mahalanobis_distance(z, y) < 0.1
    assert abs(silhouette(z, y)) < 0.05


def test_well_separated_clusters_have_silhouette_near_one():
    z, y = two_gaussians([50.0, 0.0], n=2000)
    assert silhouette(z, y) > 0.9


def test_dead_units_are_found_exactly():
    rng = np.random.default_rng(1)
    z = np.abs(rng.normal(size=(500, 8)))
    z[:, [1, 4, 6]] = 0.0
    z[:, 6] = 1e-9  # below tolerance: never active
    z[0, 7] = 0.0  # unit 7 is zero on one row only: alive
    assert dead_units(z).tolist() == [False, True, False, False, True, False, True, False]
    assert dead_unit_share(z) == pytest.approx(3 / 8)


def test_participation_ratio_counts_the_used_dimensions():
    rng = np.random.default_rng(2)
    z = np.zeros((5000, 10))
    z[:, :4] = rng.normal(size=(5000, 4))
    assert participation_ratio(z) == pytest.approx(4.0, rel=0.05)
    z[:, 0] *= 100  # one direction dominates
    assert participation_ratio(z) == pytest.approx(1.0, rel=0.01)
    assert participation_ratio(np.ones((50, 3))) == 0.0


def test_a_collapsed_latent_space_scores_as_no_separation():
    y = np.repeat([0, 1], 100)
    z = np.zeros((200, 4))
    out = latent_separation(z, y)
    assert out["probe_auroc"] == 0.5
    assert out["fisher_ratio"] == 0.0
    assert out["mahalanobis"] == 0.0
    assert out["silhouette"] == 0.0
    assert out["dead_share"] == 1.0
    assert out["effective_dim"] == 0.0


def test_stratified_subsample_is_fixed_and_keeps_the_rare_class():
    y = np.r_[np.zeros(10000, int), np.ones(50, int)]
    a = stratified_subsample(y, 1000, seed=3)
    assert a.size == 1000 and y[a].sum() == 50
    assert np.array_equal(a, stratified_subsample(y, 1000, seed=3))


def test_bad_input_is_refused_with_a_clear_message():
    z = np.zeros((4, 2))
    with pytest.raises(DataValidationError, match="both classes"):
        fisher_ratio(z, np.zeros(4, int))
    z[2, 1] = np.nan
    with pytest.raises(DataValidationError, match="row 2, unit 1"):
        dead_unit_share(z)
