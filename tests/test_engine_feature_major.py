"""The feature-major objective (used for groups of replicas) is the row-major one, transposed."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from aescope.engine import init_params, objective
from aescope.engine.feature_major import objective_t, transposed_kernels
from aescope.model import Architecture, Layer


@pytest.mark.parametrize("loss", ["mse", "mae"])
@pytest.mark.parametrize("dropout", [False, True])
def test_value_and_gradients_match_the_row_major_objective(loss, dropout):
    arch = Architecture.from_hidden(
        5,
        [
            Layer(7, activation="tanh", activity_l1=1e-2, dropout=0.3 if dropout else 0.0),
            Layer(3, latent=True, activity_l2=1e-2, kernel_l2=1e-3),
            Layer(7, activation="elu"),
        ],
    )
    params = init_params(arch, 3)
    x = jnp.asarray(np.random.default_rng(0).standard_normal((16, 5)), jnp.float32)
    weights = jnp.asarray([1.0] * 13 + [0.0] * 3)  # a padded last batch
    key = jax.random.key(7) if dropout else None

    (obj, plain), grads = jax.value_and_grad(objective, has_aux=True)(
        params, arch, x, weights, loss, key
    )
    (obj_t, plain_t), grads_t = jax.value_and_grad(objective_t, has_aux=True)(
        params, transposed_kernels(params), arch, x.T, weights, loss, key
    )
    np.testing.assert_allclose(obj_t, obj, rtol=1e-6)
    np.testing.assert_allclose(plain_t, plain, rtol=1e-6)
    for g, g_t in zip(grads, grads_t, strict=True):
        np.testing.assert_allclose(g_t["kernel"], g["kernel"], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(g_t["bias"], g["bias"], rtol=1e-5, atol=1e-7)
