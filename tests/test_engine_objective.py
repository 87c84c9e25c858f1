"""The objective against hand computations in NumPy: losses, Keras-style regularisers, dropout."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from aescope.engine import forward, init_params, kernel_penalty, objective, row_loss
from aescope.engine.forward import ACTIVATION_FNS
from aescope.errors import ConfigError
from aescope.model import Architecture, Layer

ARCH = Architecture.from_hidden(
    5,
    [
        Layer(6, "tanh", activity_l1=0.01, kernel_l2=0.003),
        Layer(2, "relu", activity_l2=0.02, activity_l1=0.005, latent=True),
        Layer(6, "sigmoid", kernel_l2=0.001),
    ],
    name="regularised",
)


def _numpy_forward(params, x):
    acts = [np.tanh, lambda h: np.maximum(h, 0), lambda h: 1 / (1 + np.exp(-h)), lambda h: h]
    outs, h = [], x
    for p, act in zip(params, acts, strict=True):
        h = act(h @ np.asarray(p["kernel"], np.float64) + np.asarray(p["bias"], np.float64))
        outs.append(h)
    return outs


@pytest.mark.parametrize("loss", ["mse", "mae"])
def test_objective_matches_numpy_on_a_padded_batch(loss):
    params = init_params(ARCH, 3)
    params[1]["bias"] = params[1]["bias"] + 0.3  # make the relu layer's activity non-zero
    rng = np.random.default_rng(0)
    x = rng.standard_normal((10, 5)).astype(np.float32)
    weights = np.array([1.0] * 7 + [0.0] * 3, np.float32)
    x[7:] = 1e3  # padding rows hold garbage that must not count
    total, plain = jax.jit(objective, static_argnums=(1, 4))(params, ARCH, x, weights, loss)

    real = x[:7].astype(np.float64)
    outs = _numpy_forward(params, real)
    diff = outs[-1] - real
    want_plain = np.mean(diff**2) if loss == "mse" else np.mean(np.abs(diff))
    # Keras: activity penalty of the batch divided by the batch size (7 real rows).
    activity = (0.01 * np.abs(outs[0]).sum() + 0.005 * np.abs(outs[1]).sum()) / 7
    activity += 0.02 * (outs[1] ** 2).sum() / 7
    assert np.abs(outs[1]).sum() > 0
    kernel = 0.003 * (np.asarray(params[0]["kernel"], np.float64) ** 2).sum()
    kernel += 0.001 * (np.asarray(params[2]["kernel"], np.float64) ** 2).sum()
    np.testing.assert_allclose(float(plain), want_plain, rtol=1e-5)
    np.testing.assert_allclose(float(total), want_plain + activity + kernel, rtol=1e-5)
    np.testing.assert_allclose(float(kernel_penalty(ARCH, params)), kernel, rtol=1e-5)


def test_row_loss_kinds():
    recon = np.array([[1.0, 2.0], [0.0, 0.0]], np.float32)
    x = np.array([[0.0, 0.0], [1.0, -3.0]], np.float32)
    np.testing.assert_allclose(row_loss(recon, x, "mse"), [2.5, 5.0])
    np.testing.assert_allclose(row_loss(recon, x, "mae"), [1.5, 2.0])
    with pytest.raises(ConfigError, match="unknown loss 'huber'"):
        row_loss(recon, x, "huber")


def test_keras_activation_meanings():
    x = np.array([-1.0, 0.5], np.float32)
    np.testing.assert_allclose(ACTIVATION_FNS["leaky_relu"](x), [-0.2, 0.5], rtol=1e-6)
    # exact (erf) gelu as Keras, not the tanh approximation: gelu(-1) = -0.158655...
    np.testing.assert_allclose(ACTIVATION_FNS["gelu"](x)[0], -0.15865525, rtol=1e-6)


def test_dropout_applies_only_with_a_key():
    arch = Architecture.from_hidden(
        5, [Layer(64, dropout=0.5), Layer(2, latent=True), Layer(64)], name="drop"
    )
    params = init_params(arch, 0)
    x = np.random.default_rng(1).standard_normal((32, 5)).astype(np.float32)
    run = jax.jit(forward, static_argnums=0)
    plain_a, plain_b = run(arch, params, x), run(arch, params, x)
    np.testing.assert_array_equal(plain_a[-1], plain_b[-1])
    dropped = run(arch, params, x, jax.random.key(0))
    # Layer 0's own output is reported before dropout; what follows it changes.
    np.testing.assert_array_equal(dropped[0], plain_a[0])
    assert not np.allclose(dropped[1], plain_a[1])
    # Without dropout layers a key changes nothing.
    params_nd = init_params(ARCH, 0)
    np.testing.assert_array_equal(
        run(ARCH, params_nd, x)[-1], run(ARCH, params_nd, x, jax.random.key(0))[-1]
    )


def test_glorot_uniform_and_zero_bias():
    arch = Architecture.from_hidden(29, [Layer(64, latent=True)])
    params = init_params(arch, 0)
    limit = np.sqrt(6 / (29 + 64))
    kernel = np.asarray(params[0]["kernel"])
    assert kernel.shape == (29, 64) and kernel.dtype == np.float32
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    assert abs(kernel.std() - limit / np.sqrt(3)) < 0.01
    assert not np.asarray(params[0]["bias"]).any()
    np.testing.assert_array_equal(kernel, np.asarray(init_params(arch, 0)[0]["kernel"]))
    assert not np.array_equal(kernel, np.asarray(init_params(arch, 1)[0]["kernel"]))
