"""The training objective: reconstruction loss plus Keras-style regularisers.

Everything takes per-row weights (1 for a real row, 0 for padding) so that the
last, partial batch of an epoch can be padded to a fixed shape and still be
averaged over its real rows only, exactly as Keras averages a short last batch.

Weighted sums over a batch are written as ``weights @ values`` (a matrix-vector
product) rather than ``sum(weights[:, None] * values)``: XLA's CPU backend
lowers large reductions to slow windowed loops, and in the per-batch training
step those reductions cost a third of the epoch; the product costs nothing.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from aescope.engine.forward import forward
from aescope.engine.params import Params
from aescope.errors import ConfigError
from aescope.model.spec import Architecture

LOSSES = ("mse", "mae")


def elementwise_loss(recon: jax.Array, x: jax.Array, kind: str) -> jax.Array:
    diff = recon - x
    if kind == "mse":
        return diff * diff
    if kind == "mae":
        return jnp.abs(diff)
    raise ConfigError(f"unknown loss {kind!r}; choose one of {', '.join(LOSSES)}")


def row_loss(recon: jax.Array, x: jax.Array, kind: str) -> jax.Array:
    """Per-row loss, the mean over features (Keras' ``mse``/``mae`` before batch reduction)."""
    return jnp.mean(elementwise_loss(recon, x, kind), axis=-1)


def weighted_sum(values: jax.Array, weights: jax.Array, rows_last: bool = False) -> jax.Array:
    """``sum`` of ``values`` with each row scaled by its weight, without a large reduction.

    Rows are the first axis, or the last with ``rows_last`` (the feature-major
    form of :mod:`aescope.engine.feature_major`).
    """
    return jnp.sum(values @ weights if rows_last else weights @ values)


def weighted_loss_sum(
    recon: jax.Array, x: jax.Array, weights: jax.Array, kind: str, rows_last: bool = False
) -> jax.Array:
    """``sum(weights * row_loss)``; ``row_loss`` is the mean over features."""
    n_features = x.shape[0] if rows_last else x.shape[-1]
    return weighted_sum(elementwise_loss(recon, x, kind), weights, rows_last) / n_features


def activity_penalty(
    arch: Architecture,
    outputs: list[jax.Array],
    weights: jax.Array,
    count: jax.Array,
    rows_last: bool = False,
) -> jax.Array:
    """Sum over layers of ``l1*sum|a| + l2*sum(a**2)`` over the batch, divided by its size.

    The division by the batch size is what tf.keras does
    (``tensorflow/python/keras/engine/base_layer.py``: ``mean_activity_loss =
    activity_loss / batch_size``, "Make activity regularization strength
    batch-agnostic"), and what Keras 3 documents and does again since
    keras-team/keras PR #22021 (issue #22018, 2026), after some Keras 3 releases
    had silently dropped it. The study ran tf.keras, so its penalties are per row.
    """
    total = jnp.zeros((), jnp.float32)
    for layer, a in zip(arch.layers, outputs, strict=True):
        if layer.activity_l1:
            total = total + layer.activity_l1 * weighted_sum(jnp.abs(a), weights, rows_last)
        if layer.activity_l2:
            total = total + layer.activity_l2 * weighted_sum(a * a, weights, rows_last)
    return total / count


def kernel_penalty(arch: Architecture, params: Params) -> jax.Array:
    """Keras ``L2(l2)`` kernel regulariser: ``l2 * sum(w**2)``, not normalised by batch."""
    total = jnp.zeros((), jnp.float32)
    for layer, p in zip(arch.layers, params, strict=True):
        if layer.kernel_l2:
            total = total + layer.kernel_l2 * jnp.sum(p["kernel"] * p["kernel"])
    return total


def objective(
    params: Params,
    arch: Architecture,
    x: jax.Array,
    weights: jax.Array,
    loss: str,
    dropout_key: jax.Array | None = None,
    target: jax.Array | None = None,
) -> tuple[jax.Array, jax.Array]:
    """(regularised objective, plain reconstruction loss) of one weighted batch.

    ``target`` is what the network should output (default ``x``; the clean rows
    when ``x`` is a noisy copy, for a denoising autoencoder)."""
    outputs = forward(arch, params, x, dropout_key)
    count = jnp.sum(weights)
    plain = weighted_loss_sum(outputs[-1], x if target is None else target, weights, loss) / count
    total = plain + activity_penalty(arch, outputs, weights, count) + kernel_penalty(arch, params)
    return total, plain


def has_dropout(arch: Architecture) -> bool:
    return any(layer.dropout > 0 for layer in arch.layers)
