"""Chunked inference: reconstruct / encode / forward_all agree with one plain forward pass."""

from __future__ import annotations

import jax
import numpy as np
import pandas as pd
import pytest

from aescope.engine import (
    encode,
    forward,
    forward_all,
    init_params,
    reconstruct,
    reconstruction_errors,
)
from aescope.engine.forward import _chunk_size, _tail_size
from aescope.errors import ArchitectureError, ConfigError, DataValidationError
from aescope.model import get_preset

ARCH = get_preset("seed-best", n_features=5)
PARAMS = init_params(ARCH, 0)
X = np.random.default_rng(0).standard_normal((23, 5)).astype(np.float32)


@pytest.fixture(scope="module")
def reference():
    return [np.asarray(a) for a in jax.jit(forward, static_argnums=0)(ARCH, PARAMS, X)]


@pytest.mark.parametrize("batch_size", [7, 23, 65536])
def test_chunks_and_padding_do_not_change_results(reference, batch_size):
    np.testing.assert_allclose(reconstruct(ARCH, PARAMS, X, batch_size), reference[-1], atol=1e-6)
    np.testing.assert_allclose(
        encode(ARCH, PARAMS, X, batch_size), reference[ARCH.latent_index], atol=1e-6
    )
    layers = forward_all(ARCH, PARAMS, X, batch_size)
    assert [a.shape for a in layers] == [(23, layer.units) for layer in ARCH.layers]
    for got, want in zip(layers, reference, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_inputs_numpy_or_frames_float64_or_empty(reference):
    frame = pd.DataFrame(X.astype(np.float64), columns=list("abcde"))
    out = reconstruct(ARCH, PARAMS, frame)
    assert out.dtype == np.float32 and out.shape == (23, 5)
    np.testing.assert_allclose(out, reference[-1], atol=1e-6)
    assert reconstruct(ARCH, PARAMS, X[:0]).shape == (0, 5)
    assert encode(ARCH, PARAMS, X[:0]).shape == (0, 24)


def test_chunk_sizes_are_bounded_powers_of_two():
    assert _chunk_size(100, 65536) == 256  # never below MIN_CHUNK_ROWS
    assert _chunk_size(300, 65536) == 512
    assert _chunk_size(65536, 65536) == 65536
    assert _chunk_size(10**6, 65536) == 65536
    assert _chunk_size(1, 64) == 64


def test_the_last_block_is_padded_to_a_sixteenth_of_a_chunk():
    assert _tail_size(100_000 - 65536, 65536) == 36864  # not a whole 65,536
    assert _tail_size(1, 65536) == 4096
    assert _tail_size(65536, 65536) == 65536
    assert _tail_size(5, 512) == 256  # never below MIN_CHUNK_ROWS


def test_rows_score_the_same_whatever_block_they_fall_in():
    x = np.random.default_rng(1).standard_normal((5000, 5)).astype(np.float32)
    whole = reconstruct(ARCH, PARAMS, x)
    for batch_size in (4096, 3000, 1024):  # tails of 904, 2000 and 904 rows, padded
        np.testing.assert_array_equal(reconstruct(ARCH, PARAMS, x, batch_size), whole)


@pytest.mark.parametrize("loss", ["mse", "mae"])
def test_errors_are_computed_with_the_reconstruction(loss):
    x = np.random.default_rng(2).standard_normal((300, 5)).astype(np.float32)
    x[7, 2] = 3e38  # squared, its error overflows float32: +inf, never NaN
    diff = reconstruct(ARCH, PARAMS, x) - x
    with np.errstate(over="ignore"):
        want = np.abs(diff) if loss == "mae" else diff * diff
    got = reconstruction_errors(ARCH, PARAMS, x, loss)
    assert got.dtype == np.float32 and np.isposinf(got[7, 2]) == (loss == "mse")
    np.testing.assert_allclose(got, want, rtol=1e-6)
    with pytest.raises(ConfigError, match="loss must be"):
        reconstruction_errors(ARCH, PARAMS, x, "huber")


def test_wrong_shapes_are_named():
    with pytest.raises(DataValidationError, match=r"x must have shape \(rows, 5\)"):
        reconstruct(ARCH, PARAMS, X[:, :4])
    stacked = [{k: v[None] for k, v in layer.items()} for layer in PARAMS]
    with pytest.raises(ArchitectureError, match="leading replica axis"):
        reconstruct(ARCH, stacked, X)
    with pytest.raises(ArchitectureError, match="params have 2 layers"):
        encode(ARCH, PARAMS[:2], X)
