"""Brute-force k-th neighbour distance: agrees with scikit-learn, bounded memory, leave-one-out."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from aescope.errors import ConfigError, DataValidationError
from aescope.neighbors import kth_distance, mean_distance


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(300, 6)).astype(np.float32), rng.normal(size=(250, 6)).astype(
        np.float32
    )


@pytest.mark.parametrize("k", [1, 5])
def test_matches_scikit_learn_in_any_batch_size(data, k):
    reference, x = data
    expected = NearestNeighbors(n_neighbors=k).fit(reference).kneighbors(x)[0][:, -1]
    for batch_rows in (7, 4096):  # several partial batches, and one batch for everything
        got = kth_distance(reference, x, k, batch_rows=batch_rows)
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_rows_of_the_reference_skip_their_own_copy(data):
    reference, _ = data
    own = np.ones(len(reference), dtype=bool)
    loo = kth_distance(reference, reference, 5, self_rows=own)
    plain = kth_distance(reference, reference, 5)
    # With its own copy skipped, a reference row's 5th neighbour is the 6th match.
    expected = NearestNeighbors(n_neighbors=6).fit(reference).kneighbors(reference)[0][:, -1]
    np.testing.assert_allclose(loo, expected, rtol=1e-4, atol=1e-4)
    assert (loo >= plain - 1e-6).all() and (loo > plain).any()


def test_bad_arguments_are_refused(data):
    reference, x = data
    with pytest.raises(ConfigError, match="k must be"):
        kth_distance(reference, x, 0)
    with pytest.raises(DataValidationError, match="reference rows"):
        kth_distance(reference[:3], x, 5)
    with pytest.raises(DataValidationError, match="equal columns"):
        kth_distance(reference, x[:, :2], 1)


def test_mean_distance_averages_the_k_nearest(data):
    reference, x = data
    expected = NearestNeighbors(n_neighbors=5).fit(reference).kneighbors(x)[0].mean(axis=1)
    np.testing.assert_allclose(mean_distance(reference, x, 5, batch_rows=9), expected, atol=1e-4)
    own = np.ones(len(reference), dtype=bool)
    loo = NearestNeighbors(n_neighbors=6).fit(reference).kneighbors(reference)[0][:, 1:]
    got = mean_distance(reference, reference, 5, self_rows=own)
    np.testing.assert_allclose(got, loo.mean(axis=1), atol=1e-4)


def test_grouped_search_is_exact_with_padding_and_duplicates():
    """1,000 reference rows: 16 groups of 64 (the last one padded), far more than k, so
    the coarse group pass runs; duplicated rows make ties at the k-th distance."""
    rng = np.random.default_rng(1)
    reference = rng.normal(size=(1000, 4)).astype(np.float32)
    reference[500:520] = reference[0]  # 21 copies of one row
    x = np.vstack([reference[:3], rng.normal(size=(400, 4))]).astype(np.float32)
    expected = NearestNeighbors(n_neighbors=7).fit(reference).kneighbors(x)[0]
    np.testing.assert_allclose(kth_distance(reference, x, 7), expected[:, -1], atol=1e-3)
    np.testing.assert_allclose(mean_distance(reference, x, 7), expected.mean(1), atol=1e-3)
